//! Argument parsing and dispatch for the `adstore` binary.

mod compact;
mod deadletter;
mod demo;
mod r#gen;
mod ingest;
mod inspect;
mod query;
mod serve;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

/// adstore: an append-only columnar event store for programmatic advertising.
#[derive(Debug, Parser)]
#[command(name = "adstore", version, about)]
pub struct Cli {
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

/// How logs are printed.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check and describe a data directory, a segment file or a WAL file: footer, block index,
    /// sizes and compression per column; verifies every CRC; exits non-zero on any corruption.
    Inspect {
        /// A data directory, a `.seg` file or a `.wal` file.
        path: PathBuf,
        /// Print every block of every segment.
        #[arg(long)]
        blocks: bool,
    },
    /// The main job: generate a day of traffic, start the gRPC server on loopback, stream the
    /// three formats in over gRPC, print a campaign report obtained over gRPC, keep serving
    /// until Ctrl-C.
    Demo {
        /// The folder for the demo's input files (demo-input/) and store (store/).
        #[arg(long, default_value = "./adstore-data")]
        data: PathBuf,
        /// Impressions to generate (clicks, conversions and bid requests come on top).
        #[arg(long, default_value_t = 200_000)]
        impressions: u64,
        /// Seed of the generator.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// gRPC listen address (loopback).
        #[arg(long, default_value = "127.0.0.1:50051")]
        grpc: String,
        /// Prometheus listen address (loopback).
        #[arg(long, default_value = "127.0.0.1:9464")]
        metrics: String,
        /// Stop after the report instead of serving until Ctrl-C.
        #[arg(long)]
        exit_after_report: bool,
    },
    /// Ingest JSON Lines impressions, CSV clicks/conversions and Avro bid requests (plain, .gz
    /// or .zst) from files and folders (recursively); rejected rows go to the dead-letter store.
    Ingest {
        /// The data directory.
        #[arg(long, default_value = "./adstore-data")]
        data: PathBuf,
        /// Format of every file (default: from each file's extension).
        #[arg(long, value_enum)]
        format: Option<ingest::InputFormat>,
        /// Decoder threads (default: the number of cores).
        #[arg(long)]
        threads: Option<usize>,
        /// Earliest accepted event time (RFC 3339 or epoch ms; default 2000-01-01T00:00:00Z).
        #[arg(long)]
        ts_min: Option<String>,
        /// Latest accepted event time (RFC 3339 or epoch ms; default now + 1 day).
        #[arg(long)]
        ts_max: Option<String>,
        /// Send to a running server instead (see `remote` options); --data, --threads and
        /// the ts bounds are then the server's.
        #[command(flatten)]
        remote: Remote,
        /// Producer id for exactly-once retries (with --server; default: unique per run).
        #[arg(long, requires = "server")]
        producer: Option<String>,
        /// Files and folders to ingest.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Flush, then merge the segments of every partition into one, as ClickHouse's `OPTIMIZE
    /// TABLE ... FINAL` merges parts: run it after a bulk load, so queries open and scan one
    /// segment per partition. Segments of an older format version are rewritten in the current
    /// one. Takes the writer lock (use --server while `adstore serve` runs).
    Compact {
        /// The data directory.
        #[arg(long, default_value = "./adstore-data")]
        data: PathBuf,
        /// Ask a running server instead (see `remote` options).
        #[command(flatten)]
        remote: Remote,
    },
    /// List the rejected rows kept in a data directory, with counts per reason.
    Deadletter {
        /// The data directory.
        #[arg(long, default_value = "./adstore-data")]
        data: PathBuf,
        /// Rows to list.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// Only rows rejected for this reason (e.g. bad_timestamp).
        #[arg(long)]
        reason: Option<String>,
    },
    /// Run one SQL query (a ClickHouse-dialect subset, see docs/QUERY.md) on a data directory,
    /// opened read-only, and print the result.
    Query {
        /// The data directory.
        #[arg(long, default_value = "./adstore-data")]
        data: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = adstore::output::OutputFormat::Table)]
        format: adstore::output::OutputFormat,
        /// Worker threads (default: one per core).
        #[arg(long)]
        threads: Option<usize>,
        /// Ask a running server instead (see `remote` options).
        #[command(flatten)]
        remote: Remote,
        /// The query, e.g. "SELECT count() FROM events".
        sql: String,
    },
    /// Run the gRPC service (ingest, query, admin, health, reflection) and Prometheus metrics
    /// until SIGTERM or SIGINT; then finish in-flight requests, flush, exit 0.
    Serve {
        /// The data directory (default ./adstore-data).
        #[arg(long)]
        data: Option<PathBuf>,
        /// gRPC listen address (default 127.0.0.1:50051; port 0 picks a free one).
        #[arg(long)]
        grpc: Option<String>,
        /// Prometheus listen address (default 127.0.0.1:9464).
        #[arg(long)]
        metrics: Option<String>,
        /// A TOML configuration file (see adstore.example.toml); flags override it.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Allow non-loopback addresses without TLS and tokens.
        #[arg(long)]
        insecure: bool,
    },
    /// Generate a deterministic week of AdvertiseX traffic (JSON Lines, CSV, Avro) and its
    /// truth.json.
    Gen {
        /// Output folder.
        #[arg(long)]
        out: PathBuf,
        /// Distinct impressions (clicks, conversions and bid requests come on top).
        #[arg(long, default_value_t = 1_000_000)]
        impressions: u64,
        /// Seed of the generator.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Days of traffic.
        #[arg(long, default_value_t = 7)]
        days: u32,
    },
}

