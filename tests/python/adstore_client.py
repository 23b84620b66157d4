"""End-to-end checks of `adstore serve` from a real gRPC client: Python grpcio with the
adstore.v1 stubs generated from proto/adstore/v1/*.proto by grpcio-tools (scripts/python-env).

Run by the Rust tests in tests/grpc_*.rs as
    python adstore_client.py SCENARIO --grpc HOST:PORT [--metrics HOST:PORT] [options]
Each scenario asserts; a failure exits non-zero with the reason on stderr. Scenarios that the
Rust side must act between (a restart, a SIGTERM) print marker lines on stdout and wait.
"""

import argparse
import json
import os
import sys
import time
import urllib.request

sys.path.insert(0, os.environ.get("ADSTORE_PY_GEN")
                or os.path.join(os.path.dirname(sys.executable), "..", "gen"))

import grpc  # noqa: E402
import pyarrow as pa  # noqa: E402
from grpc_health.v1 import health_pb2, health_pb2_grpc  # noqa: E402
from grpc_reflection.v1alpha import reflection_pb2  # noqa: E402
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

from adstore.v1 import admin_pb2, admin_pb2_grpc  # noqa: E402
from adstore.v1 import ingest_pb2, ingest_pb2_grpc  # noqa: E402
from adstore.v1 import query_pb2, query_pb2_grpc  # noqa: E402

FORMATS = {
    ".jsonl": ingest_pb2.FORMAT_JSON_LINES,
    ".csv": ingest_pb2.FORMAT_CSV,
    ".avro": ingest_pb2.FORMAT_AVRO,
}


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def channel(args):
    if args.ca:
        with open(args.ca, "rb") as f:
            creds = grpc.ssl_channel_credentials(root_certificates=f.read())
        return grpc.secure_channel(args.grpc, creds, options=[("grpc.ssl_target_name_override", "localhost")])
    return grpc.insecure_channel(args.grpc)


def meta(token):
    return [("authorization", f"Bearer {token}")] if token else []


def read_arrow(responses):
    """Concatenates the IPC bytes of a Sql/Aggregate stream and reads them with pyarrow."""
    chunks, schema, truncated = [], None, False
    for r in responses:
        if schema is None:
            schema = [(c.name, c.data_type) for c in r.schema]
        chunks.append(r.arrow_ipc)
        truncated = r.truncated
    table = pa.ipc.open_stream(pa.py_buffer(b"".join(chunks))).read_all()
    check([n for n, _ in schema] == table.column_names, f"schema {schema} vs {table.column_names}")
    return table, truncated


def sql(ch, text, token=None, row_limit=0):
    stub = query_pb2_grpc.QueryServiceStub(ch)
    return read_arrow(stub.Sql(query_pb2.SqlRequest(sql=text, row_limit=row_limit), metadata=meta(token)))


def raw_request(path, producer="", seq=None):
    ext = os.path.splitext(path)[1]
    with open(path, "rb") as f:
        data = f.read()
    req = ingest_pb2.AppendRequest(
        raw=ingest_pb2.RawPayload(format=FORMATS[ext], data=data, source=os.path.basename(path)),
        producer_id=producer,
    )
    if seq is not None:
        req.sequence = seq
    return req


def typed_request(ids, producer="", seq=None, campaign="cmp-typed", ts_micros=1_763_208_000_000_000):
    events = [
        ingest_pb2.Event(event_id=i, event_type=ingest_pb2.EVENT_TYPE_IMPRESSION, ts_micros=ts_micros,
                         campaign_id=campaign, user_id="u-" + i, cost_micros=1000)
        for i in ids
    ]
    req = ingest_pb2.AppendRequest(events=ingest_pb2.TypedEvents(events=events), producer_id=producer)
    if seq is not None:
        req.sequence = seq
    return req


def count_rows(ch, token=None):
    t, _ = sql(ch, "SELECT count() AS n, uniqExact(event_id) AS u FROM events", token)
    return t.column("n")[0].as_py(), t.column("u")[0].as_py()


