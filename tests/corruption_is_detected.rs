//! Corruption on purpose: truncate, flip and append bytes in WAL, segment and manifest files.
//! Complete WAL records before a torn tail are recovered; damage anywhere else is an error naming
//! the file and offset, never data; `adstore inspect` exits non-zero on it.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a panic is a test failure"
)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use adstore_storage::segment::SegmentId;
use adstore_storage::wal::list_wal_files;
use adstore_storage::{
    ColumnId, Error, ReadContext, ScanFilter, SegmentReader, Store, StoreOptions,
};
use common::{DAY0, id_counts, ids, impressions};

fn options() -> StoreOptions {
    StoreOptions {
        background_flush: false,
        ..StoreOptions::default()
    }
}

/// A store whose WAL holds `batches` records of 100 rows each (nothing flushed).
fn store_with_wal(dir: &Path, batches: usize) -> PathBuf {
    let store = Store::open(dir, options()).unwrap();
    for b in 0..batches {
        store
            .append(&impressions(&ids(&format!("w{b}"), 0..100), DAY0))
            .unwrap();
    }
    drop(store);
    let files = list_wal_files(&dir.join("wal")).unwrap();
    files
        .iter()
        .rev()
        .find(|(_, p)| std::fs::metadata(p).unwrap().len() > 24)
        .unwrap()
        .1
        .clone()
}

fn segment_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir.join("segments"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

fn inspect(path: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_adstore"))
        .arg("inspect")
        .arg(path)
        .output()
        .unwrap()
}

#[test]
fn a_wal_truncated_mid_record_keeps_every_complete_record() {
    let dir = tempfile::tempdir().unwrap();
    let wal = store_with_wal(dir.path(), 5);
    let len = std::fs::metadata(&wal).unwrap().len();
    let f = std::fs::OpenOptions::new().write(true).open(&wal).unwrap();
    f.set_len(len - 100).unwrap(); // cuts into the fifth record
    drop(f);
    let store = Store::open(dir.path(), options()).unwrap();
    let counts = id_counts(&store.snapshot());
    assert_eq!(
        counts.len(),
        400,
        "the four complete records are recovered, the torn one dropped"
    );
    // The torn tail was truncated: the store keeps working and a reopen sees the same.
    store
        .append(&impressions(&ids("after", 0..10), DAY0))
        .unwrap();
    drop(store);
    assert_eq!(
        id_counts(&Store::open(dir.path(), options()).unwrap().snapshot()).len(),
        410
    );
}

#[test]
fn a_flipped_byte_in_a_middle_wal_record_is_an_error_naming_file_and_offset() {
    let dir = tempfile::tempdir().unwrap();
    let wal = store_with_wal(dir.path(), 5);
    let mut bytes = std::fs::read(&wal).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&wal, &bytes).unwrap();
    let err = Store::open(dir.path(), options()).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::Wal(_)), "{msg}");
    assert!(
        msg.contains(&wal.display().to_string()) && msg.contains("offset"),
        "{msg}"
    );
    assert!(!inspect(&wal).status.success());
    assert!(!inspect(dir.path()).status.success());
}

#[test]
fn garbage_appended_to_the_wal_is_never_read_as_data() {
    let dir = tempfile::tempdir().unwrap();
    let wal = store_with_wal(dir.path(), 3);
    let mut bytes = std::fs::read(&wal).unwrap();
    bytes.extend_from_slice(&[0xAB; 37]);
    std::fs::write(&wal, &bytes).unwrap();
    match Store::open(dir.path(), options()) {
        Ok(store) => assert_eq!(id_counts(&store.snapshot()).len(), 300),
        Err(e) => assert!(e.to_string().contains("offset"), "{e}"),
    }
}