/// How a client command reaches a running `adstore serve`.
#[derive(Debug, clap::Args)]
pub struct Remote {
    /// The server, host:port (or http:// / https:// URL): talk gRPC to it.
    #[arg(long)]
    server: Option<String>,
    /// Bearer token (default: $ADSTORE_TOKEN).
    #[arg(long, requires = "server")]
    token: Option<String>,
    /// PEM root certificate to trust: connect with TLS.
    #[arg(long, requires = "server")]
    ca: Option<PathBuf>,
}

impl Remote {
    fn target(self) -> Option<crate::client::Target> {
        let server = self.server?;
        Some(crate::client::Target {
            server,
            token: self.token,
            ca: self.ca,
        })
    }
}

/// Sets up `tracing` on stderr; `RUST_LOG` overrides the default level (info).
pub fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colours only on a terminal: escape codes in a log file or a pipe are noise.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// Runs the parsed command.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Inspect { path, blocks } => inspect::run(&path, blocks),
        Command::Demo {
            data,
            impressions,
            seed,
            grpc,
            metrics,
            exit_after_report,
        } => demo::run(demo::Args {
            data,
            impressions,
            seed,
            grpc,
            metrics,
            exit_after_report,
        }),
        Command::Ingest {
            data,
            format,
            threads,
            ts_min,
            ts_max,
            remote,
            producer,
            paths,
        } => match remote.target() {
            Some(target) => crate::client::ingest::run(crate::client::ingest::Args {
                target,
                format: format.map(Into::into),
                producer,
                paths,
            }),
            None => ingest::run(ingest::Args {
                data,
                format: format.map(Into::into),
                threads,
                ts_min,
                ts_max,
                paths,
            }),
        },
        Command::Compact { data, remote } => match remote.target() {
            Some(target) => compact::run_remote(&target),
            None => compact::run(&data),
        },
        Command::Deadletter {
            data,
            limit,
            reason,
        } => deadletter::run(&data, limit, reason.as_deref()),
        Command::Query {
            data,
            format,
            threads,
            remote,
            sql,
        } => match remote.target() {
            Some(target) => crate::client::query::run(&target, format, &sql),
            None => query::run(&data, format, threads, &sql),
        },
        Command::Serve {
            data,
            grpc,
            metrics,
            config,
            insecure,
        } => serve::run(serve::Args {
            data,
            grpc,
            metrics,
            config,
            insecure,
        }),
        Command::Gen {
            out,
            impressions,
            seed,
            days,
        } => r#gen::run(&out, impressions, seed, days),
    }
}
