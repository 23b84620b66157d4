#!/usr/bin/env python3
"""adstore and ClickHouse side by side: the same generated events, the same raw files, the
same SQL, one table.

    benches/clickhouse/setup.sh                      # once: the venv with chdb
    cargo build --release --bin adstore
    benches/clickhouse/.venv/bin/python benches/clickhouse/compare.py [--impressions N]
    benches/clickhouse/.venv/bin/python benches/clickhouse/compare.py --smoke

Steps: `adstore gen` writes a week of traffic (JSON Lines impressions, CSV clicks and
conversions, Avro bid requests, truth.json). Each format is ingested by `adstore ingest` into
one store and by ClickHouse (chdb, MergeTree) with the same validation, normalization and
exact dedup written in ClickHouse SQL (ch_sql.py), alternating, each timed end to end; both
sides' accepted, duplicate and rejected counts must equal truth.json. Then the suite Q1–Q10
(suite.py) runs on both: a warm-up, then rounds alternating ClickHouse, `adstore query` (a
process per query, as a user runs it) and, where `adstore serve` exists, a warm gRPC channel.
Every adstore result must equal ClickHouse's (floats to 1e-9 relative): any difference is
printed and the exit status is 1. Times are medians of the rounds.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

from adstore_side import Adstore, AdstoreError, binary_missing  # noqa: E402
from ch_side import FORMATS, ClickHouseError, ClickHouseProcess, files_of  # noqa: E402
from report import Report  # noqa: E402
from results import arrow_rows, diff  # noqa: E402
import runner  # noqa: E402
import suite  # noqa: E402


class Mismatch(Exception):
    pass


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--impressions", type=int, default=None,
                   help="distinct impressions to generate (default 10,000,000; 100,000 with --smoke)")
    p.add_argument("--smoke", action="store_true",
                   help="100k impressions, 2 rounds: checks every result, times are not the point")
    p.add_argument("--runs", type=int, default=None, help="hot rounds per query (default 5)")
    p.add_argument("--work", default=os.path.join(REPO, "target", "clickhouse-bench"),
                   help="working folder: generated data, both stores (default target/clickhouse-bench)")
    p.add_argument("--adstore", default=os.path.join(REPO, "target", "release", "adstore"),
                   help="the adstore binary (default target/release/adstore)")
    p.add_argument("--no-grpc", action="store_true", help="skip the adstore serve / gRPC part")
    p.add_argument("--reuse-stores", action="store_true",
                   help="keep both stores of the last run in --work and only run the queries")
    p.add_argument("--markdown", help="also write the table as Markdown to this file")
    p.add_argument("--json", help="also write every figure as JSON to this file")
    a = p.parse_args()
    if a.impressions is None:
        a.impressions = 100_000 if a.smoke else 10_000_000
    if a.runs is None:
        a.runs = 2 if a.smoke else 5
    return a


def subcommands(binary: str) -> set[str]:
    out = subprocess.run([binary, "help"], capture_output=True, text=True).stdout
    names, in_list = set(), False
    for line in out.splitlines():
        if line.strip().lower().startswith("commands:"):
            in_list = True
            continue
        if in_list:
            if not line.startswith("  "):
                break
            names.add(line.split()[0])
    return names


def generate(ad: Adstore, out: str, impressions: int) -> dict:
    truth_path = os.path.join(out, "truth.json")
    if os.path.exists(truth_path):
        with open(truth_path) as f:
            truth = json.load(f)
        # Reused only when made for this many impressions by this binary or a later one
        # (a newer binary may generate differently).
        if (truth.get("impressions") == impressions
                and os.path.getmtime(truth_path) >= os.path.getmtime(ad.binary)):
            print(f"reusing generated data in {out}", flush=True)
            return truth
    shutil.rmtree(out, ignore_errors=True)
    print(f"adstore gen --impressions {impressions} ...", flush=True)
    seconds = ad.gen(out, impressions)
    print(f"  {seconds:.1f} s", flush=True)
    with open(truth_path) as f:
        return json.load(f)


def check_totals(side: str, loads: dict, truth: dict) -> list[str]:
    """An ingest's totals against truth.json: accepted, duplicates, rejects per reason."""
    problems = []
    accepted = sum(r["accepted"] for r in loads.values())
    duplicates = sum(r["duplicates"] for r in loads.values())
    rejected: dict[str, int] = {}
    for r in loads.values():
        for k, v in r["rejected"].items():
            rejected[k] = rejected.get(k, 0) + v
    if accepted != truth["accepted_total"]:
        problems.append(f"{side}: accepted {accepted}, truth.json says {truth['accepted_total']}")
    if duplicates != truth["duplicates"]:
        problems.append(f"{side}: duplicates {duplicates}, truth.json says {truth['duplicates']}")
    if rejected != truth["rejected"]:
        problems.append(f"{side}: rejected {rejected}, truth.json says {truth['rejected']}")
    return problems


