//! `adstore gen`: a deterministic week of AdvertiseX traffic in the three input formats plus
//! `truth.json`. A thin layer on `adstore_ingest::generator`.

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use adstore_ingest::generator::{GenOptions, generate};

pub fn run(out: &Path, impressions: u64, seed: u64, days: u32) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let truth = generate(
        out,
        &GenOptions {
            impressions,
            seed,
            days,
            ..GenOptions::default()
        },
    )?;
    println!(
        "wrote {} files and truth.json to {} in {:.2} s",
        truth.files.len(),
        out.display(),
        started.elapsed().as_secs_f64()
    );
    println!(
        "  {} rows: {} distinct events ({}), {} resent duplicates, {} malformed",
        truth.rows_written,
        truth.accepted_total,
        truth
            .accepted_by_type
            .iter()
            .map(|(t, n)| format!("{n} {t}"))
            .collect::<Vec<_>>()
            .join(", "),
        truth.duplicates,
        truth.rejected_total
    );
    Ok(ExitCode::SUCCESS)
}
