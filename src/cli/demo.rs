//! `adstore demo`: the main job on the embedded default. Generates a day of AdvertiseX traffic
//! (as `adstore gen` does), starts the gRPC server on loopback, streams the three formats in over
//! gRPC as three ingestion agents would, prints a campaign performance report obtained over gRPC,
//! then keeps serving, printing how to query it, until Ctrl-C (or exits after the report with
//! `--exit-after-report`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use adstore::output::{OutputFormat, write_batches};
use adstore_ingest::generator::{GenOptions, generate};
use adstore_proto::v1;
use anyhow::Context;

use crate::client::{Connection, Target};
use crate::service::{Overrides, ServeConfig, Server};

/// What `adstore demo` was asked.
#[derive(Debug)]
pub struct Args {
    pub data: PathBuf,
    pub impressions: u64,
    pub seed: u64,
    pub grpc: String,
    pub metrics: String,
    pub exit_after_report: bool,
}

/// Top campaigns by spend, with the delivery and outcome metrics of the report.
const REPORT_SQL: &str = "SELECT campaign_id, \
countIf(event_type = 'impression') AS impressions, \
countIf(event_type = 'click') AS clicks, \
countIf(event_type = 'conversion') AS conversions, \
sum(cost_micros) / 1e6 AS spend, \
sum(revenue_micros) / 1e6 AS revenue, \
ctr() AS ctr, cvr() AS cvr, cpa() AS cpa, roas() AS roas \
FROM events GROUP BY campaign_id ORDER BY spend DESC, campaign_id LIMIT 10";

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let input = args.data.join("demo-input");
    let started = Instant::now();
    let truth = generate(
        &input,
        &GenOptions {
            impressions: args.impressions,
            seed: args.seed,
            days: 1,
            ..GenOptions::default()
        },
    )
    .context("generating traffic")?;
    println!(
        "generated a day of traffic in {}: {} rows in {} files ({:.2} s)",
        input.display(),
        truth.rows_written,
        truth.files.len(),
        started.elapsed().as_secs_f64()
    );
    let config = ServeConfig::load(
        None,
        Overrides {
            data: Some(args.data.join("store")),
            grpc: Some(args.grpc.clone()),
            metrics: Some(args.metrics.clone()),
            insecure: false,
        },
    )?;
    let rt = crate::service::runtime()?;
    rt.block_on(async {
        let server = Server::start(config).await?;
        let result = demo(&server, &input, &truth.files).await;
        if result.is_ok() && !args.exit_after_report {
            crate::service::termination_signal().await;
        }
        let shutdown = server.shutdown().await;
        result.and(shutdown)
    })?;
    Ok(ExitCode::SUCCESS)
}

async fn demo(server: &Server, input: &Path, files: &[String]) -> anyhow::Result<()> {
    let addr = server.grpc_addr.to_string();
    println!(
        "serving gRPC on {addr}, metrics on http://{}/metrics",
        server.metrics_addr
    );
    let conn = Connection::open(&Target {
        server: addr.clone(),
        ..Target::default()
    })?;

    // Three agents, one per format, streaming concurrently.
    let started = Instant::now();
    let agents = files.iter().map(|f| {
        let conn = conn.clone();
        let path = input.join(f);
        let f = f.clone();
        async move {
            let producer = format!("demo-agent-{f}");
            let summary = crate::client::ingest::send_files(
                &conn,
                std::slice::from_ref(&path),
                None,
                &producer,
            )
            .await?;
            anyhow::Ok((f, summary))
        }
    });
    let summaries = futures_join_all(agents).await?;
    let secs = started.elapsed().as_secs_f64().max(1e-9);
    let mut rows = 0;
    for (file, s) in &summaries {
        let rejected: u64 = s.rejected.values().sum();
        rows += s.accepted + s.duplicates + rejected;
        println!(
            "  agent {file}: {} requests, {} accepted, {} duplicates, {} rejected (kept as dead letters)",
            s.requests, s.accepted, s.duplicates, rejected
        );
    }
    println!(
        "streamed {rows} rows over gRPC in {secs:.2} s ({:.0} rows/s), each acknowledged after its WAL fsync",
        rows as f64 / secs
    );
    let flushed = conn
        .admin()
        .flush(v1::FlushRequest {})
        .await
        .map_err(|s| anyhow::anyhow!("Flush: {}", s.message()))?
        .into_inner();
    println!(
        "flushed: {} rows in {} segments",
        flushed.segment_rows, flushed.segments
    );

    let (schema, batches, _) = crate::client::query::sql(&conn, REPORT_SQL, 0).await?;
    println!("\ntop campaigns by spend (Sql over gRPC; spend and revenue in currency units):\n");
    let mut out = Vec::new();
    write_batches(OutputFormat::Table, &schema, &batches, &mut out)?;
    print!("{}", String::from_utf8_lossy(&out));
    println!(
        "\nthe server keeps running until Ctrl-C; query it from another terminal:\n  \
         adstore query --server {addr} \"SELECT event_type, count() FROM events GROUP BY event_type\"\n  \
         adstore query --server {addr} --format json \"SELECT campaign_id, ctr(), roas() FROM events GROUP BY campaign_id ORDER BY roas() DESC LIMIT 5\"\n  \
         adstore ingest --server {addr} {}\n  \
         grpcurl -plaintext {addr} list\n  \
         curl -s http://{}/metrics | grep adstore_",
        input.display(),
        server.metrics_addr
    );
    Ok(())
}

/// Awaits every future concurrently, failing with the first error.
async fn futures_join_all<T>(
    futures: impl Iterator<Item = impl std::future::Future<Output = anyhow::Result<T>> + Send + 'static>,
) -> anyhow::Result<Vec<T>>
where
    T: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        out.push(h.await.context("agent task")??);
    }
    Ok(out)
}
