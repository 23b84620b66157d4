//! Partitions: a UTC day × a campaign bucket (hash of campaign_id modulo the store's bucket count).
//!
//! A query for one campaign and one day opens one partition. The bucket count is chosen when a
//! store is created and recorded in the manifest (`docs/FORMAT.md`, "Manifest"): changing it would
//! move every campaign, so it is fixed for the store's life.

use std::fmt;

use crate::schema::{TimestampMicros, day_of, format_day};

/// Default number of campaign buckets for a new store.
pub const DEFAULT_BUCKET_COUNT: u16 = 16;

/// Identifies one partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PartitionKey {
    /// UTC day, in days since 1970-01-01.
    pub day: i32,
    /// Campaign bucket, `0..bucket_count`.
    pub bucket: u16,
}

impl PartitionKey {
    /// The partition of an event.
    pub fn of(ts: TimestampMicros, campaign_id: &str, bucket_count: u16) -> PartitionKey {
        PartitionKey {
            day: day_of(ts),
            bucket: campaign_bucket(campaign_id, bucket_count),
        }
    }
}

impl fmt::Display for PartitionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/b{:03}", format_day(self.day), self.bucket)
    }
}

/// The bucket of a campaign: xxh3-64 of its bytes modulo `bucket_count` (stable across versions:
/// it is part of the on-disk layout).
pub fn campaign_bucket(campaign_id: &str, bucket_count: u16) -> u16 {
    let h = xxhash_rust::xxh3::xxh3_64(campaign_id.as_bytes());
    #[expect(
        clippy::cast_possible_truncation,
        reason = "a value modulo a u16 fits a u16"
    )]
    let bucket = (h % u64::from(bucket_count.max(1))) as u16;
    bucket
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_stable_and_in_range() {
        for c in ["cmp-1", "cmp-17", "", "é"] {
            let b = campaign_bucket(c, 16);
            assert!(b < 16);
            assert_eq!(b, campaign_bucket(c, 16));
        }
        assert_eq!(campaign_bucket("anything", 1), 0);
        let k = PartitionKey::of(1_763_769_600_123_000, "cmp-17", 16);
        assert_eq!(k.to_string(), format!("2025-11-22/b{:03}", k.bucket));
    }
}