# ---- scenarios ----------------------------------------------------------------------------

def scenario_formats(args):
    """Streams each generated file as one raw payload over Append; totals equal truth.json."""
    ch = channel(args)
    stub = ingest_pb2_grpc.IngestServiceStub(ch)
    truth = json.load(open(os.path.join(args.gen, "truth.json")))
    files = sorted(os.path.join(args.gen, f) for f in truth["files"])
    seen_formats = set()
    accepted = duplicates = rejected = 0
    for path in files:
        seen_formats.add(os.path.splitext(path)[1])
        # Client streaming: the file in one request, then an empty typed request.
        resp = stub.Append(iter([raw_request(path)]), metadata=meta(args.token))
        check(resp.requests == 1, f"{path}: requests {resp.requests}")
        accepted += resp.accepted
        duplicates += resp.duplicates
        rejected += resp.rejected
        check(sum(c.count for c in resp.rejected_by_reason) == resp.rejected, "reason counts")
        for rj in resp.first_rejects:
            check(rj.position > 0 and rj.reason, f"reject {rj}")
    check(seen_formats == {".jsonl", ".csv", ".avro"}, f"formats {seen_formats}")
    check(accepted == truth["accepted_total"], f"accepted {accepted} != {truth['accepted_total']}")
    check(duplicates == truth["duplicates"], f"duplicates {duplicates} != {truth['duplicates']}")
    check(rejected == truth["rejected_total"], f"rejected {rejected} != {truth['rejected_total']}")
    t, _ = sql(ch, "SELECT event_type, count() AS n FROM events GROUP BY event_type ORDER BY event_type",
               args.token)
    got = {row["event_type"]: row["n"] for row in t.to_pylist()}
    check(got == truth["accepted_by_type"], f"by type {got} != {truth['accepted_by_type']}")
    # A second send of the same files stores nothing (dedup by event_id).
    resp = stub.AppendBatch(raw_request(files[0]), metadata=meta(args.token))
    check(resp.accepted == 0, f"resend accepted {resp.accepted}")
    dl = admin_pb2_grpc.AdminServiceStub(ch).DeadLetters(admin_pb2.DeadLettersRequest(limit=5),
                                                         metadata=meta(args.token))
    check(dl.total == truth["rejected_total"], f"dead letters {dl.total}")
    print("formats ok", accepted, duplicates, rejected)


def scenario_once_before(args):
    """(producer, sequence) retried on a live server: applied once."""
    ch = channel(args)
    stub = ingest_pb2_grpc.IngestServiceStub(ch)
    ids = [f"once-{i}" for i in range(100)]
    r1 = stub.AppendBatch(typed_request(ids, "agent-a", 1), metadata=meta(args.token))
    check(r1.accepted == 100 and r1.already_applied == 0, f"first {r1}")
    # The retry carries other rows under the same sequence: it must change nothing.
    r2 = stub.AppendBatch(typed_request([f"other-{i}" for i in range(50)], "agent-a", 1),
                          metadata=meta(args.token))
    check(r2.accepted == 0 and r2.already_applied == 1 and r2.high_water_sequence == 1, f"retry {r2}")
    # A stream whose first request was applied: only the second is.
    r3 = stub.Append(iter([typed_request([f"other-{i}" for i in range(50)], "agent-a", 1),
                           typed_request([f"two-{i}" for i in range(10)], "agent-a", 2)]),
                     metadata=meta(args.token))
    check(r3.requests == 2 and r3.already_applied == 1 and r3.accepted == 10, f"stream {r3}")
    check(count_rows(ch, args.token) == (110, 110), "rows after retries")
    print("once_before ok")


