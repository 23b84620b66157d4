#!/usr/bin/env python3
"""adstore and ClickHouse side by side at the query issue's scale (50M impressions), with
ClickHouse loaded from adstore's accepted events instead of the raw files.

    benches/clickhouse/.venv/bin/python benches/clickhouse/at_scale.py [--impressions N]

compare.py loads ClickHouse from the raw JSON/CSV/Avro files with the whole input contract
(validation with reasons, normalization, exact dedup) written in ClickHouse SQL; at 50M
impressions that load's staging table and dedup set need more memory than this machine has
(5.5 GB peak at 10M). This run compares the query engines alone, at full size:

1. `adstore gen`, `adstore ingest` of every file (totals checked against truth.json) and
   `adstore compact`, as adstore_only.py does (`--reuse-store` keeps the store of the last run);
2. every accepted event exported from that store with `adstore query --format arrow`, six
   hours at a time, and inserted into ClickHouse (chdb, the table of compare.py) from
   ArrowStream files, then `OPTIMIZE TABLE events FINAL`; per day and event type the counts
   and sums must equal adstore's, and the total truth.json's accepted events
   (`--reuse-clickhouse` keeps the table of the last run when its totals still match);
3. the suite exactly as compare.py runs it: parameters picked on ClickHouse, a checked
   warm-up, then rounds alternating ClickHouse, `adstore query` processes and a warm gRPC
   channel to `adstore serve`; every answer must equal ClickHouse's (exit status 1 if not).

The ingest comparison (same files, same contract) is compare.py's; at 10M it covers both.
"""

import argparse
import datetime
import json
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import grpc_client  # noqa: E402
from adstore_only import build_store  # noqa: E402
from adstore_side import Adstore, AdstoreError, Server, binary_missing  # noqa: E402
from ch_side import ClickHouseError, ClickHouseProcess  # noqa: E402
from ch_sql import EVENT_COLUMNS  # noqa: E402
from compare import Grpc, prepare_session, run_suite, shut_down  # noqa: E402
from report import Report  # noqa: E402
from results import diff  # noqa: E402

# What must agree between the two stores before any query is timed: per day and event type.
TOTALS = """
SELECT toDate(ts) AS day, event_type, count() AS events, sum(cost_micros) AS spend,
       sum(revenue_micros) AS revenue, sum(clearing_price_micros) AS clearing,
       countIf(won) AS wins, min(ts) AS first_ts, max(ts) AS last_ts
FROM events
GROUP BY day, event_type
ORDER BY day, event_type"""

WINDOW_HOURS = 6


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--impressions", type=int, default=50_000_000)
    p.add_argument("--runs", type=int, default=5, help="hot rounds per query (default 5)")
    p.add_argument("--work", default=os.path.join(REPO, "target", "at-scale-bench"))
    p.add_argument("--adstore", default=os.path.join(REPO, "target", "release", "adstore"))
    p.add_argument("--keep-data", action="store_true", help="keep the generated files")
    p.add_argument("--reuse-store", action="store_true",
                   help="keep the adstore store (and truth.json) of the last run in --work")
    p.add_argument("--reuse-clickhouse", action="store_true",
                   help="keep ClickHouse's table of the last run if its totals match the store")
    p.add_argument("--markdown", help="also write the table as Markdown to this file")
    p.add_argument("--json", help="also write every figure as JSON to this file")
    return p.parse_args()


def export_windows(days: list[str]) -> list[tuple[str, str]]:
    """[start, end) windows of WINDOW_HOURS covering every day holding events."""
    out = []
    for d in days:
        start = datetime.datetime.fromisoformat(d)
        for h in range(0, 24, WINDOW_HOURS):
            lo = start + datetime.timedelta(hours=h)
            hi = lo + datetime.timedelta(hours=WINDOW_HOURS)
            out.append((lo.strftime("%Y-%m-%d %H:%M:%S"), hi.strftime("%Y-%m-%d %H:%M:%S")))
    return out


