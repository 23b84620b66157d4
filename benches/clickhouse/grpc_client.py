"""A gRPC client of `adstore serve` on one warm channel, as the internal query service holds
one: Python stubs generated from the repository's proto/adstore/v1/*.proto with grpcio-tools
(into the work folder, at run time), `QueryService.Sql` answers decoded from Arrow IPC with
pyarrow.
"""

import glob
import importlib
import os
import sys
import time


def generate_stubs(repo: str, out_dir: str) -> None:
    """Compiles the .proto files to Python modules under out_dir (adstore/v1/*_pb2*.py)."""
    from grpc_tools import protoc

    proto_root = os.path.join(repo, "proto")
    protos = sorted(glob.glob(os.path.join(proto_root, "adstore", "v1", "*.proto")))
    if not protos:
        raise RuntimeError(f"no .proto files under {proto_root}/adstore/v1")
    os.makedirs(out_dir, exist_ok=True)
    include = os.path.join(os.path.dirname(protoc.__file__), "_proto")
    args = ["protoc", f"-I{proto_root}", f"-I{include}", f"--python_out={out_dir}",
            f"--grpc_python_out={out_dir}", *protos]
    if protoc.main(args) != 0:
        raise RuntimeError(f"grpc_tools.protoc failed on {protos}")
    for d in (os.path.join(out_dir, "adstore"), os.path.join(out_dir, "adstore", "v1")):
        open(os.path.join(d, "__init__.py"), "a").close()
    if out_dir not in sys.path:
        sys.path.insert(0, out_dir)


class SqlClient:
    """`QueryService.Sql` over one channel kept open for every call."""

    def __init__(self, addr: str):
        import grpc
        import grpc.experimental

        query_pb2 = importlib.import_module("adstore.v1.query_pb2")
        query_grpc = importlib.import_module("adstore.v1.query_pb2_grpc")
        self._request = query_pb2.SqlRequest
        # `Sql` streams its answer (unary-stream). By default grpcio reads such a stream on a
        # thread of its own and hands each message to the caller's thread; this documented
        # option reads it on the caller's thread, as a unary call is: 0.3-0.5 ms less per call
        # on this machine (both clients interleaved on one server, 40 calls each), all of it
        # in the client. The internal query service would set it too.
        self.channel = grpc.insecure_channel(
            addr,
            options=[
                ("grpc.max_receive_message_length", 256 * 2**20),
                (grpc.experimental.ChannelOptions.SingleThreadedUnaryStream, 1),
            ],
        )
        grpc.channel_ready_future(self.channel).result(timeout=30)
        self.stub = query_grpc.QueryServiceStub(self.channel)

    def sql(self, text: str):
        """(pyarrow Table, wall ms): the time from the call to the last decoded batch."""
        import pyarrow as pa
        import pyarrow.ipc as ipc

        started = time.perf_counter()
        # The messages are consecutive pieces of one IPC stream (the schema in the first).
        stream = b"".join(msg.arrow_ipc for msg in self.stub.Sql(self._request(sql=text)))
        table = ipc.open_stream(pa.py_buffer(stream)).read_all()
        return table, (time.perf_counter() - started) * 1000

    def close(self) -> None:
        self.channel.close()


FORMAT_OF = {".jsonl": "FORMAT_JSON_LINES", ".ndjson": "FORMAT_JSON_LINES", ".csv": "FORMAT_CSV",
             ".avro": "FORMAT_AVRO"}
CHUNK_BYTES = 8 << 20


def _payloads(path: str):
    """(format name, bytes, line offset, source name) requests for one file, decompressed:
    JSON Lines and CSV cut at line ends into ~8 MiB pieces (CSV pieces repeat the header), an
    Avro container file whole. The source name drops .gz/.zst (the server would take it as
    compressed)."""
    import pyarrow as pa

    name = os.path.basename(path)
    compression = {"gz": "gzip", "zst": "zstd"}.get(name.rsplit(".", 1)[-1])
    base = name[: -len(name.rsplit(".", 1)[-1]) - 1] if compression else name
    fmt = FORMAT_OF[os.path.splitext(base)[1]]
    with pa.input_stream(path, compression=compression) as f:
        data = f.read()
    if fmt == "FORMAT_AVRO":
        yield fmt, data, 0, base
        return
    header = b""
    start, line_offset = 0, 0
    if fmt == "FORMAT_CSV":
        start = data.index(b"\n") + 1
        header = data[:start]
        line_offset = 0
    while start < len(data):
        end = data.find(b"\n", min(start + CHUNK_BYTES, len(data)) - 1)
        end = len(data) if end < 0 else end + 1
        piece = data[start:end]
        yield fmt, header + piece, line_offset, base
        line_offset += piece.count(b"\n")
        start = end


def append_files(addr: str, files: list[str], producer: str = "bench-agent") -> dict:
    """Streams every file through one `IngestService.Append` call, as an ingestion agent does
    (a producer id and a sequence per request). Files are read and cut before the clock
    starts; the time is the Append call's, until the durable acknowledgement."""
    import grpc

    pb = importlib.import_module("adstore.v1.ingest_pb2")
    stub_mod = importlib.import_module("adstore.v1.ingest_pb2_grpc")
    requests = []
    for path in files:
        for fmt, data, offset, source in _payloads(path):
            raw = pb.RawPayload(format=pb.Format.Value(fmt), data=data, source=source)
            if "line_offset" in pb.RawPayload.DESCRIPTOR.fields_by_name:
                raw.line_offset = offset
            requests.append(pb.AppendRequest(raw=raw, producer_id=producer,
                                             sequence=len(requests) + 1))
    count = len(requests)
    channel = grpc.insecure_channel(addr, options=[
        ("grpc.max_send_message_length", 64 * 2**20),
        ("grpc.max_receive_message_length", 64 * 2**20)])
    try:
        grpc.channel_ready_future(channel).result(timeout=30)
        stub = stub_mod.IngestServiceStub(channel)
        started = time.perf_counter()
        resp = stub.Append(iter(requests), timeout=3600)
        seconds = time.perf_counter() - started
    finally:
        channel.close()
        requests.clear()
    rejected = {r.reason: r.count for r in resp.rejected_by_reason}
    return {"requests": count, "accepted": resp.accepted,
            "duplicates": resp.duplicates, "rejected": rejected, "seconds": seconds,
            "rows_read": resp.accepted + resp.duplicates + sum(rejected.values())}


def _admin(addr: str, method: str, timeout: float) -> float:
    """One unary `AdminService.<method>` call with an empty request; its seconds."""
    import grpc

    pb = importlib.import_module("adstore.v1.admin_pb2")
    stub_mod = importlib.import_module("adstore.v1.admin_pb2_grpc")
    with grpc.insecure_channel(addr) as channel:
        call = getattr(stub_mod.AdminServiceStub(channel), method)
        request = getattr(pb, f"{method}Request")()
        started = time.perf_counter()
        call(request, timeout=timeout)
        return time.perf_counter() - started


def compact(addr: str) -> float:
    """`AdminService.Compact`: flush, then every partition merged into one segment. Seconds."""
    return _admin(addr, "Compact", 3600)


def flush(addr: str) -> float:
    """`AdminService.Flush`: the memtables to segments, as after `adstore ingest`. Seconds."""
    return _admin(addr, "Flush", 600)
