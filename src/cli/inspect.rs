//! `adstore inspect PATH`: describes and verifies a data directory, a segment or a WAL file.

use std::path::Path;
use std::process::ExitCode;

use adstore_storage::schema::ColumnId;
use adstore_storage::segment::{SegmentId, SegmentReader};
use adstore_storage::store::WAL_DIR;
use adstore_storage::wal::{list_wal_files, read_wal_file};
use adstore_storage::{ReadContext, Store};
use anyhow::{Context, bail};

pub fn run(path: &Path, blocks: bool) -> anyhow::Result<ExitCode> {
    if path.is_dir() {
        inspect_dir(path, blocks)
    } else {
        match path.extension().and_then(|e| e.to_str()) {
            Some("seg") => inspect_segment(path, true, blocks).map(|_| ExitCode::SUCCESS),
            Some("wal") => inspect_wal(path).map(|_| ExitCode::SUCCESS),
            _ => bail!(
                "{}: not a data directory, .seg or .wal file",
                path.display()
            ),
        }
    }
}

fn inspect_dir(dir: &Path, blocks: bool) -> anyhow::Result<ExitCode> {
    let store = Store::open_read_only(dir).with_context(|| format!("opening {}", dir.display()))?;
    let stats = store.stats();
    println!("data directory {}", dir.display());
    println!(
        "  buckets/day {}  segments {}  segment rows {}  segment bytes {}  memtable rows (from WAL) {}  WAL bytes {}",
        store.bucket_count(),
        stats.segments,
        stats.segment_rows,
        stats.segment_bytes,
        stats.memtable_rows,
        stats.wal_bytes
    );
    println!(
        "  {:<18} {:>12} {:>9} {:>14}",
        "partition", "rows", "segments", "bytes"
    );
    for (p, rows, segs, bytes) in &stats.partitions {
        println!("  {:<18} {rows:>12} {segs:>9} {bytes:>14}", p.to_string());
    }
    let segments = store.snapshot().segments()?;
    let mut totals = vec![(0u64, 0u64); ColumnId::ALL.len()];
    for s in &segments {
        let sizes = inspect_segment(s.path(), false, blocks)?;
        for (i, (_, stored, raw)) in sizes.into_iter().enumerate() {
            totals[i].0 += stored;
            totals[i].1 += raw;
        }
    }
    if !segments.is_empty() {
        print_column_sizes(&totals, stats.segment_rows);
    }
    for (_, path) in list_wal_files(&dir.join(WAL_DIR))? {
        inspect_wal(&path)?;
    }
    println!(
        "all CRCs verified: {} segments, WAL files in {}",
        segments.len(),
        dir.join(WAL_DIR).display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Verifies one segment; prints its footer (and block index when asked); returns per-column
/// (column, stored bytes, raw bytes).
fn inspect_segment(
    path: &Path,
    print_sizes: bool,
    blocks: bool,
) -> anyhow::Result<Vec<(ColumnId, u64, u64)>> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let id = SegmentId::from_file_name(name).unwrap_or(SegmentId(0));
    let reader = SegmentReader::open(path, id)?;
    let mut ctx = ReadContext::new()?;
    let sizes = reader.verify(&mut ctx)?;
    let f = reader.footer();
    println!(
        "segment {} format {} partition {} rows {} blocks {}x{} ts [{}, {}] bytes {} keys-blocks {} bloom-bytes {} site-rollups {} ({} sites, {} bytes): CRCs ok",
        path.display(),
        f.format_version,
        f.partition,
        f.rows,
        f.block_count,
        f.block_rows,
        f.min_ts,
        f.max_ts,
        reader.file_len(),
        f.key_blocks.len(),
        f.bloom_len,
        f.rollups.len(),
        f.rollups.iter().map(|r| u64::from(r.sites)).sum::<u64>(),
        f.rollups.iter().map(|r| u64::from(r.len)).sum::<u64>()
    );
    if blocks {
        for col in ColumnId::ALL {
            let meta = &f.columns[col.index()];
            for (b, m) in meta.blocks.iter().enumerate() {
                println!(
                    "    {col:<22} block {b:>4} offset {:>10} len {:>8} min {:>20} max {:>20}",
                    m.offset, m.len, m.min, m.max
                );
            }
        }
    }
    if print_sizes {
        let totals: Vec<(u64, u64)> = sizes.iter().map(|&(_, s, r)| (s, r)).collect();
        print_column_sizes(&totals, f.rows);
    }
    Ok(sizes)
}

fn print_column_sizes(totals: &[(u64, u64)], rows: u64) {
    println!(
        "  {:<22} {:>14} {:>14} {:>8} {:>12}",
        "column", "stored bytes", "raw bytes", "ratio", "bytes/row"
    );
    let (mut s_all, mut r_all) = (0u64, 0u64);
    for (col, (stored, raw)) in ColumnId::ALL.iter().zip(totals) {
        s_all += stored;
        r_all += raw;
        println!(
            "  {:<22} {stored:>14} {raw:>14} {:>8.2} {:>12.2}",
            col.name(),
            *raw as f64 / (*stored).max(1) as f64,
            *stored as f64 / rows.max(1) as f64
        );
    }
    println!(
        "  {:<22} {s_all:>14} {r_all:>14} {:>8.2} {:>12.2}",
        "total (columns)",
        r_all as f64 / s_all.max(1) as f64,
        s_all as f64 / rows.max(1) as f64
    );
}

fn inspect_wal(path: &Path) -> anyhow::Result<()> {
    let c = read_wal_file(path)?;
    let rows: usize = c.records.iter().map(|r| r.batch.len()).sum();
    let lsns = match (c.records.first(), c.records.last()) {
        (Some(a), Some(b)) => format!("LSN {}..={}", a.lsn, b.lsn),
        _ => "no records".to_owned(),
    };
    println!(
        "wal {}: {} records, {lsns}, {rows} rows, {} bytes: CRCs ok",
        path.display(),
        c.records.len(),
        c.file_len
    );
    if let Some(reason) = c.torn_tail {
        println!(
            "  torn tail after offset {} ({reason}): never acknowledged; the writer truncates it on open",
            c.valid_len
        );
    }
    Ok(())
}
