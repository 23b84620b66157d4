//! Bearer tokens end to end: every RPC × (no token, unknown token, each role) gives the right
//! status code, and a campaign-scoped read token never sees another advertiser's rows.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod grpc_support;

use grpc_support::{ServerProcess, run_client, write_token_config};

#[test]
fn the_auth_matrix_and_campaign_scoped_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("adstore.toml");
    let tokens = write_token_config(&config, "");
    let data = dir.path().join("data");
    let server = ServerProcess::start(&data, &["--config", config.to_str().unwrap()]);
    let out = run_client("auth", &server, &["--tokens", &tokens]);
    assert!(out.contains("auth ok 35"), "{out}");
    run_client("scoped", &server, &["--tokens", &tokens]);
    assert!(server.terminate().success());
}
