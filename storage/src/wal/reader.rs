//! Replay of WAL files: every complete record in order, a torn tail detected, damage refused.
//!
//! Crashes this handles: a process killed (SIGKILL) or a machine losing power in the middle of a
//! `write` leaves a *prefix* of the last record (or zeros, where the file system extended the file
//! before the data landed). Such a tail was never acknowledged, since acknowledgement waits for the
//! fsync after the whole record, so it is reported as torn and the caller truncates it. A checksum
//! mismatch on a record that is followed by more data cannot be a torn write: it is corruption of
//! acknowledged data, and replay stops with [`WalError::CorruptRecord`] naming file and offset.

use std::path::{Path, PathBuf};

use super::error::WalError;
use super::format::{
    BODY_PREFIX_LEN, CODEC_NONE, CODEC_ZSTD, FILE_FIRST_LSN_OFFSET, FILE_HEADER_CRC_OFFSET,
    FILE_HEADER_LEN, FILE_SCHEMA_OFFSET, FILE_VERSION_OFFSET, Lsn, MAX_BODY_LEN, RecordKind,
    WAL_FORMAT_VERSION, WAL_MAGIC, WAL_OLDEST_VERSION, parse_wal_file_name,
};
use super::payload::decode_batch;
use crate::batch::EventBatch;
use crate::error::{Error, IoContext, Result};
use crate::framing::{Frame, le_u32, le_u64, next_record};

/// One replayed record.
#[derive(Debug)]
pub struct WalRecord {
    /// Its LSN.
    pub lsn: Lsn,
    /// Its byte offset in the file.
    pub offset: u64,
    /// The batch it carries.
    pub batch: EventBatch,
    /// The (producer, sequence) mark of a `ProducerBatch` record.
    pub producer: Option<(String, u64)>,
    /// Size of the framed record on disk.
    pub framed_len: u64,
}

/// What a WAL file holds.
#[derive(Debug)]
pub struct WalFileContents {
    /// The file.
    pub path: PathBuf,
    /// LSN of its first record (from the header).
    pub first_lsn: Lsn,
    /// Every complete record, in order.
    pub records: Vec<WalRecord>,
    /// Length of the valid prefix (header plus complete records).
    pub valid_len: u64,
    /// The file's length on disk.
    pub file_len: u64,
    /// When the file ends in a torn record: why it is considered torn.
    pub torn_tail: Option<String>,
}

/// Lists `(first_lsn, path)` of the WAL files in `dir`, sorted by LSN.
pub fn list_wal_files(dir: &Path) -> Result<Vec<(Lsn, PathBuf)>> {
    let mut files = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(files),
        Err(e) => return Err(e).io("list", dir),
    };
    for entry in entries {
        let entry = entry.io("list", dir)?;
        let path = entry.path();
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            return Err(WalError::BadFileName { path }.into());
        };
        if name.ends_with(".tmp") {
            continue;
        }
        match parse_wal_file_name(name) {
            Some(lsn) => files.push((lsn, path)),
            None => return Err(WalError::BadFileName { path }.into()),
        }
    }
    files.sort();
    Ok(files)
}

/// Reads and checks a whole WAL file. Decoding of payloads is done here too, so a record that
/// passes its CRC but does not decode is reported as corrupt rather than half-applied.
pub fn read_wal_file(path: &Path) -> Result<WalFileContents> {
    let bytes = std::fs::read(path).io("read", path)?;
    parse_wal_bytes(path, &bytes)
}