def main() -> int:
    a = parse_args()
    if binary_missing(a.adstore, "compare.py"):
        return 2
    commands = subcommands(a.adstore)
    has_query = "query" in commands
    has_serve = "serve" in commands and not a.no_grpc
    os.makedirs(a.work, exist_ok=True)
    data_dir = os.path.join(a.work, f"gen-{a.impressions}")
    store_dir = os.path.join(a.work, "adstore-data")
    ch_dir = os.path.join(a.work, "clickhouse-data")
    reuse = a.reuse_stores and os.path.isdir(store_dir) and os.path.isdir(ch_dir)
    if not reuse:
        for d in (store_dir, ch_dir):
            shutil.rmtree(d, ignore_errors=True)

    ad = Adstore(a.adstore, store_dir)
    truth = generate(ad, data_dir, a.impressions)
    report = Report(a.impressions, truth)
    problems: list[str] = []

    ch = ClickHouseProcess(ch_dir)
    grpc = None
    try:
        prepare_session(ch, report)
        # Both sides get the same accepted ts range: 2000-01-01 to now + 1 day.
        ts_max_ms = int((time.time() + 86_400) * 1000)
        if reuse:
            print(f"reusing both stores in {a.work}: ingest not measured", flush=True)
        else:
            ad_loads, ch_loads = {}, {}
            for fmt in FORMATS:
                files = files_of(data_dir, fmt)
                print(f"ingest {fmt}: {len(files)} files ...", flush=True)
                ad_loads[fmt] = ad.ingest(files, ts_max_ms)
                ch_loads[fmt] = ch.call("load", data_dir, fmt, ts_max_ms * 1000)
                c = ch_loads[fmt]
                d = ad_loads[fmt]
                print(f"  adstore {d['seconds']:.2f} s (its summary: {d['reported_seconds']} s "
                      f"+ final flush {d['flush_seconds']} s), clickhouse {c['seconds']:.2f} s "
                      f"(validate + normalize {c['parse_seconds']:.2f} s, "
                      f"dedup + insert {c['dedup_seconds']:.2f} s)", flush=True)
            report.ad_loads, report.ch_loads = ad_loads, ch_loads
            problems += check_totals("adstore ingest", ad_loads, truth)
            problems += check_totals("clickhouse", ch_loads, truth)
            report.ch_native_json = ch.call("load_native_json", data_dir)
            report.ch_native_checked = ch.call("load_native_json_checked", data_dir,
                                               ts_max_ms * 1000)
            report.ch_optimize_seconds = ch.call("optimize")
            if "compact" in commands:
                report.ad_compact_seconds = ad.compact()
                print(f"  adstore compact {report.ad_compact_seconds:.2f} s, ClickHouse OPTIMIZE "
                      f"FINAL {report.ch_optimize_seconds:.2f} s", flush=True)
        report.ch_disk = ch.call("disk")
        report.ad_disk = ad.disk_bytes()

        if has_serve:
            try:
                grpc = start_grpc(a, data_dir, report, problems)
            except Exception as e:  # grpc.RpcError, a server that did not start
                problems.append(f"gRPC Append: {type(e).__name__}: {str(e)[:1500]}")
        if has_query:
            problems += run_suite(a, ad, ch, report, grpc)
        else:
            problems.append("adstore has no `query` subcommand in this build: the suite "
                            "was not run (ingest totals only)")
        report.ch_peak_rss = ch.call("peak_rss")
    except (ClickHouseError, AdstoreError) as e:
        problems.append(f"aborted: {e}")
    finally:
        shut_down(report, ch, grpc)

    report.emit(a.markdown, a.json)
    # One check per ingest path and per query, reported as test runners do; a problem's check
    # is the text before its first colon.
    expected = {*report.queries} if reuse else {"adstore ingest", "clickhouse", *report.queries}
    if report.grpc_load:
        expected.add("gRPC Append")
    if report.grpc_cli_load:
        expected.add("adstore ingest --server")
    failed = {p.split(":", 1)[0] for p in problems}
    units = expected | failed
    if problems:
        print("\nFAILED:", file=sys.stderr)
        for p in problems:
            print(f"  {p}", file=sys.stderr)
        print(f"clickhouse comparison: {len(units - failed)} passed, {len(failed)} failed")
        return 1
    print("\nall results match ClickHouse's" + ("" if reuse else "; ingest totals match truth.json"))
    print(f"clickhouse comparison: {len(units)} passed, 0 failed")
    return 0


