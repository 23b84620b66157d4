//! `adstore serve` end to end, from the Python grpcio client: each raw format streamed over
//! Append with totals equal to truth.json; Sql and Aggregate answers read with pyarrow; Stats
//! and Flush; reflection, health and /metrics; a retried (producer, sequence) applied once
//! before and after a restart.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod grpc_support;

use grpc_support::{ServerProcess, generate, run_client};

#[test]
fn formats_queries_introspection_and_exactly_once_across_restart() {
    let gen_dir = tempfile::tempdir().unwrap();
    generate(gen_dir.path(), 3000);
    let data = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(data.path(), &[]);
    let gen_arg = gen_dir.path().to_str().unwrap();
    let out = run_client("formats", &server, &["--gen", gen_arg]);
    let accepted: u64 = out.split_whitespace().nth(2).unwrap().parse().unwrap();
    run_client("query", &server, &[]);
    run_client(
        "introspection",
        &server,
        &["--expect-accepted", &accepted.to_string()],
    );
    assert!(server.terminate().success(), "serve exits 0 on SIGTERM");

    // A second store for the exactly-once scenario, across a restart.
    let data = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(data.path(), &[]);
    run_client("once_before", &server, &[]);
    assert!(server.terminate().success());
    let server = ServerProcess::start(data.path(), &[]);
    run_client("once_after", &server, &[]);
    assert!(server.terminate().success());
}