#[test]
fn a_flipped_byte_in_a_segment_block_fails_the_scan_and_inspect() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path(), options()).unwrap();
        store
            .append(&impressions(&ids("s", 0..2000), DAY0))
            .unwrap();
        store.flush().unwrap();
    }
    let seg = segment_files(dir.path()).into_iter().next().unwrap();
    assert!(
        inspect(&seg).status.success(),
        "a healthy segment inspects clean"
    );
    assert!(inspect(dir.path()).status.success());
    let mut bytes = std::fs::read(&seg).unwrap();
    bytes[40] ^= 0x10; // inside the first block (event_id of block 0)
    std::fs::write(&seg, &bytes).unwrap();

    let store = Store::open(dir.path(), options()).unwrap();
    let snapshot = store.snapshot();
    let mut ctx = ReadContext::new().unwrap();
    let units = snapshot.plan(&ScanFilter::all(), &mut ctx).unwrap();
    let err = units
        .iter()
        .map(|u| u.read(&adstore_storage::ColumnId::ALL, &mut ctx))
        .find_map(Result::err)
        .expect("the scan must fail");
    assert!(matches!(err, Error::ChecksumMismatch { .. }), "{err}");
    assert!(
        err.to_string().contains(&seg.display().to_string()),
        "{err}"
    );
    let out = inspect(&seg);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("checksum mismatch"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_flipped_byte_in_a_bloom_filter_fails_the_look_ups_that_read_it_and_inspect() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path(), options()).unwrap();
        store
            .append(&impressions(&ids("b", 0..2000), DAY0))
            .unwrap();
        store.flush().unwrap();
    }
    let seg = segment_files(dir.path()).into_iter().next().unwrap();
    let (start, len) = {
        let reader = SegmentReader::open(&seg, SegmentId(0)).unwrap();
        let footer = reader.footer();
        let (_, filters) = footer
            .blooms
            .iter()
            .find(|(c, _)| *c == ColumnId::UserId)
            .unwrap();
        let (rel, len) = filters[0];
        (footer.bloom_offset as usize + rel as usize, len as usize)
    };
    // One bit in every 64-byte block of block 0's user_id filter: whichever a look-up reads.
    let mut bytes = std::fs::read(&seg).unwrap();
    for k in 0..(len - 8) / 68 {
        bytes[start + 8 + 64 * k] ^= 0x01;
    }
    std::fs::write(&seg, &bytes).unwrap();

    let store = Store::open_read_only(dir.path()).unwrap();
    let snapshot = store.snapshot();
    let mut ctx = ReadContext::new().unwrap();
    // A scan without a user_id filter reads no bloom: every row is there.
    let rows: usize = snapshot
        .plan(&ScanFilter::all(), &mut ctx)
        .unwrap()
        .iter()
        .map(|u| u.rows())
        .sum();
    assert_eq!(rows, 2000);
    // The one-user plan reads the damaged filter: an error, not a block wrongly skipped.
    let one_user = ScanFilter::all().string_in(ColumnId::UserId, ["u-1"]);
    let err = snapshot.plan(&one_user, &mut ctx).unwrap_err();
    assert!(matches!(err, Error::Corrupt { .. }), "{err}");
    let text = err.to_string();
    assert!(text.contains(&seg.display().to_string()), "{text}");
    assert!(text.contains("user_id bloom of block 0"), "{text}");
    assert!(text.contains("CRC mismatch"), "{text}");
    let out = inspect(&seg);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("user_id bloom of block 0"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn truncated_or_extended_segments_are_refused_at_open() {
    for damage in ["truncate", "append"] {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path(), options()).unwrap();
            store.append(&impressions(&ids("s", 0..500), DAY0)).unwrap();
            store.flush().unwrap();
        }
        let seg = segment_files(dir.path()).into_iter().next().unwrap();
        let mut bytes = std::fs::read(&seg).unwrap();
        match damage {
            "truncate" => bytes.truncate(bytes.len() - 7),
            _ => bytes.extend_from_slice(b"trailing junk"),
        }
        std::fs::write(&seg, &bytes).unwrap();
        let err = Store::open(dir.path(), options()).unwrap_err();
        assert!(
            err.to_string().contains(&seg.display().to_string()),
            "{damage}: {err}"
        );
        assert!(!inspect(&seg).status.success(), "{damage}");
    }
}

#[test]
fn a_manifest_naming_a_missing_segment_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path(), options()).unwrap();
        store.append(&impressions(&ids("s", 0..500), DAY0)).unwrap();
        store.flush().unwrap();
    }
    let seg = segment_files(dir.path()).into_iter().next().unwrap();
    std::fs::remove_file(&seg).unwrap();
    let err = Store::open(dir.path(), options()).unwrap_err();
    assert!(matches!(err, Error::MissingSegment { .. }), "{err}");
    assert!(err.to_string().contains("missing"), "{err}");
    // A read-only open lists segments without opening them; the first plan that keeps the
    // segment reports it (storage/tests/read_only_opens_segments_lazily.rs).
    let store = Store::open_read_only(dir.path()).unwrap();
    let err = store.snapshot().segments().unwrap_err();
    assert!(matches!(err, Error::MissingSegment { .. }), "{err}");
    let out = inspect(dir.path());
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("missing"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_manifest_from_an_unknown_format_version_fails_clearly() {
    let dir = tempfile::tempdir().unwrap();
    drop(Store::open(dir.path(), options()).unwrap());
    let path = dir.path().join("MANIFEST");
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[4] = 99;
    std::fs::write(&path, &bytes).unwrap();
    let err = Store::open(dir.path(), options()).unwrap_err();
    assert!(
        matches!(err, Error::UnsupportedVersion { version: 99, .. }),
        "{err}"
    );
}
