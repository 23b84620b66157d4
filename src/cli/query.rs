//! `adstore query`: runs one SQL query of the supported subset (`docs/QUERY.md`) on a data
//! directory and prints the answer ([`crate::output`] formats).
//!
//! The store is opened read-only ([`Store::open_read_only`]): no writer lock, no dedup index,
//! nothing on disk changed, so it works beside a running server and starts fast; acknowledged
//! events still in the WAL are replayed into memory and answered too. Segments are opened only
//! when the query's pruning keeps them; if a running writer merged one away meanwhile
//! (`StaleSnapshot`), the store is opened again and the query rerun.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use adstore::output::{OutputFormat, write_batches};
use adstore_query::{ExecOptions, execute, parse_sql};
use adstore_storage::Store;
use anyhow::Context;

/// Parses `sql`, opens `data` read-only, runs the query and prints the result to stdout.
pub fn run(
    data: &Path,
    format: OutputFormat,
    threads: Option<usize>,
    sql: &str,
) -> anyhow::Result<ExitCode> {
    /// Reruns after a writer's compaction raced the query: each needs a new compaction to
    /// land between our manifest read and a segment open, so a few attempts suffice.
    const ATTEMPTS: usize = 5;
    let query = parse_sql(sql)?;
    let options = ExecOptions {
        threads: threads.unwrap_or(0),
    };
    let mut attempt = 1;
    let (store, result) = loop {
        let store = Store::open_read_only(data)
            .with_context(|| format!("opening {} read-only", data.display()))?;
        match execute(&store.snapshot(), &query, &options) {
            Err(adstore_query::Error::Storage(
                e @ adstore_storage::Error::StaleSnapshot { .. },
            )) if attempt < ATTEMPTS => {
                tracing::debug!(error = %e, attempt, "rerunning on a fresh view");
                attempt += 1;
            }
            r => break (store, r?),
        }
    };
    tracing::debug!(stats = ?result.stats, rows = result.num_rows(), "query done");
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let written = write_batches(format, &result.schema, &result.batches, &mut out)
        .and_then(|()| out.flush().map_err(Into::into));
    // The process exits next: unmapping every segment one munmap at a time would cost more
    // than the kernel's tear-down of the whole address space.
    std::mem::forget(store);
    match written {
        Ok(()) => Ok(ExitCode::SUCCESS),
        // `adstore query ... | head`: the reader has what it wanted.
        Err(e)
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Err(e),
    }
}
