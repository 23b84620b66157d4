//! Prometheus metrics: [`Metrics`], the service's counters, rendered with the store's figures in
//! the Prometheus text exposition format at `GET /metrics` (served by [`serve_metrics`]).

use std::fmt::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use adstore_ingest::RejectReason;
use adstore_storage::Store;
use adstore_storage::histogram::{BUCKET_BOUNDS_MICROS, HistogramSnapshot, LatencyHistogram};

/// Where ingested rows came from.
#[derive(Debug, Clone, Copy)]
pub enum Source {
    /// Raw JSON Lines.
    JsonLines = 0,
    /// Raw CSV.
    Csv = 1,
    /// Raw Avro.
    Avro = 2,
    /// Typed events.
    Typed = 3,
}

const SOURCES: [&str; 4] = ["json_lines", "csv", "avro", "typed"];
const OUTCOMES: [&str; 3] = ["accepted", "duplicate", "rejected"];

/// What a query was.
#[derive(Debug, Clone, Copy)]
pub enum QueryKind {
    /// `Sql`.
    Sql = 0,
    /// `Aggregate`.
    Aggregate = 1,
}

/// The service's own counters (the store's figures are read when rendering).
#[derive(Debug, Default)]
pub struct Metrics {
    rows: [[AtomicU64; 3]; 4],
    rejects: [AtomicU64; RejectReason::ALL.len()],
    already_applied: AtomicU64,
    resource_exhausted: AtomicU64,
    inflight_streams: AtomicU64,
    append_latency: LatencyHistogram,
    query_latency: [LatencyHistogram; 2],
    query_errors: [AtomicU64; 2],
}

impl Metrics {
    /// Counts rows of one request.
    pub fn rows(&self, source: Source, accepted: u64, duplicates: u64, rejected: u64) {
        let r = &self.rows[source as usize];
        r[0].fetch_add(accepted, Ordering::Relaxed);
        r[1].fetch_add(duplicates, Ordering::Relaxed);
        r[2].fetch_add(rejected, Ordering::Relaxed);
    }

