//! `adstore deadletter`: lists the rejected rows kept in a data directory and counts them per
//! reason. Reads `<data>/deadletter/` only; takes no lock.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;

use adstore_ingest::RejectReason;
use adstore_ingest::deadletter::read_all;
use anyhow::anyhow;

pub fn run(data: &Path, limit: usize, reason: Option<&str>) -> anyhow::Result<ExitCode> {
    let filter = match reason {
        Some(name) => Some(RejectReason::parse(name).ok_or_else(|| {
            anyhow!(
                "unknown reason {name:?}; one of: {}",
                RejectReason::ALL.map(RejectReason::as_str).join(", ")
            )
        })?),
        None => None,
    };
    let all = read_all(data)?;
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for d in &all {
        let name = d.reason().map_or_else(
            || format!("code {}", d.reason_code),
            |r| r.as_str().to_owned(),
        );
        *counts.entry(name).or_default() += 1;
    }
    let selected: Vec<_> = all
        .iter()
        .filter(|d| filter.is_none() || d.reason() == filter)
        .collect();
    for d in selected.iter().take(limit) {
        let reason = d.reason().map_or("unknown", RejectReason::as_str);
        let raw = String::from_utf8_lossy(&d.raw);
        let mut shown = String::new();
        for c in raw.chars().take(160) {
            if c.is_control() {
                shown.extend(c.escape_default());
            } else {
                shown.push(c);
            }
        }
        if raw.chars().count() > 160 {
            shown.push('…');
        }
        println!("{}:{}  {reason}  {}", d.source, d.position, d.detail);
        println!("    {shown}");
    }
    if selected.len() > limit {
        println!("... {} more (use --limit)", selected.len() - limit);
    }
    println!("{} dead letters in {}", all.len(), data.display());
    for (name, n) in &counts {
        println!("  {name:<26}{n:>8}");
    }
    Ok(ExitCode::SUCCESS)
}
