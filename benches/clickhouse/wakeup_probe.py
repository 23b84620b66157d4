#!/usr/bin/env python3
"""What a gRPC call costs after the server sat idle: for each query, the median of `--calls`
`Sql` calls back to back, then of `--calls` calls each made `--idle-ms` after the last one
returned, on one warm channel to `adstore serve` over an existing store (the harness makes every
gRPC call after other work, so its times are the second kind). See BENCHMARKS.md, "Where
adstore is slower".

    benches/clickhouse/.venv/bin/python benches/clickhouse/wakeup_probe.py \\
        --adstore target/release/adstore --data /tmp/chb10/adstore-data Q3 Q10
"""

import argparse
import os
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import grpc_client  # noqa: E402
import suite  # noqa: E402
from adstore_only import suite_params  # noqa: E402
from adstore_side import Server  # noqa: E402

EMPTY = "SELECT count() FROM events WHERE campaign_id = 'nope'"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--adstore", default=os.path.join(REPO, "target", "release", "adstore"))
    p.add_argument("--data", required=True, help="an adstore data directory (not modified)")
    p.add_argument("--calls", type=int, default=15)
    p.add_argument("--idle-ms", type=float, default=200)
    p.add_argument("queries", nargs="*", default=["Q4m", "Q10", "Q3"],
                   help="suite query names (the empty query always runs first)")
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as work:
        grpc_client.generate_stubs(REPO, os.path.join(work, "pyproto"))
        server = Server(a.adstore, a.data, os.path.join(work, "serve.log"))
        client = grpc_client.SqlClient(server.grpc)
        try:
            texts = suite.queries(suite_params(client))
            for name in ["empty", *a.queries]:
                sql = EMPTY if name == "empty" else texts[name]
                for _ in range(3):
                    client.sql(sql)
                hot = statistics.median(client.sql(sql)[1] for _ in range(a.calls))
                idle = []
                for _ in range(a.calls):
                    time.sleep(a.idle_ms / 1000)
                    idle.append(client.sql(sql)[1])
                print(f"{name:<6} back to back {hot:7.2f} ms   after {a.idle_ms:.0f} ms idle "
                      f"{statistics.median(idle):7.2f} ms", flush=True)
        finally:
            client.close()
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
