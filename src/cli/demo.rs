//! `adstore demo`: the main job on the embedded default, for now: synthetic traffic into a store,
//! a flush, and an inspection of what landed on disk.

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use adstore::synth::{Synth, SynthConfig};
use adstore_storage::{Store, StoreOptions};
use anyhow::Context;

pub fn run(data: &Path, impressions: u64, seed: u64) -> anyhow::Result<ExitCode> {
    let store = Store::open(data, StoreOptions::default())
        .with_context(|| format!("opening store {}", data.display()))?;
    let mut synth = Synth::new(SynthConfig {
        seed,
        ..SynthConfig::default()
    });
    let started = Instant::now();
    let (mut accepted, mut duplicates, mut rows) = (0u64, 0u64, 0u64);
    let mut left = impressions;
    while left > 0 {
        let n = left.min(10_000);
        let batch = synth.batch(usize::try_from(n).unwrap_or(10_000));
        rows += batch.len() as u64;
        let outcome = store.append(&batch).context("append")?;
        accepted += outcome.accepted;
        duplicates += outcome.duplicates;
        left -= n;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "appended {rows} events ({accepted} accepted, {duplicates} duplicates) in {secs:.2} s: {:.0} events/s, durable",
        rows as f64 / secs.max(1e-9)
    );
    let flush_started = Instant::now();
    store.flush().context("flush")?;
    println!(
        "flushed to segments in {:.2} s",
        flush_started.elapsed().as_secs_f64()
    );
    let stats = store.stats();
    store.close().context("close")?;
    println!(
        "store {}: {} rows in {} segments, {} bytes ({:.1} bytes/event)\n",
        data.display(),
        stats.segment_rows,
        stats.segments,
        stats.segment_bytes,
        stats.segment_bytes as f64 / (stats.segment_rows.max(1)) as f64
    );
    super::inspect::run(data, false)
}
