//! `adstore ingest --server`: streams files to a running server as an ingestion agent does.
//!
//! Files are cut into payloads ([`super::chunk`]), each an `AppendRequest` with this run's
//! producer id and the next sequence (starting at the wall clock in ns, so a later run under the
//! same `--producer` is never mistaken for a retry); requests go in client streams of a bounded size. A stream
//! that fails with UNAVAILABLE or RESOURCE_EXHAUSTED (or a transport error) is resent whole after
//! a backoff, with the same sequences: the server skips the requests it already applied, so
//! nothing is counted or stored twice. Requests applied by an attempt whose response was lost
//! are reported as "applied by an earlier attempt" (their row counts are in the server's, not
//! in this summary's).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use adstore_ingest::Format;
use adstore_proto::v1;
use anyhow::{Context, anyhow};
use tonic::Code;

use super::Connection;
use super::chunk::{FileChunk, chunks};

/// What `adstore ingest --server` was asked.
#[derive(Debug)]
pub struct Args {
    /// How to reach the server.
    pub target: super::Target,
    /// Format of every file (default: by extension).
    pub format: Option<Format>,
    /// Producer id (default: unique per run).
    pub producer: Option<String>,
    /// Files and folders.
    pub paths: Vec<PathBuf>,
}

/// Payload bytes per request.
const CHUNK_BYTES: usize = 4 << 20;
/// Requests per client stream (the unit of a retry).
const REQUESTS_PER_STREAM: usize = 16;
/// Attempts per stream before giving up.
const MAX_ATTEMPTS: u32 = 10;

/// Totals over the run.
#[derive(Debug, Default)]
pub struct Summary {
    /// Files sent.
    pub files: usize,
    /// Requests sent (once each, however often retried).
    pub requests: u64,
    /// Payload bytes.
    pub bytes: u64,
    /// Rows stored.
    pub accepted: u64,
    /// Rows dropped as duplicates.
    pub duplicates: u64,
    /// Rows rejected, per reason.
    pub rejected: BTreeMap<String, u64>,
    /// Requests a lost-response attempt had already applied.
    pub applied_earlier: u64,
    /// Streams resent.
    pub retries: u64,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let files = adstore_ingest::pipeline::collect_inputs(&args.paths, args.format)?;
    if files.is_empty() {
        return Err(anyhow!("no input file found in the paths given"));
    }
    let producer = args.producer.unwrap_or_else(default_producer);
    let rt = crate::service::runtime()?;
    let started = Instant::now();
    let summary = rt.block_on(async {
        let conn = Connection::open(&args.target)?;
        send_files(&conn, &files, args.format, &producer).await
    })?;
    let secs = started.elapsed().as_secs_f64().max(1e-9);
    let rejected: u64 = summary.rejected.values().sum();
    println!(
        "sent {} files ({} requests, {:.1} MB) to {} as producer {producer}: {} accepted, {} duplicates, {} rejected, in {secs:.2} s ({:.0} rows/s)",
        summary.files,
        summary.requests,
        summary.bytes as f64 / 1e6,
        args.target.server,
        summary.accepted,
        summary.duplicates,
        rejected,
        (summary.accepted + summary.duplicates + rejected) as f64 / secs,
    );
    for (reason, n) in &summary.rejected {
        println!("  rejected {reason}: {n}");
    }
    if summary.retries > 0 || summary.applied_earlier > 0 {
        println!(
            "  {} streams resent; {} requests had been applied by an earlier attempt (counted by the server once)",
            summary.retries, summary.applied_earlier
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The first sequence of a run: the wall clock in ns. A producer's sequences must grow across
/// runs too (the server skips any sequence at or below the producer's mark), and a run sends
/// far fewer requests than nanoseconds pass before the next run starts.
fn first_sequence() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX / 2))
}

fn default_producer() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("adstore-cli-{}-{nanos}", std::process::id())
}