def scenario_once_after(args):
    """After a restart (and a flush before it), the same retries are still applied once."""
    ch = channel(args)
    stub = ingest_pb2_grpc.IngestServiceStub(ch)
    for seq in (1, 2):
        r = stub.AppendBatch(typed_request([f"late-{seq}-{i}" for i in range(7)], "agent-a", seq),
                             metadata=meta(args.token))
        check(r.accepted == 0 and r.already_applied == 1 and r.high_water_sequence == 2, f"seq {seq}: {r}")
    r = stub.AppendBatch(typed_request(["three"], "agent-a", 3), metadata=meta(args.token))
    check(r.accepted == 1 and r.already_applied == 0, f"seq 3: {r}")
    check(count_rows(ch, args.token) == (111, 111), "rows after restart")
    print("once_after ok")


def scenario_query(args):
    """Sql and Aggregate answers decoded with pyarrow; row limits; errors."""
    ch = channel(args)
    t, truncated = sql(ch, "SELECT campaign_id, countIf(event_type = 'impression') AS imps, "
                           "sum(cost_micros) AS spend FROM events GROUP BY campaign_id "
                           "ORDER BY imps DESC, campaign_id LIMIT 5", args.token)
    check(t.num_rows == 5 and not truncated, f"top 5: {t.num_rows} {truncated}")
    check(t.schema.field("imps").type == pa.uint64(), f"type {t.schema.field('imps').type}")
    imps = t.column("imps").to_pylist()
    check(imps == sorted(imps, reverse=True), f"order {imps}")
    t, truncated = sql(ch, "SELECT event_id FROM events", args.token, row_limit=3)
    check(t.num_rows == 3 and truncated, f"row limit: {t.num_rows} {truncated}")
    stub = query_pb2_grpc.QueryServiceStub(ch)
    agg = query_pb2.AggregateRequest(
        group_by=["campaign_id"],
        metrics=[query_pb2.Metric(name="impressions"), query_pb2.Metric(name="clicks"),
                 query_pb2.Metric(name="ctr"), query_pb2.Metric(name="sum", column="cost_micros")],
        filters=[query_pb2.Filter(column="event_type", op=query_pb2.FILTER_OP_IN,
                                  values=["impression", "click"])],
        order_by=[query_pb2.OrderBy(column="impressions", descending=True)],
        limit=5,
    )
    a, _ = read_arrow(stub.Aggregate(agg, metadata=meta(args.token)))
    check(a.column_names == ["campaign_id", "impressions", "clicks", "ctr", "sum_cost_micros"],
          f"columns {a.column_names}")
    check(a.column("impressions").to_pylist() == imps, f"aggregate {a.column('impressions')} vs {imps}")
    bucketed, _ = read_arrow(stub.Aggregate(query_pb2.AggregateRequest(
        bucket=query_pb2.TIME_BUCKET_HOUR, metrics=[query_pb2.Metric(name="events")],
        order_by=[query_pb2.OrderBy(column="bucket")]), metadata=meta(args.token)))
    total, _ = count_rows(ch, args.token)
    check(sum(bucketed.column("events").to_pylist()) == total, "hourly buckets add up")
    try:
        sql(ch, "SELECT nope FROM events", args.token)
        check(False, "bad SQL accepted")
    except grpc.RpcError as e:
        check(e.code() == grpc.StatusCode.INVALID_ARGUMENT, f"bad SQL: {e.code()}")
    s = admin_pb2_grpc.AdminServiceStub(ch).Stats(admin_pb2.StatsRequest(), metadata=meta(args.token))
    check(s.segment_rows + s.memtable_rows == total, f"stats {s.segment_rows}+{s.memtable_rows} != {total}")
    f = admin_pb2_grpc.AdminServiceStub(ch).Flush(admin_pb2.FlushRequest(), metadata=meta(args.token))
    check(f.segment_rows == total and f.segments > 0, f"flush {f}")
    check(count_rows(ch, args.token)[0] == total, "rows after flush")
    print("query ok")