def load_clickhouse(ad: Adstore, ch: ClickHouseProcess, work: str) -> dict:
    """Every event of `ad`'s store into ClickHouse's empty table through Arrow files, then
    OPTIMIZE FINAL. Figures of the load."""
    days = [r["day"] for r in ad.query(
        "SELECT toDate(ts) AS day, count() AS n FROM events GROUP BY day ORDER BY day")[0]]
    cols = ", ".join(EVENT_COLUMNS)
    path = os.path.join(work, "export.arrows")
    figures = {"rows": 0, "export_seconds": 0.0, "insert_seconds": 0.0, "windows": 0}
    for lo, hi in export_windows(days):
        sql = f"SELECT {cols} FROM events WHERE ts >= '{lo}' AND ts < '{hi}'"
        started = time.perf_counter()
        argv = [ad.binary, "query", "--data", ad.data, "--format", "arrow", sql]
        try:
            with open(path, "wb") as out:
                done = subprocess.run(argv, stdout=out, stderr=subprocess.PIPE, timeout=1800)
        except subprocess.TimeoutExpired as e:
            raise AdstoreError(f"export of [{lo}, {hi}) took over {e.timeout} s") from e
        if done.returncode != 0:
            raise AdstoreError(f"export of [{lo}, {hi}) exited {done.returncode}: "
                               f"{done.stderr.decode(errors='replace')[-2000:]}")
        figures["export_seconds"] += time.perf_counter() - started
        loaded = ch.call("load_arrow", path)
        figures["insert_seconds"] += loaded["seconds"]
        figures["rows"] += loaded["rows"]
        figures["windows"] += 1
        print(f"  [{lo}, {hi}): {loaded['rows']:,} rows", flush=True)
    os.remove(path)
    figures["optimize_seconds"] = ch.call("optimize")
    return figures


def check_same_events(ad: Adstore, ch: ClickHouseProcess, truth: dict) -> list[str]:
    """Both stores' per-day, per-type totals, and the event count against truth.json."""
    sql = " ".join(TOTALS.split())
    ch_rows, _ = ch.call("query", sql)
    ad_rows, _, _ = ad.query(sql)
    problems = []
    d = diff(ch_rows, ad_rows)
    if d:
        problems.append("clickhouse load: its per-day totals differ from adstore's:\n      "
                        + "\n      ".join(d))
    total = sum(int(r["events"]) for r in ch_rows)
    if total != truth["accepted_total"]:
        problems.append(f"clickhouse load: {total:,} events, truth.json says "
                        f"{truth['accepted_total']:,} accepted")
    return problems


def main() -> int:
    a = parse_args()
    if binary_missing(a.adstore, "at_scale.py"):
        return 2
    os.makedirs(a.work, exist_ok=True)
    store = os.path.join(a.work, "adstore-data")
    ch_dir = os.path.join(a.work, "clickhouse-data")
    truth_path = os.path.join(a.work, "truth.json")
    ad = Adstore(a.adstore, store)
    problems: list[str] = []
    reuse_store = a.reuse_store and os.path.isdir(store) and os.path.exists(truth_path)
    if reuse_store:
        print(f"reusing the store {store}", flush=True)
        with open(truth_path) as f:
            truth = json.load(f)
    else:
        shutil.rmtree(ch_dir, ignore_errors=True)
        _, truth = build_store(ad, a.work, a.impressions, a.keep_data, problems)
    if not (a.reuse_clickhouse and reuse_store):
        shutil.rmtree(ch_dir, ignore_errors=True)

    report = Report(truth["impressions"], truth)
    ch = ClickHouseProcess(ch_dir)
    grpc = None
    try:
        prepare_session(ch, report)
        loaded = None
        if int(ch.call("scalar", "SELECT count() FROM events")) == 0:
            print("ClickHouse: inserting adstore's events ...", flush=True)
            loaded = load_clickhouse(ad, ch, a.work)
            report.ch_optimize_seconds = loaded["optimize_seconds"]
            print(f"  {loaded['rows']:,} rows: export {loaded['export_seconds']:.1f} s, insert "
                  f"{loaded['insert_seconds']:.1f} s, OPTIMIZE FINAL "
                  f"{loaded['optimize_seconds']:.1f} s", flush=True)
        else:
            print(f"reusing ClickHouse's table in {ch_dir}", flush=True)
        differences = check_same_events(ad, ch, truth)
        problems += differences
        report.loaded_from_adstore = loaded or {}
        report.ch_disk = ch.call("disk")
        report.ad_disk = ad.disk_bytes()
        if not differences:
            grpc_client.generate_stubs(REPO, os.path.join(a.work, "pyproto"))
            server = Server(a.adstore, store, os.path.join(a.work, "serve.log"))
            grpc = Grpc(server, grpc_client.SqlClient(server.grpc))
            problems += run_suite(a, ad, ch, report, grpc)
        report.ch_peak_rss = ch.call("peak_rss")
    except (ClickHouseError, AdstoreError) as e:
        problems.append(f"aborted: {e}")
    finally:
        shut_down(report, ch, grpc)

    report.emit(a.markdown, a.json)
    if problems:
        print("\nFAILED:", file=sys.stderr)
        for p in problems:
            print(f"  {p}", file=sys.stderr)
        return 1
    print("\nall results match ClickHouse's; both stores hold the same events")
    return 0


if __name__ == "__main__":
    sys.exit(main())