def prepare_session(ch: ClickHouseProcess, report: Report) -> None:
    """Notes ClickHouse's version and baseline RSS in `report` and sets its JSON output as the
    comparison of answers reads it (64-bit integers as numbers, NaN and infinities quoted)."""
    report.ch_version = ch.info["version"]
    report.ch_baseline_rss = ch.info["baseline_rss"]
    for setting in ("output_format_json_quote_64bit_integers = 0",
                    "output_format_json_quote_denormals = 1"):
        ch.call("sql", f"SET {setting}")


def shut_down(report: Report, ch: ClickHouseProcess, grpc) -> None:
    """Stops ClickHouse's worker, the process runner and the gRPC server (when started),
    keeping the runner's and the server's peak RSS in `report`."""
    ch.close()
    report.runner_floor_rss = runner.runner().floor_rss
    runner.close()
    if grpc:
        report.server_rss = grpc.server.peak_rss()
        grpc.close()


class Grpc:
    """`adstore serve` on its own store, filled through gRPC Append, and a warm Sql client."""

    def __init__(self, server, client):
        self.server, self.client = server, client

    def close(self) -> None:
        if self.client:
            self.client.close()
        self.server.stop()


def start_grpc(a, data_dir: str, report, problems: list[str]):
    from adstore_side import Server
    import grpc_client

    grpc_client.generate_stubs(REPO, os.path.join(a.work, "pyproto"))
    files = [f for fmt in FORMATS for f in files_of(data_dir, fmt)]

    # The CLI's client mode into a server of its own, for its ingest figure.
    store = os.path.join(a.work, "adstore-grpc-cli-data")
    shutil.rmtree(store, ignore_errors=True)
    server = Server(a.adstore, store, os.path.join(a.work, "serve-cli.log"))
    try:
        print(f"ingest through `adstore ingest --server {server.grpc}` ...", flush=True)
        load = Adstore(a.adstore, store).ingest_client(server.grpc, files)
        report.grpc_cli_load = load
        print(f"  {load['seconds']:.2f} s", flush=True)
        problems += check_totals("adstore ingest --server", {"all": load}, report.truth)
    except AdstoreError as e:
        problems.append(f"adstore ingest --server: {str(e)[:1500]}")
    finally:
        server.stop()
        shutil.rmtree(store, ignore_errors=True)

    store = os.path.join(a.work, "adstore-grpc-data")
    shutil.rmtree(store, ignore_errors=True)
    server = Server(a.adstore, store, os.path.join(a.work, "serve.log"))
    g = Grpc(server, None)
    try:
        print(f"ingest over gRPC Append ({server.grpc}) ...", flush=True)
        load = grpc_client.append_files(server.grpc, files)
        report.grpc_load = load
        load["flush_seconds"] = grpc_client.flush(server.grpc)
        # As after the CLI ingest (and ClickHouse's OPTIMIZE FINAL): one segment per partition.
        load["compact_seconds"] = grpc_client.compact(server.grpc)
        print(f"  {load['seconds']:.2f} s, {load['requests']} requests; "
              f"then Flush {load['flush_seconds']:.2f} s, Compact {load['compact_seconds']:.2f} s",
              flush=True)
        for p in check_totals("gRPC Append", {"all": load}, report.truth):
            problems.append(p)
        g.client = grpc_client.SqlClient(server.grpc)
    except Exception:
        g.close()
        raise
    return g


