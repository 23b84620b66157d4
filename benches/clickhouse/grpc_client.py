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

        query_pb2 = importlib.import_module("adstore.v1.query_pb2")
        query_grpc = importlib.import_module("adstore.v1.query_pb2_grpc")
        self._request = query_pb2.SqlRequest
        self.channel = grpc.insecure_channel(
            addr, options=[("grpc.max_receive_message_length", 256 * 2**20)]
        )
        grpc.channel_ready_future(self.channel).result(timeout=30)
        self.stub = query_grpc.QueryServiceStub(self.channel)

    def sql(self, text: str):
        """(pyarrow Table, wall ms): the time from the call to the last decoded batch."""
        import pyarrow as pa
        import pyarrow.ipc as ipc

        started = time.perf_counter()
        batches, schema = [], None
        for msg in self.stub.Sql(self._request(sql=text)):
            if not msg.arrow_ipc:
                continue
            reader = ipc.open_stream(pa.py_buffer(msg.arrow_ipc))
            schema = reader.schema
            batches.extend(reader)
        table = pa.Table.from_batches(batches, schema=schema) if schema else pa.table({})
        return table, (time.perf_counter() - started) * 1000

    def close(self) -> None:
        self.channel.close()
