//! `adstore serve`: runs the gRPC service until SIGTERM or SIGINT, then shuts down gracefully
//! (exit 0 once the store is flushed).

use std::path::PathBuf;
use std::process::ExitCode;

use crate::service::{Overrides, ServeConfig, Server};

/// What `adstore serve` was asked.
#[derive(Debug)]
pub struct Args {
    pub data: Option<PathBuf>,
    pub grpc: Option<String>,
    pub metrics: Option<String>,
    pub config: Option<PathBuf>,
    pub insecure: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let config = ServeConfig::load(
        args.config.as_deref(),
        Overrides {
            data: args.data,
            grpc: args.grpc,
            metrics: args.metrics,
            insecure: args.insecure,
        },
    )?;
    let rt = crate::service::runtime()?;
    rt.block_on(async {
        let server = Server::start(config).await?;
        // One line on stdout for scripts and tests: where to connect.
        println!(
            "adstore serving grpc={} metrics=http://{}/metrics",
            server.grpc_addr, server.metrics_addr
        );
        crate::service::termination_signal().await;
        server.shutdown().await
    })?;
    Ok(ExitCode::SUCCESS)
}
