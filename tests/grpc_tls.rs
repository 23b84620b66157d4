//! TLS end to end: `adstore serve` with a certificate and key from its config (a self-signed
//! certificate for `localhost` made here with rcgen); the Python client completes a TLS
//! handshake trusting that certificate, and a plaintext client is refused; `adstore query --server https://... --ca`
//! connects the same way.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod grpc_support;

use grpc_support::{ServerProcess, run_client, write_token_config};

#[test]
fn a_tls_handshake_with_a_test_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let cert_path = dir.path().join("server.pem");
    let key_path = dir.path().join("server.key");
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).unwrap();
    let config = dir.path().join("adstore.toml");
    let tls = format!(
        "[tls]\ncert = \"{}\"\nkey = \"{}\"\n",
        cert_path.display(),
        key_path.display()
    );
    write_token_config(&config, &tls);
    let server = ServerProcess::start(
        &dir.path().join("data"),
        &["--config", config.to_str().unwrap()],
    );
    run_client(
        "tls",
        &server,
        &[
            "--ca",
            cert_path.to_str().unwrap(),
            "--token",
            "admin-token-e2e-00000001",
        ],
    );
    // The CLI's client mode over TLS, trusting the same certificate.
    let port = server.grpc.rsplit(':').next().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_adstore"))
        .args(["query", "--server", &format!("https://localhost:{port}")])
        .arg("--ca")
        .arg(&cert_path)
        .args(["--token", "admin-token-e2e-00000001", "--format", "json"])
        .arg("SELECT count() AS n FROM events")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "{\"n\":1}");
    assert!(server.terminate().success());
}
