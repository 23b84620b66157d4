//! Dead-letter round trips and corruption handling: torn tails are tolerated, damage in the
//! middle of a file is an error naming file and offset.

use super::format::{FILE_HEADER_LEN, file_name};
use super::reader::parse;
use super::*;
use crate::decode::Format;
use crate::reject::{RejectReason, Rejected};

fn row(position: u64, reason: RejectReason, raw: &[u8]) -> Rejected {
    Rejected {
        position,
        reason,
        detail: format!("detail {position}"),
        raw: raw.to_vec(),
    }
}

fn write_three(dir: &std::path::Path) -> std::path::PathBuf {
    let mut w = DeadLetterWriter::open(dir).unwrap();
    assert!(
        w.append(
            "/in/a.jsonl",
            Format::Json,
            &row(1, RejectReason::MalformedJson, b"{oops")
        )
        .unwrap()
    );
    assert!(
        w.append(
            "/in/b.csv",
            Format::Csv,
            &row(7, RejectReason::CsvColumnCount, b"a,b\xff")
        )
        .unwrap()
    );
    assert!(
        w.append(
            "/in/c.avro",
            Format::Avro,
            &row(3, RejectReason::NegativeMoney, b"{}")
        )
        .unwrap()
    );
    w.sync().unwrap();
    assert_eq!(w.written(), 3);
    dir.join(DEAD_LETTER_DIR).join(file_name(1))
}

#[test]
fn records_round_trip_with_every_field() {
    let tmp = tempfile::tempdir().unwrap();
    let path = write_three(tmp.path());
    let all = read_all(tmp.path()).unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(all[0].reason(), Some(RejectReason::MalformedJson));
    assert_eq!(
        (all[0].format, all[0].position, all[0].source.as_str()),
        (Some(Format::Json), 1, "/in/a.jsonl")
    );
    assert_eq!(
        (all[0].detail.as_str(), all[0].raw.as_slice()),
        ("detail 1", b"{oops".as_slice())
    );
    assert_eq!(
        (all[1].reason(), all[1].raw.as_slice()),
        (Some(RejectReason::CsvColumnCount), b"a,b\xff".as_slice())
    );
    assert_eq!(
        (all[2].format, all[2].offset),
        (Some(Format::Avro), all[2].offset)
    );
    assert_eq!(all[0].offset, FILE_HEADER_LEN as u64);
    assert_eq!(all[0].file, path);
    assert!(all[0].ingested_at > 1_700_000_000_000_000);
}

#[test]
fn reopening_skips_rows_already_stored_and_writes_a_new_file() {
    let tmp = tempfile::tempdir().unwrap();
    write_three(tmp.path());
    let mut w = DeadLetterWriter::open(tmp.path()).unwrap();
    assert!(
        !w.append(
            "/in/a.jsonl",
            Format::Json,
            &row(1, RejectReason::MalformedJson, b"{oops")
        )
        .unwrap()
    );
    assert!(
        w.append(
            "/in/a.jsonl",
            Format::Json,
            &row(2, RejectReason::MalformedJson, b"{oops")
        )
        .unwrap()
    );
    drop(w);
    assert_eq!((read_all(tmp.path()).unwrap().len()), 4);
    let files = list_files(&tmp.path().join(DEAD_LETTER_DIR)).unwrap();
    assert_eq!(files.iter().map(|f| f.0).collect::<Vec<_>>(), vec![1, 2]);
    // A writer that writes nothing creates no file.
    drop(DeadLetterWriter::open(tmp.path()).unwrap());
    assert_eq!(
        list_files(&tmp.path().join(DEAD_LETTER_DIR)).unwrap().len(),
        2
    );
}

#[test]
fn torn_tails_are_tolerated_and_keep_every_complete_record() {
    let tmp = tempfile::tempdir().unwrap();
    let path = write_three(tmp.path());
    let bytes = std::fs::read(&path).unwrap();
    let whole = read_file(&path).unwrap();
    let last = whole.records[2].offset as usize;
    // Cut anywhere inside the last record: two records survive, the tail is reported torn.
    for cut in [last + 1, last + 11, last + 12, last + 20, bytes.len() - 1] {
        let f = parse(&path, &bytes[..cut]).unwrap();
        assert_eq!(f.records.len(), 2, "cut at {cut}");
        assert!(f.torn_tail.is_some());
        assert_eq!(f.valid_len, last as u64);
    }
    // Garbage in the last record's body: torn, not corrupt.
    let mut b = bytes.clone();
    let n = b.len();
    b[n - 1] ^= 0xff;
    assert_eq!(parse(&path, &b).unwrap().records.len(), 2);
    // Zeros after the last record (a file system extended the file before the data landed).
    let mut b = bytes.clone();
    b.extend_from_slice(&[0u8; 40]);
    let f = parse(&path, &b).unwrap();
    assert_eq!((f.records.len(), f.torn_tail.is_some()), (3, true));
    // A file shorter than its header holds nothing.
    assert!(parse(&path, &bytes[..5]).unwrap().records.is_empty());
}

#[test]
fn damage_in_the_middle_is_an_error_naming_file_and_offset() {
    let tmp = tempfile::tempdir().unwrap();
    let path = write_three(tmp.path());
    let bytes = std::fs::read(&path).unwrap();
    let whole = read_file(&path).unwrap();
    let second = whole.records[1].offset;
    // A flipped byte in the second record's body.
    let mut b = bytes.clone();
    b[second as usize + 20] ^= 0x01;
    let err = parse(&path, &b).unwrap_err();
    match &err {
        crate::Error::DeadLetterCorrupt {
            path: p,
            offset,
            reason,
        } => {
            assert_eq!((p, *offset), (&path, second));
            assert!(reason.contains("checksum"), "{reason}");
        }
        other => panic!("{other}"),
    }
    assert!(err.to_string().contains(&format!("offset {second}")));
    // A flipped byte in the second record's frame header.
    let mut b = bytes.clone();
    b[second as usize + 2] ^= 0x01;
    assert!(
        matches!(parse(&path, &b), Err(crate::Error::DeadLetterCorrupt { offset, .. }) if offset == second)
    );
    // Bad magic, bad header CRC.
    let mut b = bytes.clone();
    b[0] = b'X';
    assert!(matches!(
        parse(&path, &b),
        Err(crate::Error::DeadLetterCorrupt { offset: 0, .. })
    ));
    let mut b = bytes;
    b[5] ^= 1;
    assert!(matches!(
        parse(&path, &b),
        Err(crate::Error::DeadLetterCorrupt { offset: 0, .. })
    ));
}
