//! Shared by the `grpc_*` end-to-end tests: the real `adstore serve` binary on free loopback
//! ports, and the Python grpcio client (`tests/python/adstore_client.py`) in the virtualenv
//! that `scripts/python-env` prepares.

#![allow(dead_code, reason = "each test binary uses a part")]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::OnceLock;

/// The virtualenv's python (prepared once per test binary; the script is idempotent and locked).
pub fn python() -> PathBuf {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON
        .get_or_init(|| {
            let root = Path::new(env!("CARGO_MANIFEST_DIR"));
            let out = Command::new(root.join("scripts/python-env"))
                .stderr(Stdio::inherit())
                .output()
                .expect("running scripts/python-env");
            assert!(out.status.success(), "scripts/python-env failed");
            PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
        })
        .clone()
}

/// The Python client script.
pub fn client_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/adstore_client.py")
}

/// A running `adstore serve`.
#[derive(Debug)]
pub struct ServerProcess {
    child: Child,
    /// `host:port` of gRPC.
    pub grpc: String,
    /// `host:port` of the metrics endpoint.
    pub metrics: String,
    stdout: Option<BufReader<ChildStdout>>,
}

impl ServerProcess {
    /// Starts `adstore serve --data DIR` on free loopback ports (plus `extra` arguments) and
    /// waits for its "adstore serving" line.
    pub fn start(data: &Path, extra: &[&str]) -> ServerProcess {
        let mut child = Command::new(env!("CARGO_BIN_EXE_adstore"))
            .arg("serve")
            .arg("--data")
            .arg(data)
            .args(["--grpc", "127.0.0.1:0", "--metrics", "127.0.0.1:0"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawning adstore serve");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        loop {
            line.clear();
            let n = stdout.read_line(&mut line).unwrap();
            if n == 0 {
                let status = child.wait().unwrap();
                panic!("adstore serve exited before serving: {status}");
            }
            if line.starts_with("adstore serving") {
                break;
            }
        }
        let field = |key: &str| {
            line.split_whitespace()
                .find_map(|w| w.strip_prefix(key))
                .unwrap()
                .to_string()
        };
        let grpc = field("grpc=");
        let metrics = field("metrics=http://")
            .trim_end_matches("/metrics")
            .to_string();
        ServerProcess {
            child,
            grpc,
            metrics,
            stdout: Some(stdout),
        }
    }

    /// Sends SIGTERM and waits for the exit.
    pub fn terminate(mut self) -> ExitStatus {
        self.signal_term();
        self.child.wait().unwrap()
    }

    /// Sends SIGTERM without waiting.
    pub fn signal_term(&self) {
        let pid = i32::try_from(self.child.id()).unwrap();
        // SAFETY: kill(2) on our own child's pid has no memory-safety preconditions.
        let rc = unsafe { libc::kill(pid, libc::SIGTERM) };
        assert_eq!(rc, 0, "kill(SIGTERM)");
    }

    /// Waits for the exit (after [`ServerProcess::signal_term`]).
    pub fn wait(mut self) -> ExitStatus {
        self.child.wait().unwrap()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Runs a client scenario to its end; panics with its output when it fails.
pub fn run_client(scenario: &str, server: &ServerProcess, args: &[&str]) -> String {
    let out = client(scenario, server, args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "client scenario {scenario} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The command of a client scenario, not yet started.
pub fn client(scenario: &str, server: &ServerProcess, args: &[&str]) -> Command {
    let mut cmd = Command::new(python());
    cmd.arg(client_script())
        .arg(scenario)
        .args(["--grpc", &server.grpc, "--metrics", &server.metrics])
        .args(args);
    cmd
}

/// `adstore gen` output in `dir`: one day of traffic.
pub fn generate(dir: &Path, impressions: u64) {
    let status = Command::new(env!("CARGO_BIN_EXE_adstore"))
        .args(["gen", "--days", "1", "--impressions"])
        .arg(impressions.to_string())
        .arg("--out")
        .arg(dir)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "adstore gen failed");
}

/// Writes a TOML config with tokens for every role plus a campaign-scoped read token; returns
/// the tokens as the client's `--tokens` JSON.
pub fn write_token_config(path: &Path, extra: &str) -> String {
    let tokens = [
        ("ingest", "ingest-token-e2e-0000001", "ingest", None),
        ("read", "read-token-e2e-000000001", "read", None),
        ("admin", "admin-token-e2e-00000001", "admin", None),
        (
            "scoped",
            "scoped-token-e2e-0000001",
            "read",
            Some("cmp-acme"),
        ),
    ];
    let mut toml = String::from(extra);
    let mut json = Vec::new();
    for (name, token, role, prefix) in tokens {
        toml.push_str(&format!(
            "\n[[tokens]]\nname = \"{name}\"\ntoken = \"{token}\"\nrole = \"{role}\"\n"
        ));
        if let Some(p) = prefix {
            toml.push_str(&format!("campaign_prefixes = [\"{p}\"]\n"));
        }
        json.push(format!("\"{name}\": \"{token}\""));
    }
    std::fs::write(path, toml).unwrap();
    format!("{{{}}}", json.join(", "))
}
