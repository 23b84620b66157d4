"""Runs the adstore processes from a small process of its own, so that their peak RSS is theirs.

Linux records a process's peak RSS across exec, starting from the memory of the process that
forked it: a child forked by the harness (which holds gigabytes of gRPC payloads at times)
reports the harness's peak as its own. The runner is a fresh interpreter (multiprocessing's
spawn) that does nothing but fork, exec and wait4; its own peak (`floor_rss`, a few MiB) is the
floor of every figure it reports.
"""

import multiprocessing as mp
import os
import resource
import subprocess
import tempfile
import threading
import time


def run(argv: list[str], timeout: float) -> tuple[int, str, str, float, int]:
    """(exit code, stdout, stderr, wall seconds, peak RSS bytes) of one process run to its end;
    killed at `timeout`."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=err)
        killer = threading.Timer(timeout, proc.kill)
        killer.start()
        _, status, usage = os.wait4(proc.pid, 0)
        killer.cancel()
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return (proc.returncode, out.read().decode(errors="replace"),
                err.read().decode(errors="replace"), seconds, usage.ru_maxrss * 1024)


def _serve(conn) -> None:
    conn.send(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
    while True:
        msg = conn.recv()
        if msg is None:
            return
        argv, timeout = msg
        try:
            conn.send(("ok", run(argv, timeout)))
        except OSError as e:
            conn.send(("error", f"{argv[0]}: {e}"))


class Runner:
    def __init__(self):
        ctx = mp.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_serve, args=(child,), daemon=True)
        self.proc.start()
        self.floor_rss = self.conn.recv()

    def run(self, argv: list[str], timeout: float) -> tuple[int, str, str, float, int]:
        self.conn.send((argv, timeout))
        status, value = self.conn.recv()
        if status != "ok":
            raise OSError(value)
        return value

    def close(self) -> None:
        if self.proc.is_alive():
            self.conn.send(None)
            self.proc.join(timeout=10)
        if self.proc.is_alive():
            self.proc.kill()


_RUNNER: Runner | None = None


def runner() -> Runner:
    """The process-wide runner, started on first use."""
    global _RUNNER
    if _RUNNER is None:
        _RUNNER = Runner()
    return _RUNNER


def close() -> None:
    global _RUNNER
    if _RUNNER is not None:
        _RUNNER.close()
        _RUNNER = None
