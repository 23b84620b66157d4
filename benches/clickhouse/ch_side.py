"""The ClickHouse side: an embedded ClickHouse (chdb) session over a data directory, run in a
process of its own so that its peak RSS is its own (plus the Python interpreter's, reported
apart as `baseline_rss`).

`ClickHouseProcess` is the harness's handle: each call is a message to the worker process,
which answers with the result and the time ClickHouse took, measured inside the worker around
the chdb call (no pipe in the timing).
"""

import glob
import json
import multiprocessing as mp
import os
import resource
import time

from ch_sql import (
    DEAD_LETTERS_TABLE,
    NATIVE_JSON_SETTINGS,
    EVENT_COLUMNS,
    EVENTS_TABLE,
    STAGING_COLUMNS,
    avro_select,
    csv_select,
    json_native_select,
    json_select,
)

FORMATS = ("json", "csv", "avro")
FILE_GLOBS = {"json": "impressions-*", "csv": "events-*", "avro": "bid_requests-*.avro"}


def files_of(data_dir: str, fmt: str) -> list[str]:
    return sorted(glob.glob(os.path.join(data_dir, FILE_GLOBS[fmt])))


class ClickHouse:
    """One chdb session over `path`, with the adstore-shaped event table."""

    def __init__(self, path: str):
        import chdb
        import chdb.session

        self.version = chdb.query("SELECT version()", "TSVRaw").bytes().decode().strip()
        self.session = chdb.session.Session(path)
        self.session.query("CREATE DATABASE IF NOT EXISTS bench")
        self.session.query("USE bench")
        self.session.query(EVENTS_TABLE)
        self.session.query(DEAD_LETTERS_TABLE)

    def sql(self, text: str, fmt: str = "TSVRaw") -> str:
        return self.session.query(text, fmt).bytes().decode()

    def scalar(self, text: str) -> str:
        return self.sql(text).strip()

    def load(self, data_dir: str, fmt: str, ts_max_micros: int, table: str = "events",
             dead: str = "dead_letters", native: bool = False) -> dict:
        """Ingests one format's files with validation, normalization and exact dedup (against
        the table and within the batch); rejects go to `dead_letters`. Timed end to end.
        `native`: JSON through ClickHouse's JSONEachRow parser (ch_sql.json_native_select)."""
        files = files_of(data_dir, fmt)
        settings = "short_circuit_function_evaluation = 'disable', compile_expressions = 0"
        cols = ", ".join(["file", "reason", "raw", *EVENT_COLUMNS])
        started = time.perf_counter()
        self.sql("DROP TABLE IF EXISTS staging")
        self.sql(f"CREATE TABLE staging ({STAGING_COLUMNS}) ENGINE = Memory")
        if fmt == "json" and native:
            selects = [json_native_select(os.path.join(data_dir, FILE_GLOBS[fmt]), ts_max_micros)]
            settings += ", " + NATIVE_JSON_SETTINGS
        elif fmt == "json":
            selects = [json_select(os.path.join(data_dir, FILE_GLOBS[fmt]), ts_max_micros)]
        elif fmt == "avro":
            selects = [avro_select(os.path.join(data_dir, FILE_GLOBS[fmt]), ts_max_micros)]
        else:
            selects = []
            for f in files:
                header = self.scalar(
                    f"SELECT line FROM file('{f}', 'LineAsString') LIMIT 1 "
                    "SETTINGS max_threads = 1, input_format_parallel_parsing = 0"
                ).split(",")
                selects.append(csv_select(f, header, ts_max_micros))
            # One statement for every file: a statement's planning costs ~0.3 s here.
            selects = [" UNION ALL ".join(f"SELECT * FROM ({s})" for s in selects)]
        for s in selects:
            # Short-circuit evaluation would evaluate the shared subexpressions of the checks
            # once per branch: ~6x slower here (measured), so it is off for the load; JIT
            # compilation of the expressions costs ~0.1 s a statement and gains nothing here.
            self.sql(f"INSERT INTO staging SELECT {cols} FROM ({s}) SETTINGS {settings}")
        parsed = time.perf_counter()
        before = int(self.scalar(f"SELECT count() FROM {table}"))
        event_cols = ", ".join(
            "fromUnixTimestamp64Micro(ts, 'UTC') AS ts" if c == "ts" else c
            for c in EVENT_COLUMNS
        )
        self.sql(
            f"INSERT INTO {table} SELECT {event_cols} FROM staging "
            f"WHERE reason = '' AND event_id NOT IN (SELECT event_id FROM {table}) "
            "LIMIT 1 BY event_id"
        )
        self.sql(
            f"INSERT INTO {dead} SELECT file, reason, raw FROM staging WHERE reason != ''"
        )
        done = time.perf_counter()
        stats = json.loads(
            self.sql(
                "SELECT count() AS rows_read, countIf(reason = '') AS valid, "
                "countIf(reason != '') AS rejected FROM staging",
                "JSONEachRow",
            )
        )
        rejected = {}
        for line in self.sql(
            "SELECT reason, count() AS n FROM staging WHERE reason != '' GROUP BY reason",
            "JSONEachRow",
        ).splitlines():
            r = json.loads(line)
            rejected[r["reason"]] = int(r["n"])
        self.sql("DROP TABLE staging")
        accepted = int(self.scalar(f"SELECT count() FROM {table}")) - before
        valid = int(stats["valid"])
        return {
            "files": len(files),
            "bytes": sum(os.path.getsize(f) for f in files),
            "rows_read": int(stats["rows_read"]),
            "accepted": accepted,
            "duplicates": valid - accepted,
            "rejected": rejected,
            "seconds": done - started,
            "parse_seconds": parsed - started,
            "dedup_seconds": done - parsed,
        }

    def load_native_json(self, data_dir: str) -> dict:
        """The shortcut a ClickHouse user might take first: JSONEachRow's native parser into a
        scratch table, malformed rows skipped by the parser (not kept, no reasons), no type or
        range checks, no normalization of ts or money, no dedup. A lower bound on its cost."""
        self.sql("DROP TABLE IF EXISTS native_json")
        self.sql(
            "CREATE TABLE native_json (event_id String, ts String, creative_id String, "
            "campaign_id String, user_id String, site String, country String, device String, "
            "os String, cost_micros Nullable(Int64), cost Nullable(String)) "
            "ENGINE = MergeTree ORDER BY tuple()"
        )
        path = os.path.join(data_dir, FILE_GLOBS["json"])
        started = time.perf_counter()
        self.sql(
            f"INSERT INTO native_json SELECT * FROM file('{path}', 'JSONEachRow', "
            "'event_id String, ts String, creative_id String, campaign_id String, "
            "user_id String, site String, country String, device String, os String, "
            "cost_micros Nullable(Int64), cost Nullable(String)') "
            "SETTINGS input_format_allow_errors_ratio = 0.01, input_format_allow_errors_num = 1000000, "
            "input_format_skip_unknown_fields = 1"
        )
        seconds = time.perf_counter() - started
        rows = int(self.scalar("SELECT count() FROM native_json"))
        self.sql("DROP TABLE native_json")
        return {"rows": rows, "seconds": seconds}

    def load_native_json_checked(self, data_dir: str, ts_max_micros: int) -> dict:
        """`load` of the JSON files through JSONEachRow's parser into a scratch copy of the
        event table (dropped after): the fast path with the contract's normalization and dedup."""
        scratch = ("events_native", "dead_letters_native")
        for t in scratch:
            self.sql(f"DROP TABLE IF EXISTS {t}")
        self.sql("CREATE TABLE events_native AS events")
        self.sql("CREATE TABLE dead_letters_native AS dead_letters")
        try:
            return self.load(data_dir, "json", ts_max_micros, table=scratch[0], dead=scratch[1],
                             native=True)
        finally:
            for t in scratch:
                self.sql(f"DROP TABLE IF EXISTS {t}")

    def load_arrow(self, path: str) -> dict:
        """Inserts an Arrow IPC stream of accepted events (adstore's `query --format arrow` of
        every column) as they are: no checks, no dedup. Timed; the rows inserted."""
        cols = ", ".join(EVENT_COLUMNS)
        before = int(self.scalar("SELECT count() FROM events"))
        started = time.perf_counter()
        self.sql(f"INSERT INTO events ({cols}) SELECT {cols} FROM file('{path}', 'ArrowStream')")
        seconds = time.perf_counter() - started
        return {"rows": int(self.scalar("SELECT count() FROM events")) - before,
                "seconds": seconds}

    def optimize(self) -> float:
        started = time.perf_counter()
        self.sql("OPTIMIZE TABLE events FINAL")
        return time.perf_counter() - started

    def query(self, text: str) -> tuple[list[dict], float]:
        started = time.perf_counter()
        out = self.session.query(text, "JSONEachRow").bytes()
        ms = (time.perf_counter() - started) * 1000
        return [json.loads(line) for line in out.decode().splitlines() if line], ms

    def disk(self) -> dict:
        r = json.loads(
            self.sql(
                "SELECT sum(bytes_on_disk) AS events_bytes, sum(rows) AS rows, count() AS parts "
                "FROM system.parts WHERE database = 'bench' AND table = 'events' AND active",
                "JSONEachRow",
            )
        )
        return {k: int(v) for k, v in r.items()}


def _worker(conn, path: str) -> None:
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    ch = ClickHouse(path)
    conn.send(("ok", {"version": ch.version, "baseline_rss": baseline}))
    while True:
        method, args = conn.recv()
        if method == "stop":
            conn.send(("ok", None))
            return
        try:
            if method == "peak_rss":
                result = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
            else:
                result = getattr(ch, method)(*args)
            conn.send(("ok", result))
        except Exception as e:  # the harness reports it and exits non-zero
            conn.send(("error", f"{type(e).__name__}: {str(e)[:2000]}"))


class ClickHouseError(RuntimeError):
    pass


class ClickHouseProcess:
    """The harness's handle on the worker process; methods mirror `ClickHouse`'s."""

    def __init__(self, path: str):
        ctx = mp.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker, args=(child, path), daemon=True)
        self.proc.start()
        self.info = self._answer()

    def _answer(self):
        status, value = self.conn.recv()
        if status != "ok":
            raise ClickHouseError(value)
        return value

    def call(self, method: str, *args):
        self.conn.send((method, args))
        return self._answer()

    def close(self) -> None:
        if self.proc.is_alive():
            self.call("stop")
            self.proc.join(timeout=30)
        if self.proc.is_alive():
            self.proc.kill()