/// Sends every file; returns the totals.
pub async fn send_files(
    conn: &Connection,
    files: &[PathBuf],
    format: Option<Format>,
    producer: &str,
) -> anyhow::Result<Summary> {
    let mut summary = Summary::default();
    let mut sequence = first_sequence();
    let mut pending = Vec::new();
    for path in files {
        let f = format
            .or_else(|| Format::from_path(path))
            .ok_or_else(|| anyhow!("{}: unknown format (use --format)", path.display()))?;
        let source = path.display().to_string();
        let mut file_chunks = chunks(path, f, CHUNK_BYTES, 60 << 20)?;
        summary.files += 1;
        while let Some(chunk) = tokio::task::block_in_place(|| file_chunks.next()) {
            let FileChunk { data, line_offset } = chunk?;
            let this = sequence;
            sequence += 1;
            summary.bytes += data.len() as u64;
            pending.push(v1::AppendRequest {
                body: Some(v1::append_request::Body::Raw(v1::RawPayload {
                    format: crate::service::convert::format_to_proto(f) as i32,
                    data: data.into(),
                    source: source.clone(),
                    line_offset,
                })),
                producer_id: producer.to_string(),
                sequence: Some(this),
            });
            if pending.len() == REQUESTS_PER_STREAM {
                let requests = std::mem::take(&mut pending);
                send_stream(conn, requests, &mut sequence, &mut summary).await?;
            }
        }
    }
    if !pending.is_empty() {
        send_stream(conn, pending, &mut sequence, &mut summary).await?;
    }
    Ok(summary)
}

/// Sends one stream of requests, resending it whole on a retryable failure.
///
/// A first attempt never carries a request the server has seen, so any it skips as already
/// applied were numbered at or below the producer's mark: the wall clock went back since an
/// earlier run, or another process uses the same `--producer`. Their rows were not stored; they
/// are renumbered above the mark (`sequence` follows) and sent again, never dropped.
async fn send_stream(
    conn: &Connection,
    mut requests: Vec<v1::AppendRequest>,
    sequence: &mut u64,
    summary: &mut Summary,
) -> anyhow::Result<()> {
    let mut backoff = Duration::from_millis(100);
    let mut attempt = 0;
    let mut renumbered = 0;
    while attempt < MAX_ATTEMPTS {
        attempt += 1;
        let stream = tokio_stream::iter(requests.clone());
        match conn.ingest().append(stream).await {
            Ok(resp) => {
                let r = resp.into_inner();
                summary.requests += requests.len() as u64;
                summary.accepted += r.accepted;
                summary.duplicates += r.duplicates;
                for c in r.rejected_by_reason {
                    *summary.rejected.entry(c.reason).or_default() += c.count;
                }
                if attempt > 1 {
                    summary.applied_earlier += r.already_applied;
                    return Ok(());
                }
                let behind = usize::try_from(r.already_applied).unwrap_or(usize::MAX);
                if behind == 0 {
                    return Ok(());
                }
                renumbered += 1;
                if renumbered > MAX_ATTEMPTS {
                    return Err(anyhow!(
                        "producer {:?}: the server's mark keeps moving past this run's sequences (is another process using the same --producer?)",
                        requests[0].producer_id
                    ));
                }
                // Skipped requests come first: sequences grow along the stream.
                let mut next = r.high_water_sequence.max(*sequence - 1) + 1;
                tracing::warn!(
                    skipped = behind,
                    high_water = r.high_water_sequence,
                    renumbered_from = next,
                    "the server's mark for this producer is ahead of this run's sequences; resending the skipped requests above it"
                );
                requests.truncate(behind.min(requests.len()));
                for req in &mut requests {
                    req.sequence = Some(next);
                    next += 1;
                }
                *sequence = next;
                summary.requests -= requests.len() as u64;
                attempt = 0;
                backoff = Duration::from_millis(100);
            }
            Err(status) if retryable(status.code()) && attempt < MAX_ATTEMPTS => {
                let hint = status
                    .metadata()
                    .get("retry-after-ms")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<u64>().ok())
                    .map(Duration::from_millis);
                let wait = hint.unwrap_or(backoff).max(backoff);
                tracing::warn!(code = ?status.code(), message = status.message(), attempt, wait_ms = wait.as_millis() as u64,
                    "append failed; resending the stream (already applied requests are skipped by the server)");
                summary.retries += 1;
                tokio::time::sleep(wait).await;
                backoff = (backoff * 2).min(Duration::from_secs(10));
            }
            Err(status) => {
                return Err(anyhow!(
                    "append failed: {:?}: {}",
                    status.code(),
                    status.message()
                ))
                .context("ingest over gRPC");
            }
        }
    }
    Err(anyhow!("append failed after {MAX_ATTEMPTS} attempts"))
}

fn retryable(code: Code) -> bool {
    matches!(
        code,
        Code::Unavailable | Code::ResourceExhausted | Code::Unknown | Code::Aborted
    )
}