def run_suite(a, ad: Adstore, ch: ClickHouseProcess, report: "Report", grpc) -> list[str]:
    problems = []
    params = suite.pick_params(lambda q: ch.call("sql", q).strip())
    report.params = params
    texts = suite.queries(params)
    report.queries = texts
    for name, sql in texts.items():
        ch_rows, _ = ch.call("query", sql)
        try:
            ad_rows, _, _ = ad.query(sql)
        except AdstoreError as e:
            problems.append(f"{name}: adstore query failed: {e}")
            report.times[name] = None
            continue
        d = diff(ch_rows, ad_rows)
        if d:
            problems.append(f"{name}: adstore query's result differs from ClickHouse's:\n      "
                            + "\n      ".join(d) + f"\n    SQL: {sql}")
        if grpc:
            try:
                table, _ = grpc.client.sql(sql)
                dg = diff(ch_rows, arrow_rows(table))
            except Exception as e:  # grpc.RpcError and decoding errors alike
                dg = [f"gRPC Sql failed: {str(e)[:500]}"]
            if dg:
                problems.append(f"{name}: adstore's gRPC result differs from ClickHouse's:\n      "
                                + "\n      ".join(dg) + f"\n    SQL: {sql}")
                d = d or dg
        ch_ms, ad_ms, grpc_ms, server_ms, ad_rss = [], [], [], [], 0
        # The server's handler time of each timed call: its metrics read after the call (not
        # before: that would wake the server just before the call it times).
        handled = grpc.server.sql_seconds() if grpc else (0.0, 0)
        for _ in range(a.runs):
            _, ms = ch.call("query", sql)
            ch_ms.append(ms)
            _, ms, rss = ad.query(sql)
            ad_ms.append(ms)
            ad_rss = max(ad_rss, rss)
            if grpc:
                grpc_ms.append(grpc.client.sql(sql)[1])
                now = grpc.server.sql_seconds()
                if now[1] == handled[1] + 1:
                    server_ms.append((now[0] - handled[0]) * 1000)
                handled = now
        t = {
            "rows": len(ch_rows),
            "clickhouse_ms": statistics.median(ch_ms),
            "adstore_cli_ms": statistics.median(ad_ms),
            "adstore_cli_rss": ad_rss,
            "match": not d,
        }
        if grpc_ms:
            t["adstore_grpc_ms"] = statistics.median(grpc_ms)
        if server_ms:
            t["adstore_server_ms"] = statistics.median(server_ms)
        report.times[name] = t
        print(f"  {name}: clickhouse {t['clickhouse_ms']:.1f} ms, "
              f"adstore cli {t['adstore_cli_ms']:.1f} ms"
              + (f", grpc {t['adstore_grpc_ms']:.1f} ms" if grpc_ms else "")
              + ("" if not d else "  MISMATCH"), flush=True)
    return problems


if __name__ == "__main__":
    sys.exit(main())
