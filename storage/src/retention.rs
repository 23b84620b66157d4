//! Retention: whole partitions whose UTC day ended more than the TTL ago are dropped.
//!
//! Like compaction, a manifest replacement is the commit point: the segments leave the manifest
//! first and their files are deleted after, so a crash in between leaves orphans that the next
//! writer open removes. Rows still in the memtable are dropped by a later pass, once flushed.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::error::Result;
use crate::schema::{MICROS_PER_DAY, day_of};
use crate::store::{Shared, Version};

/// The first UTC day kept at wall-clock time `now` with a TTL of `ttl`.
pub fn first_kept_day(now: SystemTime, ttl: Duration) -> i32 {
    let now_micros = i64::try_from(
        now.duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_micros(),
    )
    .unwrap_or(i64::MAX);
    let ttl_micros = i64::try_from(ttl.as_micros()).unwrap_or(i64::MAX);
    // A day is dropped once all of it is older than the TTL: its end <= now - ttl.
    day_of(
        now_micros
            .saturating_sub(ttl_micros)
            .saturating_sub(MICROS_PER_DAY),
    ) + 1
}

/// Drops every segment of a partition before `first_kept_day`; returns how many.
pub(crate) fn drop_before(shared: &Shared, first_kept_day: i32) -> Result<usize> {
    let mut manifest = shared.manifest.lock();
    let doomed: Vec<_> = manifest
        .segments
        .iter()
        .filter(|e| e.partition.day < first_kept_day)
        .map(|e| e.id)
        .collect();
    if doomed.is_empty() {
        return Ok(0);
    }
    let mut next = manifest.clone();
    next.segments.retain(|e| !doomed.contains(&e.id));
    next.store(&shared.dir, shared.options.crash_hook.as_ref())?;
    *manifest = next;
    let removed: Vec<_> = {
        let mut version = shared.version.write();
        let mut v = Version::clone(&version);
        let gone: Vec<_> = v
            .segments
            .range(
                ..crate::PartitionKey {
                    day: first_kept_day,
                    bucket: 0,
                },
            )
            .flat_map(|(_, s)| s.clone())
            .collect();
        v.segments.retain(|k, _| k.day >= first_kept_day);
        *version = Arc::new(v);
        gone
    };
    drop(manifest);
    for s in &removed {
        if let Err(e) = std::fs::remove_file(s.path()) {
            tracing::warn!(file = %s.path().display(), error = %e, "could not remove an expired segment");
        }
    }
    tracing::info!(segments = removed.len(), first_kept_day = %crate::schema::format_day(first_kept_day), "retention dropped expired partitions");
    Ok(removed.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_is_kept_until_all_of_it_is_older_than_the_ttl() {
        let day = 20_414i64;
        let at = |micros: i64| UNIX_EPOCH + Duration::from_micros(u64::try_from(micros).unwrap());
        let ttl = Duration::from_secs(86_400);
        // Just before the end of day+1, day ended less than a day ago... exactly at its end + ttl
        // it goes.
        let end_of_day = (day + 1) * MICROS_PER_DAY;
        assert_eq!(
            i64::from(first_kept_day(at(end_of_day + MICROS_PER_DAY - 1), ttl)),
            day
        );
        assert_eq!(
            i64::from(first_kept_day(at(end_of_day + MICROS_PER_DAY), ttl)),
            day + 1
        );
    }
}
