"""Runs a user's drill file in a child process: `python -I -B runner.py REQUEST RESULTS`.

This file is executed as a script in a separate, isolated interpreter; it
imports only the standard library and NumPy, never the rest of tutor. It sets
its own resource limits first, imports the user's file by path, calls the
function on each case and appends one JSON line per event to RESULTS:

    {"event": "start", "pid": ...}
    {"event": "imported", "modules": [...]}          names of heavy modules the file pulled in
    {"event": "case", "id": i}                       before each call, so a hang is located
    {"event": "result", "id": i, "value": ..., "mutated": [...], "seconds": ...}
    {"event": "error", "id": i or null, "stage": ..., "type": ..., "message": ...,
     "traceback": [...]}                             frames from the user's file only
    {"event": "timing", "sizes": [...], "seconds": [[...], ...]}
    {"event": "memory", "id": i, "peak_bytes": ...}
    {"event": "done"}

Values cross the process boundary as tagged JSON (`encode` / `decode`): arrays
as base64 bytes with an explicit numeric dtype, never pickle.
"""

from __future__ import annotations

import base64
import json
import math
import os
import sys
import time
import traceback

_ALLOWED_KINDS = "biuf"   # bool, signed and unsigned integers, floats
MAX_ARRAY_BYTES = 16 << 20  # larger results are reported, not sent back
OUT_OF_MEMORY = 86          # the exit code when the runner itself runs out of memory


# ----------------------------------------------------------------------------- codec

def encode(value, _depth: int = 0):
    """A JSON-able, tagged form of `value` (arrays, numbers, strings, lists, tuples, dicts)."""
    if _depth > 20:
        return {"t": "unsupported", "pytype": type(value).__name__, "repr": "(nested too deep)"}
    np = sys.modules.get("numpy")
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return {"t": "int", "v": str(value)}
    if isinstance(value, float):
        return {"t": "float", "v": repr(value)}
    if np is not None and isinstance(value, np.ndarray):
        if value.nbytes > MAX_ARRAY_BYTES:
            return {"t": "unsupported", "pytype": f"ndarray of shape {value.shape}",
                    "repr": f"(an array of {value.nbytes / 2**20:.0f} MiB, too large to return)"}
        if value.dtype.kind not in _ALLOWED_KINDS or value.dtype.hasobject:
            return {"t": "unsupported", "pytype": f"ndarray of dtype {value.dtype}",
                    "repr": _short_repr(value)}
        arr = np.ascontiguousarray(value)
        return {"t": "ndarray", "dtype": arr.dtype.str, "shape": list(arr.shape),
                "b64": base64.b64encode(arr.tobytes()).decode("ascii")}
    if np is not None and isinstance(value, np.generic) and value.dtype.kind in _ALLOWED_KINDS:
        return {"t": "npscalar", "dtype": value.dtype.str,
                "b64": base64.b64encode(value.tobytes()).decode("ascii")}
    if isinstance(value, list | tuple):
        return {"t": type(value).__name__, "items": [encode(v, _depth + 1) for v in value]}
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {"t": "dict", "items": {k: encode(v, _depth + 1) for k, v in value.items()}}
    return {"t": "unsupported", "pytype": type(value).__name__, "repr": _short_repr(value)}


class Unsupported:
    """A value the child could not encode: its type name and a short repr."""

    def __init__(self, pytype: str, text: str) -> None:
        self.pytype = pytype
        self.text = text

    def __repr__(self) -> str:
        return self.text


def decode(data):
    """The inverse of `encode`; unknown or malformed data raises ValueError."""
    import numpy as np

    if data is None or isinstance(data, bool | str):
        return data
    if not isinstance(data, dict) or "t" not in data:
        raise ValueError(f"not an encoded value: {str(data)[:80]}")
    t = data["t"]
    if t == "int":
        return int(data["v"])
    if t == "float":
        return float(data["v"])
    if t in ("ndarray", "npscalar"):
        dtype = np.dtype(data["dtype"])
        if dtype.kind not in _ALLOWED_KINDS:
            raise ValueError(f"dtype {dtype} is not allowed")
        raw = base64.b64decode(data["b64"])
        if t == "npscalar":
            return np.frombuffer(raw, dtype=dtype)[0]
        shape = tuple(int(n) for n in data["shape"])
        if math.prod(shape) * dtype.itemsize != len(raw):
            raise ValueError("array bytes do not match its shape")
        return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()
    if t == "list":
        return [decode(v) for v in data["items"]]
    if t == "tuple":
        return tuple(decode(v) for v in data["items"])
    if t == "dict":
        return {str(k): decode(v) for k, v in data["items"].items()}
    if t == "unsupported":
        return Unsupported(str(data.get("pytype")), str(data.get("repr"))[:300])
    raise ValueError(f"unknown value tag {t!r}")


