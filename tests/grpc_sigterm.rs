//! SIGTERM in the middle of a client stream: the server stops accepting, lets the open Append
//! stream finish and answers it, flushes and exits 0; after a restart every acknowledged event is
//! there exactly once, and a retry of the request that failed at shutdown is applied at most once.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod grpc_support;

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use grpc_support::{ServerProcess, client, run_client};

#[test]
fn sigterm_mid_stream_loses_nothing_acknowledged_and_doubles_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let acked = dir.path().join("acked.json");
    let acked_arg = acked.to_str().unwrap();
    let server = ServerProcess::start(&data, &[]);
    let mut writer = client("sigterm_writer", &server, &["--acked", acked_arg])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(writer.stdout.take().unwrap()).lines();
    let mut streaming = false;
    for line in lines.by_ref() {
        if line.unwrap().starts_with("STREAMING") {
            streaming = true;
            break;
        }
    }
    assert!(streaming, "the writer never started streaming");
    server.signal_term();
    let rest: Vec<String> = lines.map(Result::unwrap).collect();
    let status = writer.wait().unwrap();
    assert!(status.success(), "writer failed: {rest:?}");
    assert!(server.wait().success(), "serve exits 0 after SIGTERM");

    let server = ServerProcess::start(&data, &[]);
    run_client("sigterm_verify", &server, &["--acked", acked_arg]);
    assert!(server.terminate().success());
}