    /// Counts one rejected row.
    pub fn reject(&self, reason: RejectReason) {
        if let Some(i) = RejectReason::ALL.iter().position(|r| *r == reason) {
            self.rejects[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counts a request skipped as already applied.
    pub fn already_applied(&self) {
        self.already_applied.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts an append refused for backpressure.
    pub fn resource_exhausted(&self) {
        self.resource_exhausted.fetch_add(1, Ordering::Relaxed);
    }

    /// Records the latency of one durable append.
    pub fn append_latency(&self, d: std::time::Duration) {
        self.append_latency.record(d);
    }

    /// Records one query.
    pub fn query(&self, kind: QueryKind, d: std::time::Duration, ok: bool) {
        self.query_latency[kind as usize].record(d);
        if !ok {
            self.query_errors[kind as usize].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Marks a stream in flight until the guard drops.
    pub fn stream(self: &Arc<Self>) -> StreamGuard {
        self.inflight_streams.fetch_add(1, Ordering::Relaxed);
        StreamGuard(Arc::clone(self))
    }

    /// The exposition text.
    pub fn render(&self, store: &Store) -> String {
        let mut out = String::with_capacity(8192);
        let stats = store.stats();
        let hist = store.latency_histograms();
        header(
            &mut out,
            "adstore_rows_ingested_total",
            "counter",
            "Rows received over gRPC, by input and outcome.",
        );
        for (s, name) in SOURCES.iter().enumerate() {
            for (o, outcome) in OUTCOMES.iter().enumerate() {
                let v = self.rows[s][o].load(Ordering::Relaxed);
                let _ = writeln!(
                    out,
                    "adstore_rows_ingested_total{{format=\"{name}\",outcome=\"{outcome}\"}} {v}"
                );
            }
        }
        header(
            &mut out,
            "adstore_dedup_hits_total",
            "counter",
            "Rows dropped as duplicates of a stored event_id (since the store opened).",
        );
        let _ = writeln!(out, "adstore_dedup_hits_total {}", stats.duplicates);
        header(
            &mut out,
            "adstore_rejects_total",
            "counter",
            "Rows rejected, by reason.",
        );
        for (i, reason) in RejectReason::ALL.iter().enumerate() {
            let v = self.rejects[i].load(Ordering::Relaxed);
            let _ = writeln!(out, "adstore_rejects_total{{reason=\"{reason}\"}} {v}");
        }
        header(
            &mut out,
            "adstore_requests_already_applied_total",
            "counter",
            "Append requests skipped: their (producer, sequence) was applied before.",
        );
        let _ = writeln!(
            out,
            "adstore_requests_already_applied_total {}",
            self.already_applied.load(Ordering::Relaxed)
        );
        header(
            &mut out,
            "adstore_append_resource_exhausted_total",
            "counter",
            "Appends refused because the store queue stayed full.",
        );
        let _ = writeln!(
            out,
            "adstore_append_resource_exhausted_total {}",
            self.resource_exhausted.load(Ordering::Relaxed)
        );
        histogram(
            &mut out,
            "adstore_wal_fsync_seconds",
            "WAL fsync latency.",
            &[("", &hist.wal_fsync)],
        );
        histogram(
            &mut out,
            "adstore_flush_seconds",
            "Memtable flush duration.",
            &[("", &hist.flush)],
        );
        histogram(
            &mut out,
            "adstore_append_seconds",
            "Append request latency, decode to durable.",
            &[("", &self.append_latency.snapshot())],
        );
        let sql = self.query_latency[0].snapshot();
        let agg = self.query_latency[1].snapshot();
        histogram(
            &mut out,
            "adstore_query_seconds",
            "Query latency by kind.",
            &[("kind=\"sql\"", &sql), ("kind=\"aggregate\"", &agg)],
        );
        header(
            &mut out,
            "adstore_query_errors_total",
            "counter",
            "Queries that failed, by kind.",
        );
        for (i, kind) in ["sql", "aggregate"].iter().enumerate() {
            let _ = writeln!(
                out,
                "adstore_query_errors_total{{kind=\"{kind}\"}} {}",
                self.query_errors[i].load(Ordering::Relaxed)
            );
        }
        let gauges: [(&str, &str, u64); 8] = [
            (
                "adstore_segments",
                "Live segment files.",
                stats.segments as u64,
            ),
            (
                "adstore_segment_rows",
                "Rows in segments.",
                stats.segment_rows,
            ),
            (
                "adstore_segment_bytes",
                "Bytes of live segment files.",
                stats.segment_bytes,
            ),
            ("adstore_wal_bytes", "Bytes of WAL files.", stats.wal_bytes),
            (
                "adstore_disk_bytes",
                "Bytes on disk: segments and WAL.",
                stats.segment_bytes + stats.wal_bytes,
            ),
            (
                "adstore_memtable_rows",
                "Rows in memtables, not yet in segments.",
                stats.memtable_rows,
            ),
            (
                "adstore_dedup_memory_bytes",
                "Heap bytes of the dedup index.",
                stats.dedup_memory_bytes,
            ),
            (
                "adstore_inflight_streams",
                "gRPC ingest and query calls in progress.",
                self.inflight_streams.load(Ordering::Relaxed),
            ),
        ];
        for (name, help, v) in gauges {
            header(&mut out, name, "gauge", help);
            let _ = writeln!(out, "{name} {v}");
        }
        out
    }
}

/// Decrements the in-flight gauge when dropped.
#[derive(Debug)]
pub struct StreamGuard(Arc<Metrics>);

impl Drop for StreamGuard {
    fn drop(&mut self) {
        self.0.inflight_streams.fetch_sub(1, Ordering::Relaxed);
    }
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

fn histogram(out: &mut String, name: &str, help: &str, series: &[(&str, &HistogramSnapshot)]) {
    header(out, name, "histogram", help);
    for (labels, h) in series {
        let sep = if labels.is_empty() { "" } else { "," };
        let mut cumulative = 0u64;
        for (i, bound) in BUCKET_BOUNDS_MICROS.iter().enumerate() {
            cumulative += h.buckets.get(i).copied().unwrap_or(0);
            let le = *bound as f64 / 1e6;
            let _ = writeln!(
                out,
                "{name}_bucket{{{labels}{sep}le=\"{le}\"}} {cumulative}"
            );
        }
        let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}", h.count);
        let braces = if labels.is_empty() {
            String::new()
        } else {
            format!("{{{labels}}}")
        };
        let _ = writeln!(out, "{name}_sum{braces} {}", h.sum_nanos as f64 / 1e9);
        let _ = writeln!(out, "{name}_count{braces} {}", h.count);
    }
}

/// Serves `GET /metrics` on `listener` until `shutdown` resolves.
pub async fn serve_metrics(
    listener: tokio::net::TcpListener,
    metrics: Arc<Metrics>,
    store: Arc<Store>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::routing::get;
    let app = axum::Router::new().route(
        "/metrics",
        get(move || {
            let metrics = Arc::clone(&metrics);
            let store = Arc::clone(&store);
            async move {
                let body = tokio::task::spawn_blocking(move || metrics.render(&store))
                    .await
                    .unwrap_or_default();
                (
                    [(
                        axum::http::header::CONTENT_TYPE,
                        "text/plain; version=0.0.4; charset=utf-8",
                    )],
                    body,
                )
            }
        }),
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}
