//! The manifest: the list of live segments and the LSN from which the WAL must be replayed.
//!
//! Implements `docs/FORMAT.md`, "Manifest". It is replaced atomically (write `MANIFEST.tmp`, fsync,
//! rename over `MANIFEST`, fsync the directory), so after any crash the directory holds either the
//! old or the new manifest, each complete and checked by CRC. Startup is: manifest, then WAL replay
//! from `wal_replay_from`.
//!
//! ```text
//! | Magic "ADMF" | FormatVersion(u16) | Reserved(u16) | BodyLen(u32) | BodyCrc(u32) | Body |
//! Body:  | BucketCount(u16) | Reserved(u16) | NextSegmentId(u64) | WalReplayFrom(u64) | SegmentCount(u32) | Entry* |
//! Entry: | SegmentId(u64) | Day(i32) | Bucket(u16) | Reserved(u16) | Rows(u64) | MinTs(i64) | MaxTs(i64) | Bytes(u64) |
//! Version 2 adds, after the entries:
//! | ProducerCount(u32) | Producer* |   Producer: | IdLen(u16) | Id (UTF-8) | Sequence(u64) |
//! ```
//!
//! The producer marks are those of every WAL record before `WalReplayFrom` (see
//! [`crate::producer`]); version 1 manifests have none. This build writes version 2.

use std::path::Path;

use crate::error::{Error, IoContext, Result};
use crate::partition::PartitionKey;
use crate::segment::SegmentId;
use crate::wal::Lsn;

/// File name of the manifest in the data directory.
pub const MANIFEST_FILE: &str = "MANIFEST";
/// Magic bytes opening the manifest.
pub const MANIFEST_MAGIC: [u8; 4] = *b"ADMF";
/// The manifest format version this build writes.
pub const MANIFEST_FORMAT_VERSION: u16 = 2;
/// The oldest manifest format version this build reads (version 1: no producer marks).
pub const MANIFEST_OLDEST_VERSION: u16 = 1;

const HEADER_LEN: usize = 16;
const ENTRY_LEN: usize = 8 + 4 + 2 + 2 + 8 + 8 + 8 + 8;

/// One live segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentEntry {
    /// Its id (and file name).
    pub id: SegmentId,
    /// The partition it belongs to.
    pub partition: PartitionKey,
    /// Rows it holds.
    pub rows: u64,
    /// Smallest event time.
    pub min_ts: i64,
    /// Largest event time.
    pub max_ts: i64,
    /// File size.
    pub bytes: u64,
}

impl SegmentEntry {
    /// The entry of segment `id` of `partition`, as [`crate::segment::write_segment`] wrote it.
    pub fn written(
        id: SegmentId,
        partition: PartitionKey,
        written: &crate::segment::WrittenSegment,
    ) -> SegmentEntry {
        SegmentEntry {
            id,
            partition,
            rows: written.rows,
            min_ts: written.min_ts,
            max_ts: written.max_ts,
            bytes: written.bytes,
        }
    }
}

/// The store's durable table of contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// Campaign buckets per day, fixed at creation.
    pub bucket_count: u16,
    /// The id the next segment will get.
    pub next_segment_id: u64,
    /// Records with a smaller LSN are all in segments; replay starts here.
    pub wal_replay_from: Lsn,
    /// Live segments.
    pub segments: Vec<SegmentEntry>,
    /// Highest applied sequence per producer, over the records before `wal_replay_from`.
    pub producers: crate::producer::ProducerMarks,
}

impl Manifest {
    /// The manifest of a new, empty store.
    pub fn new(bucket_count: u16) -> Manifest {
        Manifest {
            bucket_count,
            next_segment_id: 1,
            wal_replay_from: 1,
            segments: Vec::new(),
            producers: crate::producer::ProducerMarks::new(),
        }
    }

