//! CRC-framed records, the framing shared by WAL files and dead-letter files (`docs/FORMAT.md`,
//! "WAL" and "Torn tail versus corruption"; "Dead letters" uses the same header): a 12-byte header
//! `BodyLen(u32) BodyCrc(u32) HeaderCrc(u32)` then `BodyLen` bytes of body, CRC-32 (IEEE) over
//! the body and over the header's first 8 bytes.
//!
//! This module seals records ([`seal_record`]) and scans them back ([`next_record`]), telling a
//! torn tail (a crash mid-write: what follows was never acknowledged) from corruption (damage
//! before the end, never to be skipped). What a body holds is the caller's business.

/// Bytes of a record header.
pub const RECORD_HEADER_LEN: usize = 12;

/// Writes the header of the record that starts at `record[0]`: `record` is the
/// [`RECORD_HEADER_LEN`] placeholder bytes followed by the whole body. The body's length must fit
/// the reader's limit (callers check it against theirs before framing).
pub fn seal_record(record: &mut [u8]) {
    let body = &record[RECORD_HEADER_LEN..];
    let body_len = u32::try_from(body.len()).unwrap_or(u32::MAX);
    let body_crc = crc32fast::hash(body);
    record[0..4].copy_from_slice(&body_len.to_le_bytes());
    record[4..8].copy_from_slice(&body_crc.to_le_bytes());
    let header_crc = crc32fast::hash(&record[0..8]);
    record[8..12].copy_from_slice(&header_crc.to_le_bytes());
}

/// What [`next_record`] found at an offset.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame<'a> {
    /// A whole record whose CRCs hold: its body, and its length with the header.
    Record {
        /// The body.
        body: &'a [u8],
        /// Header plus body bytes: where the next record starts.
        len: usize,
    },
    /// The file ends in a record cut short (why, for the log): the valid data ends here.
    TornTail(String),
}

/// Reads the record at the start of `rest` (the file's bytes from offset `at`, used in
/// messages), whose body must be `min_body..=max_body` bytes long. `Err` is corruption, with
/// its reason.
///
/// Torn tails: fewer bytes than a header; only zero bytes (a file extended but not written);
/// a body longer than the bytes left; a body failing its CRC when it is the file's last bytes
/// (a write cut short by power loss can leave garbage in place of its last sectors, and it was
/// never acknowledged: the fsync after it had not returned). Anything else that fails is
/// corruption.
pub fn next_record(
    rest: &[u8],
    at: usize,
    min_body: usize,
    max_body: u32,
) -> Result<Frame<'_>, String> {
    if rest.len() < RECORD_HEADER_LEN {
        return Ok(Frame::TornTail(format!(
            "{} bytes at offset {at}, shorter than a record header",
            rest.len()
        )));
    }
    let body_len = le_u32(rest, 0);
    let body_crc = le_u32(rest, 4);
    let header_crc = le_u32(rest, 8);
    if crc32fast::hash(&rest[..8]) != header_crc {
        if rest.iter().all(|&b| b == 0) {
            return Ok(Frame::TornTail(format!(
                "{} zero bytes at offset {at}",
                rest.len()
            )));
        }
        return Err(format!(
            "record header checksum mismatch (stored {header_crc:#010x})"
        ));
    }
    if body_len > max_body || (body_len as usize) < min_body {
        return Err(format!("record body length {body_len} out of range"));
    }
    let end = RECORD_HEADER_LEN + body_len as usize;
    if end > rest.len() {
        return Ok(Frame::TornTail(format!(
            "record at offset {at} needs {end} bytes, the file has {} left",
            rest.len()
        )));
    }
    let body = &rest[RECORD_HEADER_LEN..end];
    let got = crc32fast::hash(body);
    if got != body_crc {
        if end == rest.len() {
            return Ok(Frame::TornTail(format!(
                "last record at offset {at} fails its checksum"
            )));
        }
        return Err(format!(
            "body checksum mismatch: stored {body_crc:#010x}, computed {got:#010x}"
        ));
    }
    Ok(Frame::Record { body, len: end })
}

/// `<n as 20 zero-padded digits>.<ext>`: the name of a numbered file (WAL, dead letters).
pub fn numbered_file_name(n: u64, ext: &str) -> String {
    format!("{n:020}.{ext}")
}

/// The number in a [`numbered_file_name`] with extension `ext`, `None` for any other name.
pub fn parse_numbered_file_name(name: &str, ext: &str) -> Option<u64> {
    let digits = name.strip_suffix(ext)?.strip_suffix('.')?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Reads a little-endian u32 at `at` (the caller checked the bounds).
pub fn le_u32(bytes: &[u8], at: usize) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&bytes[at..at + 4]);
    u32::from_le_bytes(b)
}

/// Reads a little-endian u64 at `at` (the caller checked the bounds).
pub fn le_u64(bytes: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(body: &[u8]) -> Vec<u8> {
        let mut r = vec![0u8; RECORD_HEADER_LEN];
        r.extend_from_slice(body);
        seal_record(&mut r);
        r
    }

    #[test]
    fn sealed_records_read_back_and_damage_is_told_from_torn_tails() {
        let mut file = record(b"first body");
        file.extend(record(b"second"));
        let Ok(Frame::Record { body, len }) = next_record(&file, 0, 1, 100) else {
            panic!("first record");
        };
        assert_eq!((body, len), (&b"first body"[..], 22));
        assert!(matches!(
            next_record(&file[22..], 22, 1, 100),
            Ok(Frame::Record {
                body: b"second",
                ..
            })
        ));
        // Every cut of the last record is a torn tail.
        for cut in 23..file.len() {
            assert!(
                matches!(
                    next_record(&file[22..cut], 22, 1, 100),
                    Ok(Frame::TornTail(_))
                ),
                "cut at {cut}"
            );
        }
        // A flipped body byte with data after it is corruption; in the last record, a torn tail.
        let mut flipped = file.clone();
        flipped[14] ^= 1;
        assert!(next_record(&flipped, 0, 1, 100).is_err());
        let mut last = file.clone();
        last[36] ^= 1;
        assert!(matches!(
            next_record(&last[22..], 22, 1, 100),
            Ok(Frame::TornTail(_))
        ));
        // A flipped header byte is corruption; zero fill is a torn tail.
        let mut header = file.clone();
        header[1] ^= 1;
        assert!(next_record(&header, 0, 1, 100).is_err());
        assert!(matches!(
            next_record(&[0u8; 40], 0, 1, 100),
            Ok(Frame::TornTail(_))
        ));
        // Lengths outside the caller's bounds are corruption.
        assert!(next_record(&file, 0, 11, 100).is_err());
        assert!(next_record(&file, 0, 1, 9).is_err());
    }

    #[test]
    fn numbered_names_round_trip_and_refuse_others() {
        let name = numbered_file_name(42, "wal");
        assert_eq!(name, "00000000000000000042.wal");
        assert_eq!(parse_numbered_file_name(&name, "wal"), Some(42));
        assert_eq!(parse_numbered_file_name(&name, "dlq"), None);
        assert_eq!(parse_numbered_file_name("42.wal", "wal"), None);
        assert_eq!(
            parse_numbered_file_name("0000000000000000004x.wal", "wal"),
            None
        );
        assert_eq!(
            parse_numbered_file_name("00000000000000000042wal", "wal"),
            None
        );
    }
}
