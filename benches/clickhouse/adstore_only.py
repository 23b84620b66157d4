#!/usr/bin/env python3
"""The suite on adstore alone, at a scale where loading ClickHouse too would not fit the
machine's time or memory (the query issue's 50M impressions): `adstore gen`, one `adstore
ingest` of every file (its totals checked against truth.json), then each suite query over a
warm gRPC channel to `adstore serve` and as `adstore query` processes. Nothing to compare the
answers with here: compare.py is the check.

    benches/clickhouse/.venv/bin/python benches/clickhouse/adstore_only.py --impressions 50000000

`--reuse-store` runs the queries again on the store of the last run (another build of adstore,
the same data), without generating or ingesting anything.
"""

import argparse
import datetime
import json
import os
import shutil
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import grpc_client  # noqa: E402
import runner  # noqa: E402
import suite  # noqa: E402
from adstore_side import Adstore, Server  # noqa: E402
from compare import check_totals, generate  # noqa: E402
from report import machine, mib  # noqa: E402
from results import arrow_rows  # noqa: E402


def suite_params(client: grpc_client.SqlClient) -> dict:
    """The suite's parameters, picked as compare.py picks them on ClickHouse, through `client`."""
    def rows(q: str) -> list[dict]:
        return arrow_rows(client.sql(q)[0])

    camps = rows("SELECT campaign_id, count() AS n FROM events WHERE event_type = 'impression' "
                 "GROUP BY campaign_id ORDER BY n DESC, campaign_id")
    user = rows("SELECT user_id, count() AS n FROM events WHERE user_id != '' "
                "GROUP BY user_id ORDER BY n DESC, user_id LIMIT 1")[0]
    days = rows("SELECT toDate(ts) AS d, count() AS n FROM events GROUP BY d ORDER BY n DESC, d")
    day = days[0]["d"]
    params = {
        "campaign": camps[0]["campaign_id"],
        "median_campaign": camps[len(camps) // 2]["campaign_id"],
        "user": user["user_id"], "day": day,
        "next_day": (datetime.date.fromisoformat(day) + datetime.timedelta(days=1)).isoformat(),
        "first_day": min(r["d"] for r in days), "last_day": max(r["d"] for r in days),
    }
    print(f"parameters {params}; the top campaign has {camps[0]['n']:,} impressions, the "
          f"median one {camps[len(camps) // 2]['n']:,}; the user {user['n']} events", flush=True)
    return params


def build_store(ad: Adstore, work: str, impressions: int, keep_data: bool,
                problems: list[str]) -> tuple[dict, dict]:
    """`adstore gen` into `work`, one `adstore ingest` of every file into `ad`'s (new) store,
    its totals checked against truth.json (a difference appended to `problems`), then
    `adstore compact`. The generated files are removed unless `keep_data`; truth.json is kept
    as `work`/truth.json. Returns (the load's figures, truth.json)."""
    data_dir = os.path.join(work, f"gen-{impressions}")
    shutil.rmtree(ad.data, ignore_errors=True)
    truth = generate(ad, data_dir, impressions)
    shutil.copyfile(os.path.join(data_dir, "truth.json"), os.path.join(work, "truth.json"))
    files = sorted(os.path.join(data_dir, f) for f in truth["files"])
    print(f"adstore ingest of {len(files)} files ...", flush=True)
    load = ad.ingest(files, int((datetime.datetime.now().timestamp() + 86_400) * 1000))
    problems += check_totals("adstore ingest", {"all": load}, truth)
    if not keep_data:
        shutil.rmtree(data_dir, ignore_errors=True)
    print(f"  {load['seconds']:.1f} s, {load['rows_read'] / load['seconds']:,.0f} rows/s, "
          f"peak RSS {mib(load['peak_rss'])}", flush=True)
    load["compact_seconds"] = ad.compact()
    print(f"  adstore compact {load['compact_seconds']:.1f} s", flush=True)
    return load, truth


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--impressions", type=int, default=50_000_000)
    p.add_argument("--runs", type=int, default=7, help="hot gRPC rounds per query (CLI: 3)")
    p.add_argument("--work", default=os.path.join(REPO, "target", "adstore-only-bench"))
    p.add_argument("--adstore", default=os.path.join(REPO, "target", "release", "adstore"))
    p.add_argument("--keep-data", action="store_true", help="keep the generated files")
    p.add_argument("--reuse-store", action="store_true",
                   help="only the queries, on the store of the last run in --work")
    a = p.parse_args()
    os.makedirs(a.work, exist_ok=True)
    store = os.path.join(a.work, "adstore-data")
    ad = Adstore(a.adstore, store)
    problems: list[str] = []
    if a.reuse_store and os.path.isdir(store):
        print(f"reusing the store {store}: ingest not measured", flush=True)
        load = {}
    else:
        load, _ = build_store(ad, a.work, a.impressions, a.keep_data, problems)

    grpc_client.generate_stubs(REPO, os.path.join(a.work, "pyproto"))
    server = Server(a.adstore, store, os.path.join(a.work, "serve.log"))
    client = grpc_client.SqlClient(server.grpc)
    times = {}
    try:
        params = suite_params(client)
        for name, sql in suite.queries(params).items():
            client.sql(sql)
            g = statistics.median(client.sql(sql)[1] for _ in range(a.runs))
            c = statistics.median(ad.query(sql)[1] for _ in range(3))
            times[name] = {"grpc_ms": g, "cli_ms": c}
            print(f"  {name:<4} {suite.TITLES[name]:<40} gRPC {g:8.1f} ms   CLI {c:8.1f} ms", flush=True)
        server_rss = server.peak_rss()
    finally:
        client.close()
        server.stop()
        runner.close()
    print(f"\nmachine: {machine()}; adstore serve peak RSS {mib(server_rss)}")
    with open(os.path.join(a.work, "figures.json"), "w") as f:
        json.dump({"load": load, "params": params, "times": times, "server_rss": server_rss}, f,
                  indent=2)
    for p_ in problems:
        print(f"FAILED: {p_}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