    /// Serializes the manifest.
    pub fn encode(&self) -> Vec<u8> {
        let mut body = Vec::with_capacity(32 + self.segments.len() * ENTRY_LEN);
        body.extend_from_slice(&self.bucket_count.to_le_bytes());
        body.extend_from_slice(&0u16.to_le_bytes());
        body.extend_from_slice(&self.next_segment_id.to_le_bytes());
        body.extend_from_slice(&self.wal_replay_from.to_le_bytes());
        body.extend_from_slice(
            &u32::try_from(self.segments.len())
                .unwrap_or(u32::MAX)
                .to_le_bytes(),
        );
        for s in &self.segments {
            body.extend_from_slice(&s.id.0.to_le_bytes());
            body.extend_from_slice(&s.partition.day.to_le_bytes());
            body.extend_from_slice(&s.partition.bucket.to_le_bytes());
            body.extend_from_slice(&0u16.to_le_bytes());
            body.extend_from_slice(&s.rows.to_le_bytes());
            body.extend_from_slice(&s.min_ts.to_le_bytes());
            body.extend_from_slice(&s.max_ts.to_le_bytes());
            body.extend_from_slice(&s.bytes.to_le_bytes());
        }
        body.extend_from_slice(
            &u32::try_from(self.producers.len())
                .unwrap_or(u32::MAX)
                .to_le_bytes(),
        );
        for (id, seq) in &self.producers {
            crate::producer::encode_prefix(id, *seq, &mut body);
        }
        let mut out = Vec::with_capacity(HEADER_LEN + body.len());
        out.extend_from_slice(&MANIFEST_MAGIC);
        out.extend_from_slice(&MANIFEST_FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&u32::try_from(body.len()).unwrap_or(u32::MAX).to_le_bytes());
        out.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
        out.extend_from_slice(&body);
        out
    }

    /// Parses a manifest; `path` is for error messages.
    pub fn decode(path: &Path, bytes: &[u8]) -> Result<Manifest> {
        let corrupt = |offset: usize, reason: String| Error::Corrupt {
            path: path.to_path_buf(),
            offset: Some(offset as u64),
            reason,
        };
        if bytes.len() < HEADER_LEN {
            return Err(corrupt(
                0,
                format!("{} bytes is shorter than the manifest header", bytes.len()),
            ));
        }
        if bytes[..4] != MANIFEST_MAGIC {
            return Err(corrupt(0, "not an adstore manifest (bad magic)".into()));
        }
        let mut r = Reader { bytes, at: 4 };
        let version = r.u16();
        if !(MANIFEST_OLDEST_VERSION..=MANIFEST_FORMAT_VERSION).contains(&version) {
            return Err(Error::UnsupportedVersion {
                path: path.to_path_buf(),
                what: "manifest",
                version,
                supported: format!("{MANIFEST_OLDEST_VERSION} to {MANIFEST_FORMAT_VERSION}"),
            });
        }
        if r.u16() != 0 {
            return Err(corrupt(6, "reserved header bytes are not zero".into()));
        }
        let body_len = r.u32() as usize;
        let stored = r.u32();
        let body = &bytes[HEADER_LEN..];
        if body.len() != body_len {
            return Err(corrupt(
                HEADER_LEN,
                format!("body is {} bytes, header says {body_len}", body.len()),
            ));
        }
        let got = crc32fast::hash(body);
        if got != stored {
            return Err(Error::ChecksumMismatch {
                path: path.to_path_buf(),
                offset: HEADER_LEN as u64,
                what: "manifest body".into(),
                expected: stored,
                got,
            });
        }
        if body.len() < 24 {
            return Err(corrupt(HEADER_LEN, "body too short".into()));
        }
        let bucket_count = r.u16();
        r.u16();
        let next_segment_id = r.u64();
        let wal_replay_from = r.u64();
        let count = r.u32() as usize;
        let fits = match version {
            1 => r.remaining() == count * ENTRY_LEN,
            _ => r.remaining() >= count * ENTRY_LEN + 4,
        };
        if !fits {
            return Err(corrupt(
                r.at,
                format!("{count} segment entries do not fit {} bytes", r.remaining()),
            ));
        }
        if bucket_count == 0 {
            return Err(corrupt(HEADER_LEN, "bucket count is 0".into()));
        }
        let mut segments = Vec::with_capacity(count);
        for _ in 0..count {
            let id = SegmentId(r.u64());
            let day = r.i32();
            let bucket = r.u16();
            r.u16();
            segments.push(SegmentEntry {
                id,
                partition: PartitionKey { day, bucket },
                rows: r.u64(),
                min_ts: r.i64(),
                max_ts: r.i64(),
                bytes: r.u64(),
            });
        }
        let mut producers = crate::producer::ProducerMarks::new();
        if version >= 2 {
            let count = r.u32() as usize;
            let mut rest = &bytes[r.at..];
            for i in 0..count {
                let (id, seq, tail) = crate::producer::decode_prefix(rest)
                    .map_err(|e| corrupt(bytes.len() - rest.len(), format!("producer {i}: {e}")))?;
                if producers.insert(id, seq).is_some() {
                    return Err(corrupt(
                        bytes.len() - rest.len(),
                        format!("producer {i} listed twice"),
                    ));
                }
                rest = tail;
            }
            if !rest.is_empty() {
                return Err(corrupt(
                    bytes.len() - rest.len(),
                    format!("{} bytes after the producer marks", rest.len()),
                ));
            }
        }
        Ok(Manifest {
            bucket_count,
            next_segment_id,
            wal_replay_from,
            segments,
            producers,
        })
    }

