//! Crash test: a child process appends batches in a loop, printing each acknowledged batch id;
//! the parent SIGKILLs it at random moments, including inside the WAL write, the segment write
//! and the manifest replacement (the child sleeps at those crash points so the kill lands there),
//! then reopens the store and checks: every acknowledged event is present exactly once, nothing
//! that was never sent is present, and a second reopen gives the same content.
//!
//! The child is this same test binary, re-run with `ADSTORE_CRASH_CHILD` set.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a panic is a test failure"
)]

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use adstore_storage::hooks::{CrashHook, CrashPoint};
use adstore_storage::{EventBatch, EventRef, EventType, Store, StoreOptions};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const ROWS_PER_BATCH: usize = 300;
const CHILD_ENV: &str = "ADSTORE_CRASH_CHILD";

fn batch(id: u64) -> EventBatch {
    let ids: Vec<String> = (0..ROWS_PER_BATCH).map(|j| format!("b{id}-{j}")).collect();
    let campaigns: Vec<String> = (0..ROWS_PER_BATCH)
        .map(|j| format!("cmp-{}", (id as usize + j) % 7))
        .collect();
    EventBatch::from_events(ids.iter().zip(&campaigns).enumerate().map(|(j, (e, c))| {
        // Two days, so flushes write several partitions.
        let ts = common::DAY0 + (id as i64 % 2) * 86_400_000_000 + j as i64 * 1_000;
        let mut ev = EventRef::new(e, EventType::Impression, ts, c);
        ev.cost_micros = id as i64;
        ev
    }))
}

/// The child: appends batches `start..` forever; resends an older batch now and then (which must
/// be dropped as duplicates); sleeps at crash points chosen by the parent.
#[test]
fn crash_child() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return;
    };
    let start: u64 = std::env::var("ADSTORE_CRASH_START")
        .unwrap()
        .parse()
        .unwrap();
    let pause_at = std::env::var("ADSTORE_CRASH_PAUSE").unwrap_or_default();
    let hook = CrashHook(Arc::new(move |p: CrashPoint| {
        if p.to_string() == pause_at {
            println!("AT {p}");
            std::io::stdout().flush().unwrap();
            std::thread::sleep(Duration::from_millis(300));
        }
    }));
    let options = StoreOptions {
        flush_rows: 2_000,
        crash_hook: Some(hook),
        bucket_count: 4,
        ..StoreOptions::default()
    };
    let store = Store::open(&dir, options).unwrap();
    let mut out = std::io::stdout();
    for id in start.. {
        store.append(&batch(id)).unwrap();
        writeln!(out, "ACK {id}").unwrap();
        out.flush().unwrap();
        if id % 5 == 4 && id >= start + 3 {
            // A resend of an older, acknowledged batch: nothing of it may be stored again.
            let outcome = store.append(&batch(id - 3)).unwrap();
            assert_eq!(
                outcome.accepted,
                0,
                "resent batch {} was stored again",
                id - 3
            );
        }
    }
}

#[test]
fn acknowledged_batches_survive_sigkill_exactly_once() {
    if std::env::var(CHILD_ENV).is_ok() {
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let windows = [
        "wal-mid-record",
        "segment-mid-write",
        "manifest-temp-written",
        "manifest-renamed",
        "",
    ];
    let mut kills_by_window: BTreeMap<&str, usize> = BTreeMap::new();
    for seed in 0..8u64 {
        let dir = tempfile::tempdir().unwrap();
        let mut rng = StdRng::seed_from_u64(seed);
        let mut acked: Vec<u64> = Vec::new();
        let mut next_start = 0u64;
        for round in 0..4usize {
            let window = windows[(seed as usize + round) % windows.len()];
            let mut child = Command::new(&exe)
                .args(["crash_child", "--exact", "--nocapture", "--test-threads=1"])
                .env(CHILD_ENV, dir.path())
                .env("ADSTORE_CRASH_START", next_start.to_string())
                .env("ADSTORE_CRASH_PAUSE", window)
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let stdout = child.stdout.take().unwrap();
            let mut lines = BufReader::new(stdout).lines();
            // Kill after a random number of acks, or, when a window is targeted, as soon as the
            // child reports it is inside it (it sleeps there).
            let min_acks = rng.random_range(3..30usize);
            let deadline = Instant::now() + Duration::from_secs(60);
            let mut acks_this_run = 0;
            let mut in_window = false;
            while let Some(Ok(line)) = lines.next() {
                if let Some(id) = line.strip_prefix("ACK ") {
                    acked.push(id.parse().unwrap());
                    acks_this_run += 1;
                    if window.is_empty() && acks_this_run >= min_acks {
                        break;
                    }
                } else if line.starts_with("AT ") && acks_this_run >= 2 {
                    in_window = true;
                    break;
                }
                assert!(Instant::now() < deadline, "child made no progress");
            }
            child.kill().unwrap();
            // Acks printed before the kill landed are acknowledged too.
            for line in lines.map_while(Result::ok) {
                if let Some(id) = line.strip_prefix("ACK ") {
                    acked.push(id.parse().unwrap());
                }
            }
            child.wait().unwrap();
            *kills_by_window
                .entry(if in_window { window } else { "random" })
                .or_default() += 1;
            let sent_up_to = acked.iter().max().map_or(0, |m| m + 1);
            next_start = sent_up_to + 1;
            verify(dir.path(), &acked, sent_up_to);
        }
    }
    eprintln!("kills per window: {kills_by_window:?}");
    for w in [
        "wal-mid-record",
        "segment-mid-write",
        "manifest-temp-written",
        "manifest-renamed",
    ] {
        assert!(
            kills_by_window.get(w).copied().unwrap_or(0) >= 2,
            "too few kills in {w}: {kills_by_window:?}"
        );
    }
    assert!(kills_by_window.values().sum::<usize>() >= 30);
}

/// Reopens twice: every acked row exactly once, no row of a batch never sent, same content.
fn verify(dir: &std::path::Path, acked: &[u64], sent_up_to: u64) {
    let first = {
        let store = Store::open(
            dir,
            StoreOptions {
                background_flush: false,
                ..StoreOptions::default()
            },
        )
        .unwrap();
        let counts = common::id_counts(&store.snapshot());
        for (id, n) in &counts {
            assert_eq!(*n, 1, "{id} stored {n} times");
            let batch: u64 = id[1..id.find('-').unwrap()].parse().unwrap();
            assert!(
                batch <= sent_up_to,
                "{id} belongs to batch {batch}, never sent (last sent {sent_up_to})"
            );
        }
        for &b in acked {
            for j in 0..ROWS_PER_BATCH {
                assert!(
                    counts.contains_key(&format!("b{b}-{j}")),
                    "acknowledged b{b}-{j} lost"
                );
            }
        }
        common::rows(&store)
    };
    let store = Store::open(
        dir,
        StoreOptions {
            background_flush: false,
            ..StoreOptions::default()
        },
    )
    .unwrap();
    assert_eq!(
        common::rows(&store),
        first,
        "a second reopen changed the content"
    );
}