def _short_repr(value) -> str:
    try:
        text = repr(value)
    except Exception as e:  # a user's object whose repr raises
        text = f"<{type(value).__name__} (repr failed: {type(e).__name__})>"
    return text if len(text) <= 200 else text[:200] + "..."


# ----------------------------------------------------------------------------- the child

class _Log:
    def __init__(self, path: str) -> None:
        # opened before the user's code runs; line-buffered so a crash loses at most a line
        self.f = open(path, "a", encoding="utf-8", buffering=1)  # noqa: SIM115

    def __call__(self, **event) -> None:
        self.f.write(json.dumps(event) + "\n")
        self.f.flush()


def _limit_resources(memory_bytes: int, cpu_seconds: int) -> None:
    import signal

    try:
        import resource
    except ImportError:   # not POSIX: only the parent's wall-clock limit applies
        return

    # past RLIMIT_FSIZE a write fails with an OSError instead of killing the process
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)

    for limit, value in ((resource.RLIMIT_AS, memory_bytes),
                         (resource.RLIMIT_CPU, cpu_seconds),
                         (resource.RLIMIT_FSIZE, 64 << 20),    # files the code may write
                         (resource.RLIMIT_CORE, 0)):
        try:
            soft, hard = resource.getrlimit(limit)
            want = value if hard == resource.RLIM_INFINITY else min(value, hard)
            resource.setrlimit(limit, (want, hard))
        except (ValueError, OSError):
            pass   # a platform without this limit: the parent's wall-clock limit still holds


def _user_frames(tb, user_file: str) -> list[dict]:
    frames = []
    for fs in traceback.extract_tb(tb):
        if os.path.abspath(fs.filename) == user_file:
            frames.append({"line": fs.lineno, "function": fs.name, "code": fs.line or ""})
    return frames


def _error(log: _Log, exc: BaseException, stage: str, user_file: str, case=None) -> None:
    message = (f"the code called exit({exc.code!r})" if isinstance(exc, SystemExit)
               else _short_text(exc))
    event = {"event": "error", "id": case, "stage": stage, "type": type(exc).__name__,
             "message": message, "traceback": _user_frames(exc.__traceback__, user_file)}
    if isinstance(exc, SyntaxError) and os.path.abspath(exc.filename or "") == user_file:
        event["syntax"] = {"line": exc.lineno, "offset": exc.offset,
                           "text": (exc.text or "").rstrip("\n"), "msg": exc.msg}
    log(**event)


def _short_text(exc: BaseException) -> str:
    try:
        text = str(exc)
    except Exception:
        text = "(the exception's message could not be shown)"
    return text if len(text) <= 500 else text[:500] + "..."


def _same(a, b) -> bool:
    """Whether an argument still equals its copy taken before the call."""
    import numpy as np

    if isinstance(a, np.ndarray):
        return (isinstance(b, np.ndarray) and a.shape == b.shape
                and bool(np.array_equal(a, b, equal_nan=a.dtype.kind == "f")))
    if isinstance(a, list | tuple):
        return (type(a) is type(b) and len(a) == len(b)
                and all(_same(x, y) for x, y in zip(a, b, strict=True)))
    return a == b


def _copy(value):
    import copy

    return copy.deepcopy(value)