fn parse_wal_bytes(path: &Path, bytes: &[u8]) -> Result<WalFileContents> {
    let file_len = bytes.len() as u64;
    let bad_header = |reason: String| {
        Error::from(WalError::BadHeader {
            path: path.to_path_buf(),
            reason,
        })
    };
    if bytes.len() < FILE_HEADER_LEN {
        // A crash between creating the file and writing its header leaves a short file with no
        // record in it: nothing was acknowledged from it.
        return Ok(WalFileContents {
            path: path.to_path_buf(),
            first_lsn: 0,
            records: Vec::new(),
            valid_len: 0,
            file_len,
            torn_tail: Some(format!(
                "file of {file_len} bytes is shorter than its header"
            )),
        });
    }
    if bytes[..4] != WAL_MAGIC {
        return Err(bad_header(format!("magic {:?} is not ADWL", &bytes[..4])));
    }
    let stored_crc = le_u32(bytes, FILE_HEADER_CRC_OFFSET);
    let crc = crc32fast::hash(&bytes[..FILE_HEADER_CRC_OFFSET]);
    if stored_crc != crc {
        return Err(bad_header(format!(
            "header checksum {stored_crc:#010x} != {crc:#010x}"
        )));
    }
    let version = u16::from_le_bytes([bytes[FILE_VERSION_OFFSET], bytes[FILE_VERSION_OFFSET + 1]]);
    if !(WAL_OLDEST_VERSION..=WAL_FORMAT_VERSION).contains(&version) {
        return Err(Error::UnsupportedVersion {
            path: path.to_path_buf(),
            what: "WAL",
            version,
            supported: format!("{WAL_OLDEST_VERSION} to {WAL_FORMAT_VERSION}"),
        });
    }
    let schema = u16::from_le_bytes([bytes[FILE_SCHEMA_OFFSET], bytes[FILE_SCHEMA_OFFSET + 1]]);
    if schema != crate::schema::SCHEMA_VERSION {
        return Err(Error::UnsupportedVersion {
            path: path.to_path_buf(),
            what: "event schema (WAL)",
            version: schema,
            supported: crate::schema::SCHEMA_VERSION.to_string(),
        });
    }
    let first_lsn = le_u64(bytes, FILE_FIRST_LSN_OFFSET);

    let mut records = Vec::new();
    let mut at = FILE_HEADER_LEN;
    let mut torn_tail = None;
    let corrupt = |offset: usize, reason: String| {
        Error::from(WalError::CorruptRecord {
            path: path.to_path_buf(),
            offset: offset as u64,
            reason,
        })
    };
    let mut zstd = None;
    while at < bytes.len() {
        let (body, end) = match next_record(&bytes[at..], at, BODY_PREFIX_LEN, MAX_BODY_LEN) {
            Ok(Frame::Record { body, len }) => (body, len),
            Ok(Frame::TornTail(reason)) => {
                torn_tail = Some(reason);
                break;
            }
            Err(reason) => return Err(corrupt(at, reason)),
        };
        let lsn = le_u64(body, 0);
        let expected = first_lsn + records.len() as u64;
        if lsn != expected {
            return Err(WalError::LsnGap {
                path: path.to_path_buf(),
                offset: at as u64,
                expected,
                found: lsn,
            }
            .into());
        }
        let kind = body[8];
        let kind = match RecordKind::from_u8(kind) {
            Some(RecordKind::ProducerBatch) if version < 2 => {
                return Err(corrupt(
                    at,
                    format!("record kind {kind} in a version {version} WAL file"),
                ));
            }
            Some(k) => k,
            None => return Err(corrupt(at, format!("unknown record kind {kind}"))),
        };
        let codec = body[9];
        let raw_len = le_u32(body, 10) as usize;
        let stored = &body[BODY_PREFIX_LEN..];
        let decoded;
        let payload = match codec {
            CODEC_NONE => stored,
            CODEC_ZSTD => {
                let d = match &mut zstd {
                    Some(d) => d,
                    None => zstd.insert(zstd::bulk::Decompressor::new().io("zstd init", path)?),
                };
                decoded = d
                    .decompress(stored, raw_len)
                    .map_err(|e| corrupt(at, format!("zstd payload: {e}")))?;
                &decoded[..]
            }
            other => return Err(corrupt(at, format!("unknown payload codec {other}"))),
        };
        let (producer, payload) = match kind {
            RecordKind::EventBatch => (None, payload),
            RecordKind::ProducerBatch => {
                let (id, seq, rest) = crate::producer::decode_prefix(payload)
                    .map_err(|e| corrupt(at, format!("payload: {e}")))?;
                (Some((id, seq)), rest)
            }
        };
        let batch = decode_batch(payload).map_err(|e| corrupt(at, format!("payload: {e}")))?;
        records.push(WalRecord {
            lsn,
            offset: at as u64,
            batch,
            producer,
            framed_len: end as u64,
        });
        at += end;
    }
    let valid_len = if torn_tail.is_some() {
        at as u64
    } else {
        file_len
    };
    Ok(WalFileContents {
        path: path.to_path_buf(),
        first_lsn,
        records,
        valid_len,
        file_len,
        torn_tail,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::EventRef;
    use crate::schema::EventType;
    use crate::wal::format::{file_header, frame_record};
    use crate::wal::payload::encode_batch;

    fn file_with(records: usize) -> (Vec<u8>, Vec<usize>) {
        let mut bytes = file_header(7).to_vec();
        let mut starts = Vec::new();
        for i in 0..records {
            let id = format!("e{i}");
            let batch =
                EventBatch::from_events([EventRef::new(&id, EventType::Impression, i as i64, "c")]);
            let mut payload = Vec::new();
            encode_batch(&batch, &mut payload);
            starts.push(bytes.len());
            frame_record(
                7 + i as u64,
                RecordKind::EventBatch,
                CODEC_NONE,
                payload.len() as u32,
                &payload,
                &mut bytes,
            );
        }
        (bytes, starts)
    }

    #[test]
    fn every_cut_keeps_the_complete_records_before_it() {
        let (bytes, starts) = file_with(4);
        let p = Path::new("x.wal");
        for cut in FILE_HEADER_LEN..bytes.len() {
            let c = parse_wal_bytes(p, &bytes[..cut]).unwrap();
            let complete = starts.iter().skip(1).filter(|&&s| s <= cut).count()
                + usize::from(cut == bytes.len());
            assert_eq!(c.records.len(), complete, "cut {cut}");
            assert_eq!(c.torn_tail.is_some(), !starts.contains(&cut), "cut {cut}");
            assert_eq!(
                c.records.first().map(|r| r.lsn),
                if complete > 0 { Some(7) } else { None }
            );
        }
    }

    #[test]
    fn a_flipped_byte_in_a_middle_record_is_corruption_naming_the_offset() {
        let (bytes, starts) = file_with(3);
        for at in starts[1]..starts[2] {
            let mut b = bytes.clone();
            b[at] ^= 0x40;
            let err = parse_wal_bytes(Path::new("x.wal"), &b).unwrap_err();
            let msg = err.to_string();
            assert!(msg.contains(&format!("offset {}", starts[1])), "{msg}");
        }
    }

    #[test]
    fn zero_fill_after_the_last_record_is_a_torn_tail() {
        let (mut bytes, _) = file_with(2);
        bytes.extend_from_slice(&[0u8; 100]);
        let c = parse_wal_bytes(Path::new("x.wal"), &bytes).unwrap();
        assert_eq!(c.records.len(), 2);
        assert!(c.torn_tail.is_some());
    }

    #[test]
    fn appended_garbage_is_reported_not_read_as_data() {
        let (mut bytes, _) = file_with(2);
        bytes.extend_from_slice(b"garbage that is not a record");
        // Garbage at the tail cannot be told from a torn header by its bytes alone; what matters is
        // that it is never read as a record and that the records before it are kept.
        match parse_wal_bytes(Path::new("x.wal"), &bytes) {
            Ok(c) => {
                assert_eq!(c.records.len(), 2);
                assert!(c.torn_tail.is_some());
            }
            Err(e) => assert!(e.to_string().contains("offset"), "{e}"),
        }
    }

    #[test]
    fn foreign_files_are_refused() {
        let mut h = file_header(1).to_vec();
        h[0] = b'X';
        assert!(parse_wal_bytes(Path::new("x.wal"), &h).is_err());
        let mut h = file_header(1).to_vec();
        h[FILE_VERSION_OFFSET] = 9;
        assert!(parse_wal_bytes(Path::new("x.wal"), &h).is_err());
    }
}