def scenario_introspection(args):
    """Reflection lists the services; health says SERVING; /metrics parses."""
    ch = channel(args)
    from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase
    db = ProtoReflectionDescriptorDatabase(ch)
    services = set(db.get_services())
    want = {"adstore.v1.IngestService", "adstore.v1.QueryService", "adstore.v1.AdminService",
            "grpc.health.v1.Health"}
    check(want <= services, f"reflection lists {services}")
    desc = db.FindFileContainingSymbol("adstore.v1.IngestService")
    check(desc.package == "adstore.v1", f"descriptor {desc.name}")
    # The v1 reflection service, asked directly (its messages are v1alpha's, byte for byte;
    # grpcio-reflection ships only the v1alpha stubs).
    info = ch.stream_stream("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
                            request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
                            response_deserializer=reflection_pb2.ServerReflectionResponse.FromString)
    resp = next(info(iter([reflection_pb2.ServerReflectionRequest(list_services="")])))
    names = {s.name for s in resp.list_services_response.service}
    check(want <= names, f"reflection v1 lists {names}")
    health = health_pb2_grpc.HealthStub(ch)
    for svc in ("", "adstore.v1.IngestService", "adstore.v1.QueryService"):
        st = health.Check(health_pb2.HealthCheckRequest(service=svc)).status
        check(st == health_pb2.HealthCheckResponse.SERVING, f"health {svc!r}: {st}")
    text = urllib.request.urlopen(f"http://{args.metrics}/metrics", timeout=10).read().decode()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    for name in ("adstore_rows_ingested", "adstore_dedup_hits", "adstore_rejects", "adstore_wal_fsync_seconds",
                 "adstore_flush_seconds", "adstore_query_seconds", "adstore_segments", "adstore_disk_bytes",
                 "adstore_memtable_rows", "adstore_inflight_streams"):
        check(name in families, f"metric {name} missing; have {sorted(families)}")
    accepted = sum(s.value for s in families["adstore_rows_ingested"].samples
                   if s.labels.get("outcome") == "accepted" and s.name.endswith("_total"))
    check(accepted == args.expect_accepted, f"metrics accepted {accepted} != {args.expect_accepted}")
    check(families["adstore_wal_fsync_seconds"].type == "histogram", "fsync histogram")
    fsyncs = [s.value for s in families["adstore_wal_fsync_seconds"].samples if s.name.endswith("_count")]
    check(fsyncs and fsyncs[0] > 0, f"fsync count {fsyncs}")
    sql_count = [s.value for s in families["adstore_query_seconds"].samples
                 if s.name.endswith("_count") and s.labels.get("kind") == "sql"]
    check(sql_count and sql_count[0] >= 1, f"sql queries counted {sql_count}")
    print("introspection ok")


def rpc_calls(ch):
    ing = ingest_pb2_grpc.IngestServiceStub(ch)
    q = query_pb2_grpc.QueryServiceStub(ch)
    adm = admin_pb2_grpc.AdminServiceStub(ch)
    agg = query_pb2.AggregateRequest(metrics=[query_pb2.Metric(name="events")])
    return {
        "Append": lambda m: ing.Append(iter([typed_request(["auth-1"])]), metadata=m),
        "AppendBatch": lambda m: ing.AppendBatch(typed_request(["auth-2"]), metadata=m),
        "Sql": lambda m: list(q.Sql(query_pb2.SqlRequest(sql="SELECT count() FROM events"), metadata=m)),
        "Aggregate": lambda m: list(q.Aggregate(agg, metadata=m)),
        "Stats": lambda m: adm.Stats(admin_pb2.StatsRequest(), metadata=m),
        "Flush": lambda m: adm.Flush(admin_pb2.FlushRequest(), metadata=m),
        "DeadLetters": lambda m: adm.DeadLetters(admin_pb2.DeadLettersRequest(), metadata=m),
    }


