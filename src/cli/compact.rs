//! `adstore compact`: flush, then merge every partition's segments into one, locally (taking
//! the writer lock) or through a running server's `AdminService.Compact`.

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use adstore_proto::v1;
use adstore_storage::{Store, StoreOptions};
use anyhow::Context;

use crate::client::{Connection, Target};

pub fn run(data: &Path) -> anyhow::Result<ExitCode> {
    let start = Instant::now();
    let store = Store::open(
        data,
        StoreOptions {
            // Nothing is appended: no flush or compaction should start behind our back.
            background_flush: false,
            ..StoreOptions::default()
        },
    )
    .with_context(|| format!("opening {}", data.display()))?;
    let before = store.stats().segments;
    store.flush().context("flushing the WAL's rows")?;
    let merged = store.compact_all().context("compacting")?;
    let stats = store.stats();
    store.close().context("closing the store")?;
    println!(
        "compacted {}: {before} segments before, {merged} merged away, {} segments ({} partitions, {} rows) in {:.2} s",
        data.display(),
        stats.segments,
        stats.partitions.len(),
        stats.segment_rows,
        start.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

pub fn run_remote(target: &Target) -> anyhow::Result<ExitCode> {
    let start = Instant::now();
    let rt = crate::service::runtime()?;
    let r = rt.block_on(async {
        let conn = Connection::open(target)?;
        let r = conn
            .admin()
            .compact(v1::CompactRequest {})
            .await
            .with_context(|| format!("Compact on {}", target.server))?;
        anyhow::Ok(r.into_inner())
    })?;
    println!(
        "compacted on {}: {} merged away, {} segments ({} rows) in {:.2} s",
        target.server,
        r.merged_segments,
        r.segments,
        r.segment_rows,
        start.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}
