//! A damaged or unreadable input does not stop an ingest: the file is reported with its
//! reason (file and offset), every row decoded before the damage is stored, and the other
//! files are ingested whole.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use std::io::Write;

use adstore_ingest::deadletter::DeadLetterWriter;
use adstore_ingest::pipeline::{IngestOptions, Progress, collect_inputs, ingest_files};
use adstore_storage::{Store, StoreOptions};

fn line(i: usize) -> String {
    format!(
        "{{\"event_id\":\"imp-{i}\",\"ts\":1763769600123,\"creative_id\":\"c\",\"campaign_id\":\"k{}\",\"user_id\":\"u{i}\"}}\n",
        i % 17
    )
}

#[test]
fn damaged_files_are_reported_and_their_earlier_rows_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    std::fs::create_dir_all(input.join("sub")).unwrap();
    // A whole plain file, in a sub-folder.
    let plain: String = (0..1000).map(line).collect();
    std::fs::write(input.join("sub/whole.jsonl"), &plain).unwrap();
    // A gzip file cut in the middle.
    let big: String = (1000..60_000).map(line).collect();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(big.as_bytes()).unwrap();
    let gz = gz.finish().unwrap();
    std::fs::write(input.join("cut.jsonl.gz"), &gz[..gz.len() / 2]).unwrap();
    // Not Avro at all, and a CSV without the columns it needs.
    std::fs::write(input.join("junk.avro"), b"this is not avro").unwrap();
    std::fs::write(input.join("bad.csv"), b"event_id,ts\n1,2\n").unwrap();
    // Hidden files and files of unknown formats inside folders are skipped.
    std::fs::write(input.join(".hidden.jsonl"), b"x").unwrap();
    std::fs::write(input.join("notes.txt"), b"x").unwrap();

    let files = collect_inputs(std::slice::from_ref(&input), None).unwrap();
    let names: Vec<String> = files
        .iter()
        .map(|f| f.strip_prefix(&input).unwrap().display().to_string())
        .collect();
    assert_eq!(
        names,
        ["bad.csv", "cut.jsonl.gz", "junk.avro", "sub/whole.jsonl"]
    );

    let data = tmp.path().join("data");
    let store = Store::open(&data, StoreOptions::default()).unwrap();
    let mut dead = DeadLetterWriter::open(&data).unwrap();
    let report = ingest_files(
        &store,
        &mut dead,
        &files,
        &IngestOptions::default(),
        &Progress::default(),
    )
    .unwrap();
    assert!(!report.all_files_ok());
    let failures: Vec<(String, String)> = report
        .failures()
        .map(|(p, e)| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                e.to_owned(),
            )
        })
        .collect();
    assert_eq!(failures.len(), 3, "{failures:?}");
    assert!(failures[0].1.contains("bad.csv") && failures[0].1.contains("event_type"));
    assert!(
        failures[1].1.contains("cut.jsonl.gz") && failures[1].1.contains("offset"),
        "{}",
        failures[1].1
    );
    assert!(failures[2].1.contains("junk.avro") && failures[2].1.contains("offset 0"));
    let cut = &report.files[1];
    assert!(
        cut.accepted > 1000,
        "rows before the damage are stored: {}",
        cut.accepted
    );
    assert!(cut.accepted < 59_000);
    assert_eq!(report.files[3].accepted, 1000);
    assert_eq!(report.accepted, store.stats().accepted);
    drop(dead);
    store.close().unwrap();
}
