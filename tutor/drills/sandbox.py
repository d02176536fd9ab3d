"""Run runner.py in a child process with a wall-clock limit, a memory limit and captured output.

The child is `python -I -B runner.py REQUEST RESULTS` in its own session (so a
Ctrl-C in the terminal reaches only tutor, which then kills it), with one BLAS
thread, its working directory in a private temporary directory, and stdout and
stderr drained by threads that keep only the first `OUTPUT_LIMIT` bytes. On
timeout, or when tutor is interrupted, the whole process group is killed.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

RUNNER = Path(__file__).resolve().with_name("runner.py")
TIME_LIMIT_S = 20.0
# NumPy with one OpenBLAS thread needs about 130 MiB of address space to import (measured:
# 128 MiB fails, 160 MiB works; each extra BLAS thread adds its stack), so 2 GiB leaves
# the user's code about 1.8 GiB.
MEMORY_LIMIT = 2 << 30
OUTPUT_LIMIT = 16 << 10
_ENV_KEEP = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "SYSTEMROOT")
_ONE_THREAD = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
               "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")


@dataclass
class Captured:
    """The head of one output stream and how many bytes it had in all."""

    head: bytearray = field(default_factory=bytearray)
    total: int = 0

    def text(self) -> str:
        return self.head.decode("utf-8", errors="replace")

    @property
    def truncated(self) -> bool:
        return self.total > len(self.head)


@dataclass(frozen=True)
class ChildRun:
    events: list[dict]
    returncode: int | None
    timed_out: bool
    seconds: float
    stdout: Captured
    stderr: Captured
    time_limit: float
    memory_limit: int


def _drain(stream, out: Captured) -> None:
    while True:
        chunk = stream.read(65536)
        if not chunk:
            break
        out.total += len(chunk)
        room = OUTPUT_LIMIT - len(out.head)
        if room > 0:
            out.head += chunk[:room]


def _child_env() -> dict[str, str]:
    env = {k: os.environ[k] for k in _ENV_KEEP if k in os.environ}
    env.update(dict.fromkeys(_ONE_THREAD, "1"))
    return env


def _numpy_path() -> list[str]:
    # the directory NumPy is installed in: -I leaves out the user site and PYTHONPATH,
    # where tutor's own NumPy may live
    import numpy

    return [str(Path(numpy.__file__).resolve().parent.parent)]


def _kill_group(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def run_child(request: dict, time_limit: float = TIME_LIMIT_S,
              memory_limit: int = MEMORY_LIMIT) -> ChildRun:
    """Run one request through runner.py; never raises for anything the child does."""
    tmp = Path(tempfile.mkdtemp(prefix="tutor-drill-"))
    try:
        req_path, res_path = tmp / "request.json", tmp / "results.jsonl"
        request = dict(request, memory_bytes=memory_limit,
                       cpu_seconds=int(time_limit) + 2, sys_path=_numpy_path())
        req_path.write_text(json.dumps(request), encoding="utf-8")
        res_path.touch()
        out, err = Captured(), Captured()
        start = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-I", "-B", str(RUNNER), str(req_path), str(res_path)],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            cwd=tmp, env=_child_env(), start_new_session=True)
        readers = [threading.Thread(target=_drain, args=(proc.stdout, out), daemon=True),
                   threading.Thread(target=_drain, args=(proc.stderr, err), daemon=True)]
        for r in readers:
            r.start()
        timed_out = False
        try:
            proc.wait(timeout=time_limit)
        except subprocess.TimeoutExpired:
            timed_out = True
        finally:
            _kill_group(proc)   # on timeout, Ctrl-C, or to end anything the code left running
            proc.wait()
        seconds = time.perf_counter() - start
        for r in readers:
            r.join(timeout=2.0)
        for stream in (proc.stdout, proc.stderr):
            with contextlib.suppress(OSError):
                stream.close()
        return ChildRun(_read_events(res_path), proc.returncode, timed_out, seconds, out, err,
                        time_limit, memory_limit)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _read_events(path: Path) -> list[dict]:
    events = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            try:
                event = json.loads(line)
            except ValueError:
                continue   # a torn last line, or something the user's code wrote there
            if isinstance(event, dict) and isinstance(event.get("event"), str):
                events.append(event)
    return events
