//! Producer high-water marks: exactly-once appends for retrying clients.
//!
//! A client (an ingestion agent) names itself with a producer id and numbers its requests with
//! an increasing sequence. [`crate::Store::append_with_producer`] writes the (producer, sequence)
//! pair in the same WAL record as the batch (`docs/FORMAT.md`, "Producer marks"), so the mark is
//! durable exactly when the rows are; replay restores it, and each flush copies the marks of the
//! records it retires into the manifest. A request whose sequence is not above its producer's
//! mark was applied before: it is acknowledged and changes nothing, across restarts too.

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::wal::Lsn;

/// Longest producer id accepted, in bytes.
pub const MAX_PRODUCER_ID_BYTES: usize = 256;

/// The highest sequence applied per producer, as the manifest stores it.
pub type ProducerMarks = BTreeMap<String, u64>;

/// A producer's mark in memory: its highest sequence and the WAL record that carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LiveMark {
    pub(crate) sequence: u64,
    pub(crate) lsn: Lsn,
}

/// What [`crate::Store::append_with_producer`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProducerAppend {
    /// The batch was new: appended (rows durable) with this outcome.
    Applied(crate::AppendOutcome),
    /// The sequence was applied before (its record is durable); nothing was appended.
    AlreadyApplied {
        /// The producer's highest applied sequence.
        high_water: u64,
    },
}

/// Checks a producer id: non-empty, at most [`MAX_PRODUCER_ID_BYTES`].
pub fn check_producer_id(producer: &str) -> Result<()> {
    if producer.is_empty() || producer.len() > MAX_PRODUCER_ID_BYTES {
        return Err(Error::InvalidArgument(format!(
            "producer id must be 1 to {MAX_PRODUCER_ID_BYTES} bytes, got {}",
            producer.len()
        )));
    }
    Ok(())
}

/// Appends the producer prefix of a `ProducerBatch` WAL payload:
/// `| ProducerLen(u16) | Producer (UTF-8) | Sequence(u64) |`.
pub(crate) fn encode_prefix(producer: &str, sequence: u64, out: &mut Vec<u8>) {
    let len = u16::try_from(producer.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&producer.as_bytes()[..usize::from(len)]);
    out.extend_from_slice(&sequence.to_le_bytes());
}

/// Splits a `ProducerBatch` payload into (producer, sequence, batch payload).
pub(crate) fn decode_prefix(payload: &[u8]) -> std::result::Result<(String, u64, &[u8]), String> {
    let len_bytes = payload
        .get(..2)
        .ok_or("producer prefix truncated (length)")?;
    let len = usize::from(u16::from_le_bytes([len_bytes[0], len_bytes[1]]));
    let id = payload
        .get(2..2 + len)
        .ok_or("producer prefix truncated (id)")?;
    let id = std::str::from_utf8(id).map_err(|e| format!("producer id is not UTF-8: {e}"))?;
    if id.is_empty() || id.len() > MAX_PRODUCER_ID_BYTES {
        return Err(format!("producer id of {} bytes", id.len()));
    }
    let seq = payload
        .get(2 + len..2 + len + 8)
        .ok_or("producer prefix truncated (sequence)")?;
    let mut b = [0u8; 8];
    b.copy_from_slice(seq);
    Ok((
        id.to_string(),
        u64::from_le_bytes(b),
        &payload[2 + len + 8..],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_round_trips_and_cuts_are_refused() {
        let mut buf = Vec::new();
        encode_prefix("agent-7", 42, &mut buf);
        buf.extend_from_slice(b"rest");
        let (id, seq, rest) = decode_prefix(&buf).unwrap();
        assert_eq!((id.as_str(), seq, rest), ("agent-7", 42, &b"rest"[..]));
        for cut in 0..buf.len() - 4 {
            assert!(decode_prefix(&buf[..cut]).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn producer_ids_are_checked() {
        assert!(check_producer_id("a").is_ok());
        assert!(check_producer_id("").is_err());
        assert!(check_producer_id(&"x".repeat(MAX_PRODUCER_ID_BYTES + 1)).is_err());
    }
}
