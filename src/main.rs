//! `adstore`: the command line of AdvertiseX's event store.
//!
//! Subcommands live in [`cli`], one module each. Exit codes: 0 done; 1 with a one-line reason on
//! stderr when anything failed (for `inspect`, any corruption found).

mod cli;
mod client;
mod service;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    cli::init_logging(args.log_format);
    match cli::run(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("adstore: {e:#}");
            ExitCode::FAILURE
        }
    }
}
