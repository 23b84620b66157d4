//! Argument parsing and dispatch for the `adstore` binary.

mod demo;
mod inspect;

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
    /// Write a day of synthetic AdvertiseX traffic into a store, flush it, and inspect the result.
    Demo {
        /// The data directory.
        #[arg(long, default_value = "./adstore-data")]
        data: PathBuf,
        /// Impressions to write (clicks, conversions and bid requests come on top).
        #[arg(long, default_value_t = 200_000)]
        impressions: u64,
        /// Seed of the generator.
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
}

/// Sets up `tracing` on stderr; `RUST_LOG` overrides the default level (info).
pub fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
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
        } => demo::run(&data, impressions, seed),
    }
}