def _median(xs: list[float]) -> float:
    s = sorted(xs)
    return s[len(s) // 2] if len(s) % 2 else 0.5 * (s[len(s) // 2 - 1] + s[len(s) // 2])


def _call_cases(log, fn, cases, user_file) -> None:
    for case in cases:
        i = case["id"]
        args = [decode(a) for a in case["args"]]
        kwargs = {k: decode(v) for k, v in case.get("kwargs", {}).items()}
        before = _copy((args, kwargs))
        log(event="case", id=i)
        start = time.perf_counter()
        try:
            out = fn(*args, **kwargs)
        except BaseException as e:  # the user's code may raise anything
            _error(log, e, "call", user_file, i)
            continue
        seconds = time.perf_counter() - start
        mutated = [f"#{j}" for j, (a, b) in enumerate(zip(args, before[0], strict=True))
                   if not _same(a, b)]
        mutated += [k for k in kwargs if not _same(kwargs[k], before[1][k])]
        log(event="result", id=i, value=encode(out), mutated=mutated, seconds=seconds)


def _time_sizes(log, fn, timing, user_file) -> None:
    """Median wall time per size, sizes interleaved round-robin after one warm-up call each."""
    inputs = [([decode(a) for a in s["args"]], {k: decode(v) for k, v in s["kwargs"].items()})
              for s in timing["sizes"]]
    seconds: list[list[float]] = [[] for _ in inputs]
    try:
        for args, kwargs in inputs:
            fn(*args, **kwargs)
        for _ in range(timing["repeats"]):
            for j, (args, kwargs) in enumerate(inputs):
                start = time.perf_counter()
                fn(*args, **kwargs)
                seconds[j].append(time.perf_counter() - start)
    except BaseException as e:  # the user's code may raise anything
        _error(log, e, "timing", user_file)
        return
    log(event="timing", sizes=[s["n"] for s in timing["sizes"]],
        seconds=[_median(s) for s in seconds])


def _measure_memory(log, fn, probe, user_file) -> None:
    import tracemalloc

    args = [decode(a) for a in probe["args"]]
    kwargs = {k: decode(v) for k, v in probe["kwargs"].items()}
    tracemalloc.start()
    try:
        fn(*args, **kwargs)
        _, peak = tracemalloc.get_traced_memory()
    except BaseException as e:  # the user's code may raise anything
        tracemalloc.stop()
        _error(log, e, "memory", user_file)
        return
    tracemalloc.stop()
    log(event="memory", peak_bytes=int(peak))


def main(argv: list[str]) -> int:
    request_path, results_path = argv[1], argv[2]
    with open(request_path, encoding="utf-8") as f:
        request = json.load(f)
    log = _Log(results_path)
    _limit_resources(int(request["memory_bytes"]), int(request["cpu_seconds"]))
    log(event="start", pid=os.getpid())
    for extra in request.get("sys_path", []):
        if extra not in sys.path:
            sys.path.append(extra)     # where NumPy lives, even outside the isolated path
    user_file = os.path.abspath(request["file"])
    import copy  # noqa: F401
    import importlib.util

    import numpy  # noqa: F401  (imported before the user's file, so it is not counted as theirs)

    before = set(sys.modules)
    try:
        spec = importlib.util.spec_from_file_location("drill_submission", user_file)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    except BaseException as e:  # the user's code may raise anything
        _error(log, e, "import", user_file)
        return 0
    heavy = sorted({m.split(".")[0] for m in set(sys.modules) - before})
    log(event="imported", modules=heavy)
    fn = getattr(module, request["function"], None)
    if fn is None or not callable(fn):
        found = sorted(n for n, v in vars(module).items()
                       if callable(v) and not n.startswith("_")
                       and getattr(v, "__module__", None) == "drill_submission")
        log(event="error", id=None, stage="lookup", type="MissingFunction",
            message=("is not a function" if fn is not None else "not found"),
            traceback=[], found=found)
        return 0
    if request.get("cases"):
        _call_cases(log, fn, request["cases"], user_file)
    if request.get("timing"):
        _time_sizes(log, fn, request["timing"], user_file)
    if request.get("memory"):
        _measure_memory(log, fn, request["memory"], user_file)
    log(event="done")
    return 0


if __name__ == "__main__":
    try:
        code = main(sys.argv)
    except MemoryError:
        code = OUT_OF_MEMORY   # the parent reports it; writing more could fail again
    sys.stdout.flush()
    os._exit(code)   # skip interpreter teardown: user threads or atexit hooks cannot hang it