def scenario_auth(args):
    """Every RPC × (no token, unknown token, each role): the right status code."""
    tokens = json.loads(args.tokens)
    ch = channel(args)
    OK, UNAUTH, DENIED = "OK", grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED
    allowed = {
        "ingest": {"Append", "AppendBatch"},
        "read": {"Sql", "Aggregate", "Stats"},
        "admin": {"Append", "AppendBatch", "Sql", "Aggregate", "Stats", "Flush", "DeadLetters"},
    }
    cases = [("none", None, None), ("unknown", "not-a-configured-token-0000", None)]
    cases += [(role, tokens[role], role) for role in ("ingest", "read", "admin")]
    calls = rpc_calls(ch)
    checked = 0
    for label, token, role in cases:
        for name, call in calls.items():
            if role is None:
                want = UNAUTH
            else:
                want = OK if name in allowed[role] else DENIED
            try:
                call(meta(token))
                got = OK
            except grpc.RpcError as e:
                got = e.code()
            check(got == want, f"{name} with {label} token: {got}, want {want}")
            checked += 1
    # A malformed header is unauthenticated too.
    try:
        calls["Stats"]([("authorization", tokens["admin"])])
        check(False, "token without Bearer accepted")
    except grpc.RpcError as e:
        check(e.code() == UNAUTH, f"no Bearer: {e.code()}")
    # Health and reflection need no token.
    st = health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest()).status
    check(st == health_pb2.HealthCheckResponse.SERVING, "health without token")
    print("auth ok", checked)


def scenario_scoped(args):
    """A campaign-scoped read token sees only its campaigns' rows, whatever it asks."""
    tokens = json.loads(args.tokens)
    ch = channel(args)
    ing = ingest_pb2_grpc.IngestServiceStub(ch)
    for camp in ("cmp-acme-1", "cmp-acme-2", "cmp-other-1"):
        r = ing.AppendBatch(typed_request([f"{camp}-{i}" for i in range(10)], campaign=camp),
                            metadata=meta(tokens["ingest"]))
        check(r.accepted == 10, f"ingest {camp}: {r}")
    q = "SELECT campaign_id, count() AS n FROM events GROUP BY campaign_id ORDER BY campaign_id"
    t, _ = sql(ch, q, tokens["scoped"])
    check(t.column("campaign_id").to_pylist() == ["cmp-acme-1", "cmp-acme-2"], f"scoped sees {t.to_pylist()}")
    t, _ = sql(ch, "SELECT count() AS n FROM events WHERE campaign_id = 'cmp-other-1' OR 1 = 1",
               tokens["scoped"])
    check(t.column("n")[0].as_py() == 20, f"OR cannot escape the scope: {t.to_pylist()}")
    t, _ = sql(ch, "SELECT event_id FROM events WHERE campaign_id LIKE 'cmp-other%'", tokens["scoped"])
    check(t.num_rows == 0, "row selection is scoped")
    stub = query_pb2_grpc.QueryServiceStub(ch)
    a, _ = read_arrow(stub.Aggregate(query_pb2.AggregateRequest(
        group_by=["campaign_id"], metrics=[query_pb2.Metric(name="events")]), metadata=meta(tokens["scoped"])))
    check(sorted(a.column("campaign_id").to_pylist()) == ["cmp-acme-1", "cmp-acme-2"], "aggregate is scoped")
    try:
        admin_pb2_grpc.AdminServiceStub(ch).Stats(admin_pb2.StatsRequest(), metadata=meta(tokens["scoped"]))
        check(False, "a scoped token saw store-wide stats")
    except grpc.RpcError as e:
        check(e.code() == grpc.StatusCode.PERMISSION_DENIED, f"scoped Stats: {e.code()}")
    t, _ = sql(ch, q, tokens["read"])
    seen = set(t.column("campaign_id").to_pylist())
    check({"cmp-acme-1", "cmp-acme-2", "cmp-other-1"} <= seen, f"unscoped read sees all: {seen}")
    print("scoped ok")


