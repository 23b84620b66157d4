//! Reading dead-letter files: every complete record in order, a torn tail tolerated, damage
//! refused with the file and offset (the WAL's rules; see [`super::format`]).

use std::path::{Path, PathBuf};

use adstore_storage::framing::{Frame, le_u32, le_u64, next_record};

use super::format::{
    BODY_INGESTED_AT_OFFSET, BODY_POSITION_OFFSET, BODY_PREFIX_LEN, FILE_HEADER_CRC_OFFSET,
    FILE_HEADER_LEN, FILE_VERSION_OFFSET, FORMAT_VERSION, MAGIC, MAX_BODY_LEN, MIN_BODY_LEN,
    format_from_code, parse_file_name,
};
use crate::decode::Format;
use crate::error::{Error, IoContext, Result};
use crate::reject::RejectReason;

/// One dead letter, as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// The reject reason's code (see [`RejectReason::from_code`]).
    pub reason_code: u8,
    /// The input format.
    pub format: Option<Format>,
    /// Line or record number in the source file.
    pub position: u64,
    /// When the row was rejected, µs since the epoch.
    pub ingested_at: i64,
    /// The source file.
    pub source: String,
    /// The explanation.
    pub detail: String,
    /// The row's bytes.
    pub raw: Vec<u8>,
    /// The dead-letter file holding it.
    pub file: PathBuf,
    /// Its offset in that file.
    pub offset: u64,
}

impl DeadLetter {
    /// The reject reason; `None` for a code this build does not know.
    pub fn reason(&self) -> Option<RejectReason> {
        RejectReason::from_code(self.reason_code)
    }
}

/// What a dead-letter file holds.
#[derive(Debug)]
pub struct DeadLetterFile {
    /// Every complete record, in order.
    pub records: Vec<DeadLetter>,
    /// Length of the valid prefix (header plus complete records).
    pub valid_len: u64,
    /// When the file ends in a torn record: why it is considered torn.
    pub torn_tail: Option<String>,
}

/// Lists `(n, path)` of the dead-letter files in `dir`, sorted; an absent folder has none.
/// Files with other names are ignored.
pub fn list_files(dir: &Path) -> Result<Vec<(u64, PathBuf)>> {
    let mut files = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(files),
        Err(e) => return Err(e).io("list", dir),
    };
    for entry in entries {
        let entry = entry.io("list", dir)?;
        if let Some(n) = entry.file_name().to_str().and_then(parse_file_name) {
            files.push((n, entry.path()));
        }
    }
    files.sort();
    Ok(files)
}

/// Reads and checks a whole dead-letter file.
pub fn read_file(path: &Path) -> Result<DeadLetterFile> {
    let bytes = std::fs::read(path).io("read", path)?;
    parse(path, &bytes)
}

/// Parses the bytes of a dead-letter file named `path`.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<DeadLetterFile> {
    let corrupt = |offset: usize, reason: String| Error::DeadLetterCorrupt {
        path: path.to_path_buf(),
        offset: offset as u64,
        reason,
    };
    if bytes.len() < FILE_HEADER_LEN {
        // A crash between creating the file and writing its header: no record in it.
        return Ok(DeadLetterFile {
            records: Vec::new(),
            valid_len: 0,
            torn_tail: Some(format!(
                "file of {} bytes is shorter than its header",
                bytes.len()
            )),
        });
    }
    if bytes[..4] != MAGIC {
        return Err(corrupt(
            0,
            format!("magic {:02x?} is not ADDL", &bytes[..4]),
        ));
    }
    let stored = le_u32(bytes, FILE_HEADER_CRC_OFFSET);
    let crc = crc32fast::hash(&bytes[..FILE_HEADER_CRC_OFFSET]);
    if stored != crc {
        return Err(corrupt(
            0,
            format!("header checksum {stored:#010x} != {crc:#010x}"),
        ));
    }
    let version = u16::from_le_bytes([bytes[FILE_VERSION_OFFSET], bytes[FILE_VERSION_OFFSET + 1]]);
    if version != FORMAT_VERSION {
        return Err(corrupt(
            FILE_VERSION_OFFSET,
            format!(
                "unsupported dead-letter format version {version} (this build reads {FORMAT_VERSION})"
            ),
        ));
    }
    let mut records = Vec::new();
    let mut at = FILE_HEADER_LEN;
    let mut torn_tail = None;
    while at < bytes.len() {
        let (body, end) = match next_record(&bytes[at..], at, MIN_BODY_LEN, MAX_BODY_LEN) {
            Ok(Frame::Record { body, len }) => (body, len),
            Ok(Frame::TornTail(reason)) => {
                torn_tail = Some(reason);
                break;
            }
            Err(reason) => return Err(corrupt(at, reason)),
        };
        let record = decode_body(body)
            .ok_or_else(|| corrupt(at, "record body fields overrun the body".into()))?;
        records.push(DeadLetter {
            file: path.to_path_buf(),
            offset: at as u64,
            ..record
        });
        at += end;
    }
    Ok(DeadLetterFile {
        records,
        valid_len: at.min(bytes.len()) as u64,
        torn_tail,
    })
}

fn decode_body(body: &[u8]) -> Option<DeadLetter> {
    let mut at = BODY_PREFIX_LEN;
    let mut field = |body: &[u8]| -> Option<Vec<u8>> {
        let len = le_u32(body.get(at..at + 4)?, 0) as usize;
        let v = body.get(at + 4..at + 4 + len)?.to_vec();
        at += 4 + len;
        Some(v)
    };
    let source = String::from_utf8_lossy(&field(body)?).into_owned();
    let detail = String::from_utf8_lossy(&field(body)?).into_owned();
    let raw = field(body)?;
    if at != body.len() {
        return None;
    }
    #[expect(clippy::cast_possible_wrap, reason = "stored as the bits of an i64")]
    let ingested_at = le_u64(body, BODY_INGESTED_AT_OFFSET) as i64;
    Some(DeadLetter {
        reason_code: body[0],
        format: format_from_code(body[1]),
        position: le_u64(body, BODY_POSITION_OFFSET),
        ingested_at,
        source,
        detail,
        raw,
        file: PathBuf::new(),
        offset: 0,
    })
}

/// Reads every dead letter under `<data>/deadletter/`, oldest file first.
pub fn read_all(data_dir: &Path) -> Result<Vec<DeadLetter>> {
    let mut all = Vec::new();
    for (_, path) in list_files(&data_dir.join(super::DEAD_LETTER_DIR))? {
        all.extend(read_file(&path)?.records);
    }
    Ok(all)
}
