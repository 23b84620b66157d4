#!/usr/bin/env python3
"""Two adstore builds side by side over gRPC: each serves its own copy of one store, and the
same `Sql` calls go to one then the other, in turn (the first to go alternating), so that both
builds see the same moments of this shared, noisy machine. For each query, the median of
`--calls` calls each, back to back and then each `--idle-ms` after the last call returned.
A change of ~0.3 ms per call shows here where timing one build after the other
(wakeup_probe.py) drowns it.

    cp -r STORE /tmp/store-b && rm -f /tmp/store-b/LOCK
    benches/clickhouse/.venv/bin/python benches/clickhouse/ab_probe.py \\
        --a /tmp/adstore-before --a-data STORE --b target/release/adstore --b-data /tmp/store-b \\
        empty Q4m Q5m Q10
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
from wakeup_probe import EMPTY  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--a", required=True, help="the first adstore binary")
    p.add_argument("--a-data", required=True, help="its data directory (not modified)")
    p.add_argument("--b", required=True, help="the second adstore binary")
    p.add_argument("--b-data", required=True,
                   help="its data directory: a copy of --a-data (a store has one server)")
    p.add_argument("--b-env", action="append", default=[], metavar="KEY=VALUE",
                   help="an environment variable for the second server only (repeatable): "
                        "one build under two settings, e.g. TOKIO_WORKER_THREADS=1")
    p.add_argument("--calls", type=int, default=40)
    p.add_argument("--idle-ms", type=float, default=100)
    p.add_argument("queries", nargs="*", default=["empty", "Q4m", "Q5m", "Q10"],
                   help="suite query names, or `empty` (a query that matches no block)")
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as work:
        grpc_client.generate_stubs(REPO, os.path.join(work, "pyproto"))
        servers = [Server(a.a, a.a_data, os.path.join(work, "a.log"))]
        saved = dict(os.environ)
        try:
            os.environ.update(kv.split("=", 1) for kv in a.b_env)
            servers.append(Server(a.b, a.b_data, os.path.join(work, "b.log")))
        finally:
            os.environ.clear()
            os.environ.update(saved)
        clients = [grpc_client.SqlClient(s.grpc) for s in servers]
        try:
            texts = suite.queries(suite_params(clients[0]))
            for name in a.queries:
                sql = EMPTY if name == "empty" else texts[name]
                first, second = (c.sql(sql)[0] for c in clients)
                if not first.equals(second):
                    print(f"{name}: the builds answer differently", file=sys.stderr)
                    return 1
                for idle in (0.0, a.idle_ms / 1000):
                    times: list[list[float]] = [[], []]
                    for i in range(a.calls):
                        for k in (i % 2, 1 - i % 2):
                            if idle:
                                time.sleep(idle)
                            times[k].append(clients[k].sql(sql)[1])
                    print(f"{name:<6} {'back to back' if not idle else f'after {a.idle_ms:.0f} ms idle':<18}"
                          f" A {statistics.median(times[0]):7.2f} ms   B {statistics.median(times[1]):7.2f} ms",
                          flush=True)
        finally:
            for c in clients:
                c.close()
            for s in servers:
                s.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