    /// Reads `dir/MANIFEST`; `None` when the directory has none (a new store).
    pub fn load(dir: &Path) -> Result<Option<Manifest>> {
        let path = dir.join(MANIFEST_FILE);
        match std::fs::read(&path) {
            Ok(bytes) => Manifest::decode(&path, &bytes).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).io("read", &path),
        }
    }

    /// Replaces `dir/MANIFEST` atomically and durably.
    pub fn store(&self, dir: &Path, hook: Option<&crate::hooks::CrashHook>) -> Result<()> {
        crate::fsutil::write_atomically(&dir.join(MANIFEST_FILE), &self.encode(), hook)
    }
}

/// Bounds-checked by the length checks in `decode` before any read.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> [u8; N] {
        let mut b = [0u8; N];
        b.copy_from_slice(&self.bytes[self.at..self.at + N]);
        self.at += N;
        b
    }
    fn u16(&mut self) -> u16 {
        u16::from_le_bytes(self.take())
    }
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.take())
    }
    fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.take())
    }
    fn i32(&mut self) -> i32 {
        i32::from_le_bytes(self.take())
    }
    fn i64(&mut self) -> i64 {
        i64::from_le_bytes(self.take())
    }
    fn remaining(&self) -> usize {
        self.bytes.len() - self.at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Manifest {
        let mut m = Manifest::new(16);
        m.next_segment_id = 9;
        m.wal_replay_from = 42;
        m.segments.push(SegmentEntry {
            id: SegmentId(3),
            partition: PartitionKey {
                day: 20_000,
                bucket: 5,
            },
            rows: 10,
            min_ts: -5,
            max_ts: 99,
            bytes: 4096,
        });
        m.producers.insert("agent-1".into(), 17);
        m.producers.insert("agent-2".into(), u64::MAX);
        m
    }

    #[test]
    fn reads_version_1_without_producer_marks() {
        let mut m = sample();
        m.producers.clear();
        let mut bytes = m.encode();
        // Version 1 is the same bytes without the trailing producer count.
        bytes.truncate(bytes.len() - 4);
        bytes[4..6].copy_from_slice(&1u16.to_le_bytes());
        let body_len = u32::try_from(bytes.len() - HEADER_LEN).unwrap();
        bytes[8..12].copy_from_slice(&body_len.to_le_bytes());
        let crc = crc32fast::hash(&bytes[HEADER_LEN..]);
        bytes[12..16].copy_from_slice(&crc.to_le_bytes());
        assert_eq!(Manifest::decode(Path::new("M"), &bytes).unwrap(), m);
    }

    #[test]
    fn round_trips() {
        let m = sample();
        assert_eq!(Manifest::decode(Path::new("M"), &m.encode()).unwrap(), m);
    }

    #[test]
    fn every_flipped_byte_and_every_cut_is_refused() {
        let bytes = sample().encode();
        for i in 0..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 1;
            assert!(Manifest::decode(Path::new("M"), &b).is_err(), "flip at {i}");
        }
        for cut in 0..bytes.len() {
            assert!(
                Manifest::decode(Path::new("M"), &bytes[..cut]).is_err(),
                "cut at {cut}"
            );
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(Manifest::decode(Path::new("M"), &longer).is_err());
    }

    #[test]
    fn unknown_version_is_named() {
        let mut bytes = sample().encode();
        bytes[4] = 7;
        let err = Manifest::decode(Path::new("M"), &bytes).unwrap_err();
        assert!(
            matches!(err, Error::UnsupportedVersion { version: 7, .. }),
            "{err}"
        );
    }
}
