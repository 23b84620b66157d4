//! Load example for `adstore serve` (not a test): N concurrent gRPC clients, each on its own
//! connection, sending `Append` calls of typed events (one request of `--batch` events per call,
//! a producer id and sequence each) for `--seconds`; prints events/s, p50/p99/max Append latency
//! (send to durable acknowledgement) and the server's peak RSS (VmHWM).
//!
//! ```sh
//! cargo build --release --bin adstore
//! cargo run --release --example grpc_load -- --clients 16 --seconds 60
//! ```
//! It starts `target/release/adstore serve` on a fresh data directory and free loopback ports
//! (or uses `--server ADDR`, then without RSS).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a load generator, not library code"
)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use adstore_proto::v1;
use adstore_proto::v1::ingest_service_client::IngestServiceClient;

struct Options {
    clients: usize,
    seconds: u64,
    batch: usize,
    server: Option<String>,
}

fn options() -> Options {
    let mut o = Options {
        clients: 16,
        seconds: 60,
        batch: 1000,
        server: None,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        let value = pair.get(1).cloned().unwrap_or_default();
        match pair[0].as_str() {
            "--clients" => o.clients = value.parse().expect("--clients N"),
            "--seconds" => o.seconds = value.parse().expect("--seconds N"),
            "--batch" => o.batch = value.parse().expect("--batch N"),
            "--server" => o.server = Some(value),
            other => panic!("unknown option {other}"),
        }
    }
    o
}

fn events(client: usize, seq: u64, n: usize) -> Vec<v1::Event> {
    let day = 1_763_164_800_000_000i64; // 2025-11-15T00:00:00Z
    (0..n)
        .map(|i| {
            let k = seq as usize * n + i;
            v1::Event {
                event_id: format!("load-{client}-{seq}-{i}"),
                event_type: v1::EventType::Impression as i32,
                ts_micros: day + (k as i64 % 86_400) * 1_000_000,
                campaign_id: format!("cmp-{}", k % 2000),
                creative_id: format!("cr-{}", k % 50_000),
                user_id: format!("u-{}", (k * 7919) % 1_000_000),
                site: format!("site-{}.example", k % 5000),
                country: ["US", "DE", "FR", "GB", "JP"][k % 5].to_string(),
                device: ["mobile", "desktop", "tablet", "ctv"][k % 4].to_string(),
                os: "android".to_string(),
                cost_micros: 1500 + (k as i64 % 1000),
                ..v1::Event::default()
            }
        })
        .collect()
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let o = options();
    let mut server = None;
    let data = std::env::temp_dir().join(format!("adstore-load-{}", std::process::id()));
    let addr = match &o.server {
        Some(a) => a.clone(),
        None => {
            let bin = std::env::current_exe()
                .unwrap()
                .parent()
                .and_then(|p| p.parent())
                .map(|p| p.join("adstore"))
                .unwrap_or_else(|| PathBuf::from("adstore"));
            let mut child = Command::new(&bin)
                .arg("serve")
                .arg("--data")
                .arg(&data)
                .args(["--grpc", "127.0.0.1:0", "--metrics", "127.0.0.1:0"])
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| {
                    panic!(
                        "starting {}: {e} (cargo build --release first)",
                        bin.display()
                    )
                });
            let mut line = String::new();
            BufReader::new(child.stdout.take().unwrap())
                .read_line(&mut line)
                .unwrap();
            let grpc = line
                .split_whitespace()
                .find_map(|w| w.strip_prefix("grpc="))
                .expect("serving line")
                .to_string();
            server = Some(child);
            grpc
        }
    };
    println!(
        "{} clients × Append of {} events for {} s against {addr}",
        o.clients, o.batch, o.seconds
    );
    let deadline = Instant::now() + Duration::from_secs(o.seconds);
    let mut tasks = Vec::new();
    for c in 0..o.clients {
        let addr = addr.clone();
        let batch = o.batch;
        tasks.push(tokio::spawn(async move {
            let mut client = IngestServiceClient::connect(format!("http://{addr}"))
                .await
                .unwrap()
                .max_encoding_message_size(64 << 20);
            let mut latencies = Vec::new();
            let mut accepted = 0u64;
            let mut seq = 0u64;
            while Instant::now() < deadline {
                seq += 1;
                let req = v1::AppendRequest {
                    body: Some(v1::append_request::Body::Events(v1::TypedEvents {
                        events: events(c, seq, batch),
                    })),
                    producer_id: format!("load-{c}"),
                    sequence: Some(seq),
                };
                let started = Instant::now();
                let r = client
                    .append(tokio_stream::iter([req]))
                    .await
                    .unwrap()
                    .into_inner();
                latencies.push(started.elapsed());
                accepted += r.accepted;
            }
            (accepted, latencies)
        }));
    }
    let started = Instant::now();
    let mut accepted = 0;
    let mut latencies = Vec::new();
    for t in tasks {
        let (a, l) = t.await.unwrap();
        accepted += a;
        latencies.extend(l);
    }
    let secs = started.elapsed().as_secs_f64();
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    println!(
        "{accepted} events accepted in {secs:.1} s: {:.0} events/s; {} Append calls, latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        accepted as f64 / secs,
        latencies.len(),
        pct(0.50).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
        latencies.last().unwrap().as_secs_f64() * 1e3,
    );
    if let Some(mut child) = server {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap_or_default();
        if let Some(hwm) = status.lines().find(|l| l.starts_with("VmHWM")) {
            println!(
                "server peak RSS: {}",
                hwm.trim_start_matches("VmHWM:").trim()
            );
        }
        // SAFETY: kill(2) on our own child has no memory-safety preconditions.
        unsafe {
            libc::kill(i32::try_from(child.id()).unwrap(), libc::SIGTERM);
        }
        let _ = child.wait();
        let _ = std::fs::remove_dir_all(&data);
    }
}