def scenario_tls(args):
    """A TLS handshake with the test certificate; a plaintext client is refused."""
    ch = channel(args)
    st = health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(), timeout=10).status
    check(st == health_pb2.HealthCheckResponse.SERVING, "health over TLS")
    r = ingest_pb2_grpc.IngestServiceStub(ch).AppendBatch(typed_request(["tls-1"]), metadata=meta(args.token))
    check(r.accepted == 1, f"append over TLS {r}")
    plain = grpc.insecure_channel(args.grpc)
    try:
        health_pb2_grpc.HealthStub(plain).Check(health_pb2.HealthCheckRequest(), timeout=5)
        check(False, "plaintext accepted by a TLS server")
    except grpc.RpcError as e:
        check(e.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.INTERNAL), f"plaintext: {e.code()}")
    print("tls ok")


def scenario_sigterm_writer(args):
    """Appends until the server goes away (the Rust side sends SIGTERM after STREAMING):
    one long Append stream, then AppendBatch calls until one fails. Writes the acknowledged
    (producer, sequence) requests and their event ids to --acked."""
    ch = channel(args)
    stub = ingest_pb2_grpc.IngestServiceStub(ch)
    acked, pending = [], []

    def stream():
        for seq in range(1, 61):
            ids = [f"s{seq}-{i}" for i in range(50)]
            pending.append((seq, ids))
            if seq == 10:
                print("STREAMING", flush=True)
            yield typed_request(ids, "agent-term", seq)
            time.sleep(0.02)

    resp = stub.Append(stream(), metadata=meta(args.token))
    check(resp.requests == 60 and resp.accepted == 3000, f"stream drained at shutdown: {resp}")
    acked.extend(pending)
    seq = 61
    failed = None
    while seq < 100_000:
        ids = [f"b{seq}-{i}" for i in range(20)]
        try:
            r = stub.AppendBatch(typed_request(ids, "agent-term", seq), metadata=meta(args.token), timeout=10)
            check(r.accepted == 20, f"batch {seq}: {r}")
            acked.append((seq, ids))
        except grpc.RpcError as e:
            failed = (seq, ids, str(e.code()))
            break
        seq += 1
    check(failed is not None, "the server never went away")
    json.dump({"acked": acked, "unacked": failed}, open(args.acked, "w"))
    print("sigterm_writer ok", len(acked), failed[2])


def scenario_sigterm_verify(args):
    """After the restart: every acknowledged event is there once; a retry of the request that
    failed is applied at most once."""
    state = json.load(open(args.acked))
    ch = channel(args)
    stub = ingest_pb2_grpc.IngestServiceStub(ch)
    seq, ids, _ = state["unacked"]
    r = stub.AppendBatch(typed_request(ids, "agent-term", seq), metadata=meta(args.token))
    check(r.accepted + r.already_applied * len(ids) in (len(ids),), f"retry of the failed request: {r}")
    n, u = count_rows(ch, args.token)
    want = sum(len(i) for _, i in state["acked"]) + len(ids)
    check(n == u, f"{n} rows but {u} distinct event ids: something is there twice")
    check(n == want, f"{n} rows, {want} acknowledged (incl. the retried request)")
    sample = [i for _, ids_ in state["acked"][::7] for i in ids_[:1]]
    in_list = ", ".join(f"'{i}'" for i in sample)
    t, _ = sql(ch, f"SELECT count() AS n FROM events WHERE event_id IN ({in_list})", args.token)
    check(t.column("n")[0].as_py() == len(sample), "sampled acknowledged ids present")
    print("sigterm_verify ok", n)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("scenario")
    p.add_argument("--grpc", required=True)
    p.add_argument("--metrics")
    p.add_argument("--token")
    p.add_argument("--tokens", help="JSON: role -> token")
    p.add_argument("--gen", help="an `adstore gen` output folder")
    p.add_argument("--ca", help="PEM root certificate: connect with TLS")
    p.add_argument("--acked", help="state file of the sigterm scenarios")
    p.add_argument("--expect-accepted", type=int, default=0)
    args = p.parse_args()
    globals()["scenario_" + args.scenario](args)


if __name__ == "__main__":
    main()
