"""The adstore side: the release `adstore` binary driven as a user drives it (`gen`, `ingest`,
`query` as processes; `serve` with a gRPC client on a warm channel), each run measured for
wall time and peak RSS (wait4's ru_maxrss of that process, forked from runner.py's small
process; a server's from its /proc VmHWM).
"""

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request

from runner import runner


class AdstoreError(RuntimeError):
    pass


def binary_missing(binary: str, script: str) -> bool:
    """Whether `binary` is not an executable file; says so on stderr, naming `script`."""
    if os.access(binary, os.X_OK):
        return False
    print(f"{script}: no adstore binary at {binary}; "
          "run `cargo build --release --bin adstore` first", file=sys.stderr)
    return True


def run_with_rusage(argv: list[str], timeout: float = 3600) -> tuple[str, str, float, int]:
    """Runs a process to its end from the runner process: (stdout, stderr, wall seconds, peak
    RSS bytes). Raises on a non-zero exit (or a kill at `timeout`), with its stderr."""
    code, so, se, seconds, rss = runner().run(argv, timeout)
    if code != 0:
        raise AdstoreError(f"{' '.join(argv[:4])} ... exited {code}: {se[-2000:]}")
    return so, se, seconds, rss


def parse_ingest_summary(text: str) -> dict:
    """The numbers of `adstore ingest`'s closing summary."""

    def num(label: str) -> int:
        m = re.search(rf"^\s*{label}\s+(\d+)", text, re.M)
        if not m:
            raise AdstoreError(f"adstore ingest summary has no '{label}' line:\n{text}")
        return int(m.group(1))

    rejected = {}
    block = re.search(r"^\s*rejected\s+\d+\n((?:\s{4}\S+\s+\d+\n)*)", text, re.M)
    if block:
        for m in re.finditer(r"^\s{4}(\S+)\s+(\d+)", block.group(1), re.M):
            rejected[m.group(1)] = int(m.group(2))
    m = re.search(r"([\d.]+) s: \d+ rows/s.*final flush ([\d.]+) s", text)
    return {
        "reported_seconds": float(m.group(1)) if m else None,
        "flush_seconds": float(m.group(2)) if m else None,
        "rows_read": num("rows read"),
        "accepted": num("accepted"),
        "duplicates": num("duplicates"),
        "rejected": rejected,
    }


class Adstore:
    """The binary and one data directory."""

    def __init__(self, binary: str, data_dir: str):
        self.binary = binary
        self.data = data_dir

    def gen(self, out: str, impressions: int) -> float:
        _, _, seconds, _ = run_with_rusage(
            [self.binary, "gen", "--out", out, "--impressions", str(impressions)]
        )
        return seconds

    def ingest(self, files: list[str], ts_max_ms: int) -> dict:
        out, _, seconds, rss = run_with_rusage(
            [self.binary, "ingest", "--data", self.data, "--ts-max", str(ts_max_ms), *files]
        )
        stats = parse_ingest_summary(out)
        stats.update(seconds=seconds, peak_rss=rss, bytes=sum(os.path.getsize(f) for f in files))
        return stats

    def compact(self) -> float:
        """`adstore compact`: every partition merged into one segment (ClickHouse's OPTIMIZE
        TABLE ... FINAL). Seconds, whole process."""
        _, _, seconds, _ = run_with_rusage([self.binary, "compact", "--data", self.data])
        return seconds

    def ingest_client(self, addr: str, files: list[str]) -> dict:
        """`adstore ingest --server ADDR`: the CLI as an ingestion agent (Append requests with a
        producer id and sequence); wall time of the client process."""
        out, _, seconds, rss = run_with_rusage([self.binary, "ingest", "--server", addr, *files])
        m = re.search(r"(\d+) accepted, (\d+) duplicates, (\d+) rejected", out)
        if not m:
            raise AdstoreError(f"adstore ingest --server printed no totals:\n{out[-2000:]}")
        rejected = {r: int(n) for r, n in re.findall(r"^\s+rejected (\S+): (\d+)", out, re.M)}
        accepted, duplicates = int(m.group(1)), int(m.group(2))
        return {"accepted": accepted, "duplicates": duplicates, "rejected": rejected,
                "rows_read": accepted + duplicates + int(m.group(3)),
                "seconds": seconds, "client_rss": rss}

    def query(self, sql: str) -> tuple[list[dict], float, int]:
        """One `adstore query --format json` process: (rows, wall ms, peak RSS)."""
        out, _, seconds, rss = run_with_rusage(
            [self.binary, "query", "--data", self.data, "--format", "json", sql], timeout=600
        )
        rows = [json.loads(line) for line in out.splitlines() if line.strip()]
        return rows, seconds * 1000, rss

    def disk_bytes(self) -> dict:
        """Bytes per file extension under the data dir, and `segments`: the .seg file count."""
        by_kind: dict[str, int] = {"segments": 0}
        for root, _, names in os.walk(self.data):
            for n in names:
                p = os.path.join(root, n)
                ext = os.path.splitext(n)[1] or n
                by_kind[ext] = by_kind.get(ext, 0) + os.path.getsize(p)
                by_kind["segments"] += ext == ".seg"
        return by_kind


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`adstore serve` on a free loopback port, for the gRPC timings; stopped with SIGTERM."""

    def __init__(self, binary: str, data_dir: str, log_path: str):
        self.grpc = f"127.0.0.1:{free_port()}"
        self.metrics = f"127.0.0.1:{free_port()}"
        self.log = open(log_path, "wb")
        self.proc = subprocess.Popen(
            [binary, "serve", "--data", data_dir, "--grpc", self.grpc, "--metrics", self.metrics],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AdstoreError(f"adstore serve exited {self.proc.returncode}; see {log_path}")
            try:
                with socket.create_connection(self.grpc.split(":"), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise AdstoreError(f"adstore serve did not listen on {self.grpc} within 60 s")

    def sql_seconds(self) -> tuple[float, int]:
        """The server's own account of its `Sql` calls so far, from its Prometheus endpoint:
        (total seconds in the handler, calls). The handler's time runs from the request's
        arrival to its result (planning, the scan, the blocking pool's wake-up), not the
        Arrow encoding or the transport."""
        try:
            with urllib.request.urlopen(f"http://{self.metrics}/metrics", timeout=10) as r:
                text = r.read().decode()
        except OSError as e:  # urllib's URLError included
            raise AdstoreError(f"adstore serve's metrics at {self.metrics}: {e}") from e
        total = re.search(r'^adstore_query_seconds_sum\{kind="sql"\} (\S+)', text, re.M)
        calls = re.search(r'^adstore_query_seconds_count\{kind="sql"\} (\S+)', text, re.M)
        if not total or not calls:
            raise AdstoreError("adstore serve's metrics have no adstore_query_seconds for sql")
        return float(total.group(1)), int(float(calls.group(1)))

    def peak_rss(self) -> int:
        try:
            with open(f"/proc/{self.proc.pid}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1]) * 1024
        except OSError:
            pass
        return 0

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
