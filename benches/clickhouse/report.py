"""The comparison's one table (plain text for the terminal, Markdown for BENCHMARKS.md) and
its figures as JSON."""

import json
import os
import platform

from ch_side import FORMATS

FORMAT_NAMES = {"json": "JSON Lines impressions", "csv": "CSV clicks/conversions",
                "avro": "Avro bid requests"}


def mib(n: int) -> str:
    return f"{n / 2**20:,.1f} MiB"


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = 0
    try:
        with open("/proc/meminfo") as f:
            mem = int(f.readline().split()[1]) * 1024
    except OSError:
        pass
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (f"{os.cpu_count()} cores ({cpu}), {mem / 2**30:.0f} GiB RAM, Linux {platform.release()}; "
            f"load average at the end of the run {load}")


class Report:
    def __init__(self, impressions: int, truth: dict):
        self.impressions = impressions
        self.truth = truth
        self.ch_version = ""
        self.ch_baseline_rss = 0
        self.ch_peak_rss = 0
        self.ad_loads: dict = {}
        self.ch_loads: dict = {}
        self.grpc_load: dict | None = None
        self.grpc_cli_load: dict | None = None
        self.ch_native_json: dict | None = None
        self.ch_native_checked: dict | None = None
        self.ch_optimize_seconds = 0.0
        # at_scale.py: ClickHouse loaded from adstore's export, not from the raw files.
        self.loaded_from_adstore: dict = {}
        self.ad_compact_seconds = 0.0
        self.ch_disk: dict = {}
        self.ad_disk: dict = {}
        self.params: dict = {}
        self.queries: dict = {}
        self.times: dict = {}
        self.server_rss = 0
        self.runner_floor_rss = 0

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "truth"} | {
            "machine": machine(), "truth": self.truth}

    def rows(self) -> list[tuple[str, ...]]:
        """(what, adstore, clickhouse, ratio) rows; ratio > 1 means adstore is faster/smaller."""
        out: list[tuple[str, ...]] = []
        if self.ad_loads:
            out.append(("ingest (rows/s, end to end)", "adstore", "ClickHouse", "adstore / CH"))
        else:
            out.append(("storage", "adstore", "ClickHouse", "CH / adstore"))
        for fmt in FORMATS:
            ad, ch = self.ad_loads.get(fmt), self.ch_loads.get(fmt)
            if not ad or not ch:
                continue
            ad_rate = ad["rows_read"] / ad["seconds"]
            ch_rate = ch["rows_read"] / ch["seconds"]
            out.append((f"{FORMAT_NAMES[fmt]} ({ad['rows_read']:,} rows)", f"{ad_rate:,.0f}",
                        f"{ch_rate:,.0f}", f"{ad_rate / ch_rate:.2f}x"))
        if self.ad_loads and self.ch_loads:
            rows = sum(r["rows_read"] for r in self.ad_loads.values())
            ad_s = sum(r["seconds"] for r in self.ad_loads.values())
            ch_s = sum(r["seconds"] for r in self.ch_loads.values())
            out.append(("all formats", f"{rows / ad_s:,.0f}", f"{rows / ch_s:,.0f}",
                        f"{ch_s / ad_s:.2f}x"))
        if self.grpc_cli_load:
            g = self.grpc_cli_load
            out.append(("all formats through `adstore ingest --server` (client process)",
                        f"{g['rows_read'] / g['seconds']:,.0f}", "", ""))
        if self.grpc_load:
            g = self.grpc_load
            out.append(("all formats over gRPC Append (one stream, 8 MiB raw payloads)",
                        f"{g['rows_read'] / g['seconds']:,.0f}", "", ""))
        if self.ch_native_checked:
            n = self.ch_native_checked
            ad = self.ad_loads.get("json")
            rate = n["rows_read"] / n["seconds"]
            out.append(("CH JSON via JSONEachRow parser + same normalization + dedup (1)",
                        "", f"{rate:,.0f}",
                        f"{ad['rows_read'] / ad['seconds'] / rate:.2f}x" if ad else ""))
        if self.ch_native_json:
            n = self.ch_native_json
            out.append(("CH JSONEachRow straight into a table (no checks, no dedup) (2)", "",
                        f"{n['rows'] / n['seconds']:,.0f}", ""))
        if self.ch_disk:
            seg = self.ad_disk.get(".seg", 0)
            ch_bytes = self.ch_disk["events_bytes"]
            out.append((f"events on disk (adstore {self.ad_disk.get('segments', 0):,} segment files; "
                        f"CH {self.ch_disk['parts']} parts)", mib(seg), mib(ch_bytes),
                        f"{ch_bytes / seg:.2f}x" if seg else ""))
            out.append(("adstore data dir in all (segments, WAL, manifest, dead letters)",
                        mib(sum(v for k, v in self.ad_disk.items() if k != "segments")), "", ""))
        if self.times:
            out.append(("query (median ms)", "adstore CLI", "ClickHouse", "CH / adstore"))
            has_grpc = any(t and "adstore_grpc_ms" in t for t in self.times.values())
            for name, t in self.times.items():
                if t is None:
                    out.append((name, "failed", "", ""))
                    continue
                line = (f"{name} {self.title(name)} ({t['rows']} rows)",
                        f"{t['adstore_cli_ms']:.1f}", f"{t['clickhouse_ms']:.1f}",
                        f"{t['clickhouse_ms'] / t['adstore_cli_ms']:.2f}x")
                out.append(line)
                if has_grpc and "adstore_grpc_ms" in t:
                    out.append((f"{name} over warm gRPC", f"{t['adstore_grpc_ms']:.1f}",
                                f"{t['clickhouse_ms']:.1f}",
                                f"{t['clickhouse_ms'] / t['adstore_grpc_ms']:.2f}x"))
        split = {n: t for n, t in self.times.items() if t and "adstore_server_ms" in t}
        if split:
            # Where a gRPC call's time goes: the server's handler (request in, result out:
            # planning, scan, the blocking pool's wake-up) and the rest (transport, Arrow, the
            # client, waking the processes after the harness's other work).
            out.append(("gRPC call (median ms)", "in adstore serve", "whole call",
                        "CH / in server"))
            for name, t in split.items():
                out.append((f"{name} {self.title(name)}", f"{t['adstore_server_ms']:.1f}",
                            f"{t['adstore_grpc_ms']:.1f}",
                            f"{t['clickhouse_ms'] / t['adstore_server_ms']:.2f}x"))
        out.append(("peak RSS", "adstore", "ClickHouse", ""))
        if self.ad_loads:
            out.append(("ingest", mib(max(r["peak_rss"] for r in self.ad_loads.values())),
                        mib(self.ch_peak_rss), ""))
        cli = [t["adstore_cli_rss"] for t in self.times.values() if t]
        if cli:
            out.append(("query (adstore: largest query process)", mib(max(cli)), "", ""))
        if self.server_rss:
            out.append(("adstore serve (whole run)", mib(self.server_rss), "", ""))
        return out

    @staticmethod
    def title(name: str) -> str:
        from suite import TITLES

        return TITLES.get(name, "")

    def header(self) -> list[str]:
        t = self.truth
        return [
            f"adstore vs ClickHouse {self.ch_version} (chdb), {self.impressions:,} impressions "
            f"({t['rows_written']:,} rows written, {t['accepted_total']:,} distinct events)",
            f"machine: {machine()}",
            "ClickHouse peak RSS is the whole worker process (its Python interpreter alone: "
            f"{mib(self.ch_baseline_rss)}); ClickHouse ingest and queries run in one process. "
            "adstore's are each process's own (ru_maxrss, forked from a process of "
            f"{mib(self.runner_floor_rss)}; the server's VmHWM).",
        ]

    def targets(self) -> list[str]:
        """The ingest and query issues' targets, each met or missed in this run (informational:
        the run fails only on wrong answers)."""
        out = []
        ad, ch = self.ad_loads.get("json"), self.ch_loads.get("json")
        if ad and ch:
            rate = ad["rows_read"] / ad["seconds"]
            ch_rate = ch["rows_read"] / ch["seconds"]
            out.append(f"{'met' if rate >= 1e6 else 'MISSED'}: JSON ingest >= 1,000,000 rows/s "
                       f"({rate:,.0f})")
            out.append(f"{'met' if rate >= 2 * ch_rate else 'MISSED'}: JSON ingest >= 2x "
                       f"ClickHouse's with the same contract ({rate / ch_rate:.2f}x)")
            rss = max(r["peak_rss"] for r in self.ad_loads.values())
            out.append(f"{'met' if rss <= 2**30 else 'MISSED'}: adstore ingest peak RSS <= 1 GiB "
                       f"({mib(rss)})")
        for name, t in self.times.items():
            if not t:
                continue
            ms = t.get("adstore_grpc_ms", t["adstore_cli_ms"])
            how = "gRPC" if "adstore_grpc_ms" in t else "CLI"
            ratio = t["clickhouse_ms"] / ms
            line = (f"{'met' if ratio >= 3 else 'MISSED'}: {name} >= 3x faster than ClickHouse "
                    f"({ratio:.2f}x, {how})")
            if name in ("Q4", "Q5", "Q7", "Q4m", "Q5m"):
                line += (f"; {'met' if ms < 10 else 'MISSED'}: under 10 ms ({ms:.1f} ms at "
                         f"{self.impressions:,} impressions; the target is at 50M)")
            out.append(line)
        return out

    def notes(self) -> list[str]:
        out = []
        if self.ad_loads:
            out.append(
                "Ingest is end to end on both sides: parse, validate with reasons, normalize ts "
                "and money, exact dedup by event_id (against the table and within the batch), "
                "store, keep the rejects (adstore: its dead-letter store; CH: a dead_letters "
                "table). adstore fsyncs its WAL before it acknowledges; ClickHouse writes "
                "MergeTree parts with its default of no fsync.")
        if self.ch_native_checked:
            out.append("(1) the JSON rows ClickHouse's parser refuses (malformed, invalid UTF-8) "
                       "are skipped, not classified or kept; a number where a string belongs is "
                       "read as its text, not rejected. Not checked against truth.json.")
        if self.ch_native_json:
            out.append("(2) a lower bound: ts and money left as text, no checks, no dedup.")
        if self.grpc_load:
            out.append("gRPC Append: one client stream of raw payloads into `adstore serve` on its "
                       "own store, timed from the first request to the durable acknowledgement "
                       "(files read and cut before the clock); then a Flush.")
        if self.loaded_from_adstore:
            f = self.loaded_from_adstore
            out.append(f"ClickHouse was loaded from adstore's accepted events, not from the raw "
                       f"files: {f['rows']:,} rows exported by `adstore query --format arrow` in "
                       f"{f['windows']} windows ({f['export_seconds']:.1f} s) and inserted from "
                       f"ArrowStream ({f['insert_seconds']:.1f} s); per day and event type both "
                       "stores' counts and sums were checked equal before the queries. The "
                       "ingest comparison (same files, same contract) is compare.py's.")
        if self.ch_optimize_seconds:
            out.append(f"CH's OPTIMIZE TABLE events FINAL after the load ({self.ch_optimize_seconds:.1f} s) "
                       "is not in its load time; queries run on the merged parts.")
        if self.ad_compact_seconds:
            out.append(f"Likewise `adstore compact` after the ingest ({self.ad_compact_seconds:.1f} s; "
                       "gRPC: AdminService.Compact after the Flush) is not in adstore's ingest "
                       "time; queries run on one segment per partition.")
        if any(t and "adstore_server_ms" in t for t in self.times.values()):
            out.append("In adstore serve: the handler's own time for the same timed gRPC calls "
                       "(its adstore_query_seconds, read from its metrics after each call), "
                       "from the request's arrival to its result; the whole call adds the "
                       "transport, the Arrow encoding and decoding and the Python client, each "
                       "woken after the harness's other work. The targets use the whole call.")
        if self.times:
            out.append("adstore CLI times are whole processes (`adstore query`: start, open the "
                       "store read-only, run, print JSON); ClickHouse runs in-process in a warm "
                       "chdb session; gRPC times are one Sql call on a warm channel, Arrow "
                       "decoded. Medians of the hot rounds after a warm-up run.")
        return out

    def print(self) -> None:
        print()
        for h in self.header():
            print(h)
        rows = self.rows()
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        for r in rows:
            if r[1] in ("adstore", "adstore CLI", "in adstore serve"):
                print()
            print(f"{r[0]:<{widths[0]}}  {r[1]:>{widths[1]}}  {r[2]:>{widths[2]}}  {r[3]:>{widths[3]}}")
        print()
        for n in self.notes():
            print(n)
        if self.targets():
            print("\ntargets (informational):")
            for t in self.targets():
                print(f"  {t}")

    def emit(self, markdown: str | None, json_path: str | None) -> None:
        """Prints the table; writes it as Markdown to `markdown` and every figure as JSON to
        `json_path`, where given."""
        self.print()
        if markdown:
            with open(markdown, "w") as f:
                f.write(self.markdown())
        if json_path:
            with open(json_path, "w") as f:
                json.dump(self.as_dict(), f, indent=2)

    def markdown(self) -> str:
        lines = [f"{h}  " for h in self.header()] + [""]
        for r in self.rows():
            if r[1] in ("adstore", "adstore CLI", "in adstore serve"):
                lines += ["", f"| {r[0]} | {r[1]} | {r[2]} | {r[3]} |", "|---|---:|---:|---:|"]
            else:
                lines.append(f"| {r[0]} | {r[1]} | {r[2]} | {r[3]} |")
        lines += [""] + [f"{n}  " for n in self.notes()]
        if self.targets():
            lines += ["", "Targets of the ingest and query issues in this run:", ""]
            lines += [f"- {t}" for t in self.targets()]
        if self.params:
            lines += ["", "Parameters: " + ", ".join(f"{k} = `{v}`" for k, v in self.params.items())]
        return "\n".join(lines) + "\n"
