//! The CLI's client mode against a real server: `adstore ingest --server` streams a generated
//! folder (totals equal truth.json; a second run stores nothing), retries until a late server
//! comes up, `adstore query --server` prints the answer, `adstore compact` runs through the
//! server and locally (leaving the answers as they were), and `adstore demo
//! --exit-after-report` runs the whole main job.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod grpc_support;

use std::process::{Command, Stdio};

use grpc_support::{ServerProcess, generate};

fn adstore(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_adstore"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The number before `word` in `text` ("... 123 accepted ...").
fn count_before(text: &str, word: &str) -> u64 {
    let words: Vec<&str> = text.split_whitespace().collect();
    let i = words
        .iter()
        .position(|w| w.trim_end_matches(',') == word)
        .unwrap();
    words[i - 1].parse().unwrap()
}

/// `accepted_total` of the generator's truth.json in `dir`.
fn truth_accepted(dir: &std::path::Path) -> u64 {
    let truth: String = std::fs::read_to_string(dir.join("truth.json")).unwrap();
    truth
        .split("\"accepted_total\":")
        .nth(1)
        .unwrap()
        .split(',')
        .next()
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn ingest_and_query_over_grpc_from_the_cli() {
    let gen_dir = tempfile::tempdir().unwrap();
    generate(gen_dir.path(), 3000);
    let accepted_total = truth_accepted(gen_dir.path());
    let data = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(data.path(), &[]);
    let input = gen_dir.path().to_str().unwrap();
    let ingest = [
        "ingest",
        "--server",
        &server.grpc,
        "--producer",
        "agent-7",
        input,
    ];
    let (ok, out, err) = adstore(&ingest);
    assert!(ok, "{out}{err}");
    assert_eq!(count_before(&out, "accepted"), accepted_total, "{out}");
    // A second run under the same producer id is a new run, not a retry: its requests are
    // applied (every row a duplicate), not skipped as already applied.
    let (ok, again, err) = adstore(&ingest);
    assert!(ok, "{again}{err}");
    assert_eq!(count_before(&again, "accepted"), 0, "{again}");
    assert!(
        count_before(&again, "duplicates") >= accepted_total,
        "{again}"
    );
    let (ok, json, err) = adstore(&[
        "query",
        "--server",
        &server.grpc,
        "--format",
        "json",
        "SELECT count() AS n FROM events",
    ]);
    assert!(ok, "{err}");
    assert_eq!(json.trim(), format!("{{\"n\":{accepted_total}}}"));
    let (ok, _, err) = adstore(&["query", "--server", &server.grpc, "SELECT nope FROM events"]);
    assert!(!ok && err.contains("nope"), "{err}");
    // Compaction through the server (which holds the writer lock), then locally once it has
    // stopped (nothing left to merge); no row is lost or doubled (tests/query_cli.rs checks
    // the merge itself).
    let (ok, out, err) = adstore(&["compact", "--server", &server.grpc]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("merged away"), "{out}");
    let (ok, json, err) = adstore(&[
        "query",
        "--server",
        &server.grpc,
        "--format",
        "json",
        "SELECT count() AS n FROM events",
    ]);
    assert!(ok, "{err}");
    assert_eq!(json.trim(), format!("{{\"n\":{accepted_total}}}"));
    // Without ORDER BY, LIMIT takes the first rows in storage order: the same rows from the
    // server and from a read-only open of its directory beside it.
    let first_rows = "SELECT event_id, ts FROM events LIMIT 9";
    let (ok, remote, err) = adstore(&[
        "query",
        "--server",
        &server.grpc,
        "--format",
        "csv",
        first_rows,
    ]);
    assert!(ok, "{err}");
    let data_dir = data.path().to_str().unwrap();
    let (ok, local, err) = adstore(&["query", "--data", data_dir, "--format", "csv", first_rows]);
    assert!(ok, "{err}");
    assert_eq!(remote.lines().count(), 10, "{remote}");
    assert_eq!(local, remote);
    assert!(server.terminate().success());
    let dir = data.path().to_str().unwrap();
    let (ok, out, err) = adstore(&["compact", "--data", dir]);
    assert!(ok, "{out}{err}");
    assert_eq!(count_before(&out, "merged"), 0, "{out}");
    let (ok, json, err) = adstore(&[
        "query",
        "--data",
        dir,
        "--format",
        "json",
        "SELECT count() AS n FROM events",
    ]);
    assert!(ok, "{err}");
    assert_eq!(json.trim(), format!("{{\"n\":{accepted_total}}}"));
}

#[test]
fn the_ingest_client_retries_until_the_server_is_up() {
    let gen_dir = tempfile::tempdir().unwrap();
    generate(gen_dir.path(), 500);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let client = Command::new(env!("CARGO_BIN_EXE_adstore"))
        .args(["ingest", "--server", &addr, "--producer", "late-agent"])
        .arg(gen_dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(700));
    let data = tempfile::tempdir().unwrap();
    let mut server = Command::new(env!("CARGO_BIN_EXE_adstore"))
        .arg("serve")
        .arg("--data")
        .arg(data.path())
        .args(["--grpc", &addr, "--metrics", "127.0.0.1:0"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let out = client.wait_with_output().unwrap();
    let _ = server.kill();
    let _ = server.wait();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("streams resent"), "{stdout}");
    assert!(count_before(&stdout, "accepted") > 0, "{stdout}");
}

#[test]
fn the_demo_runs_the_main_job_over_grpc() {
    let data = tempfile::tempdir().unwrap();
    let (ok, out, err) = adstore(&[
        "demo",
        "--data",
        data.path().to_str().unwrap(),
        "--impressions",
        "5000",
        "--grpc",
        "127.0.0.1:0",
        "--metrics",
        "127.0.0.1:0",
        "--exit-after-report",
    ]);
    assert!(ok, "{out}{err}");
    for want in [
        "agent impressions-0.jsonl",
        "agent events-0.csv",
        "agent bid_requests-0.avro",
        "top campaigns by spend",
        "(10 rows)",
        "adstore query --server",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
}

#[test]
fn a_producer_mark_ahead_of_this_runs_sequences_is_overtaken_never_skipped() {
    use adstore_proto::v1;
    let gen_dir = tempfile::tempdir().unwrap();
    generate(gen_dir.path(), 800);
    let data = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(data.path(), &[]);
    // Another writer under the same producer id (or a clock that went back since an earlier run)
    // left a mark far above any wall-clock sequence this run will start from.
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut client = v1::ingest_service_client::IngestServiceClient::connect(format!(
            "http://{}",
            server.grpc
        ))
        .await
        .unwrap();
        let request = v1::AppendRequest {
            body: Some(v1::append_request::Body::Events(v1::TypedEvents {
                events: vec![],
            })),
            producer_id: "agent-ahead".into(),
            sequence: Some(u64::MAX / 2),
        };
        client.append_batch(request).await.unwrap();
    });
    let input = gen_dir.path().to_str().unwrap();
    let (ok, out, ingest_err) = adstore(&[
        "ingest",
        "--server",
        &server.grpc,
        "--producer",
        "agent-ahead",
        input,
    ]);
    assert!(ok, "{out}{ingest_err}");
    let (ok, json, err) = adstore(&[
        "query",
        "--server",
        &server.grpc,
        "--format",
        "json",
        "SELECT count() AS n FROM events",
    ]);
    assert!(ok, "{err}");
    let accepted_total = truth_accepted(gen_dir.path());
    assert_eq!(count_before(&out, "accepted"), accepted_total, "{out}");
    assert_eq!(json.trim(), format!("{{\"n\":{accepted_total}}}"));
    assert!(
        ingest_err.contains("mark for this producer is ahead"),
        "{ingest_err}"
    );
    assert!(server.terminate().success());
}
