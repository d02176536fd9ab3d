"""Grade a drill: run the user's function on every case and compare with the engine.

`check(name, path)` runs the file in a child process (tutor.drills.sandbox);
`check_function(name, fn)` runs a function in this process, for tests. Both feed
the same events into `grade`, which builds the `CheckResult`.
"""

from __future__ import annotations

import math
import signal
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tutor.drills.registry import Drill, get_drill
from tutor.drills.runner import OUT_OF_MEMORY
from tutor.errors import TutorError

FORBIDDEN_IMPORTS = ("engine", "torch")
MEMORY_LIMIT = 2 << 30   # tutor.drills.sandbox.MEMORY_LIMIT, without importing it


@dataclass(frozen=True)
class Check:
    name: str
    result: str          # "passed", "failed" or "not run"
    message: str
    hint: str = ""       # for a failed check: what usually causes it

    @property
    def passed(self) -> bool:
        return self.result == "passed"


@dataclass(frozen=True)
class FailingCase:
    check: str
    message: str
    inputs: dict[str, Any]
    expected: Any
    received: Any = None
    error: str | None = None            # the exception the call raised, if any
    traceback: tuple[str, ...] = ()     # frames from the user's file
    where: str = ""                     # which item of a tuple result
    index: tuple[int, ...] | None = None
    expected_value: Any = None
    received_value: Any = None
    hints: tuple[str, ...] = ()


@dataclass(frozen=True)
class CheckResult:
    drill: str
    path: str
    passed: bool
    checks: tuple[Check, ...]
    failing_case: FailingCase | None = None
    problem: str | None = None          # the file as a whole failed: syntax, import, crash
    traceback: tuple[str, ...] = ()
    tolerance: str = ""
    measurements: tuple[str, ...] = ()
    stdout: str = ""
    stderr: str = ""
    seconds: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict:
        from tutor.drills.compare import to_json

        out = {"drill": self.drill, "path": self.path, "passed": self.passed,
               "checks": [{"name": c.name, "result": c.result, "passed": c.passed,
                           "message": c.message, "hint": c.hint} for c in self.checks],
               "problem": self.problem, "traceback": list(self.traceback),
               "tolerance": self.tolerance, "measurements": list(self.measurements),
               "stdout": self.stdout, "stderr": self.stderr,
               "seconds": round(self.seconds, 3), "counts": self.counts}
        if self.failing_case is not None:
            fc = asdict(self.failing_case)
            for key in ("inputs", "expected", "received", "expected_value", "received_value"):
                fc[key] = to_json(getattr(self.failing_case, key))
            fc["index"] = list(self.failing_case.index) if self.failing_case.index else None
            fc["traceback"] = list(self.failing_case.traceback)
            fc["hints"] = list(self.failing_case.hints)
            out["failing_case"] = fc
        return out


# ----------------------------------------------------------------------------- entry points

def check(name: str, path: Path | str, *, time_limit: float | None = None,
          memory_limit: int | None = None) -> CheckResult:
    """Grade the file at `path` for drill `name`, running it in a separate process."""
    from tutor.drills import sandbox
    from tutor.drills.runner import encode
    from tutor.drills.specs import get_spec

    drill = get_drill(name)
    path = Path(path).expanduser()
    if not path.is_file():
        raise TutorError(f"{path}: no such file", f"run `tutor drill {drill.name}` to write "
                         "a stub, or pass --file PATH")
    spec = get_spec(drill.name)
    cases = spec.build_cases()
    limits = {"time_limit": time_limit or sandbox.TIME_LIMIT_S,
              "memory_limit": memory_limit or sandbox.MEMORY_LIMIT}
    request = {"file": str(path.resolve()), "function": drill.function,
               "cases": [_encoded(i, c, encode) for i, c in enumerate(cases)]}
    run = sandbox.run_child(request, **limits)
    result = grade(drill, spec, cases, _run_events(run), str(path), run)
    if result.passed and (spec.timing or spec.memory):
        extra = _cost_request(spec, encode)
        run2 = sandbox.run_child(dict(request, cases=[], **extra), **limits)
        result = grade_cost(result, spec, _run_events(run2, cost=True), run2)
    return result


def check_function(name: str, fn, *, cost: bool = True) -> CheckResult:
    """Grade a Python function in this process (for tests of the drills themselves)."""
    from tutor.drills import runner
    from tutor.drills.specs import get_spec

    drill = get_drill(name)
    spec = get_spec(drill.name)
    cases = spec.build_cases()
    events: list[dict] = []

    def log(**event):
        events.append(event)

    encoded = [_encoded(i, c, runner.encode) for i, c in enumerate(cases)]
    user_file = str(Path(getattr(fn.__code__, "co_filename", "")).resolve())
    log(event="start")
    with warnings.catch_warnings():
        # as in the child, where NumPy's overflow warnings only print
        warnings.simplefilter("ignore", RuntimeWarning)
        runner._call_cases(log, fn, encoded, user_file)
    log(event="done")
    result = grade(drill, spec, cases, events, f"<{fn.__name__}>", None)
    if cost and result.passed and (spec.timing or spec.memory):
        extra = _cost_request(spec, runner.encode)
        events = [{"event": "start"}]
        if extra.get("timing"):
            runner._time_sizes(log_to(events), fn, extra["timing"], user_file)
        if extra.get("memory"):
            runner._measure_memory(log_to(events), fn, extra["memory"], user_file)
        events.append({"event": "done"})
        result = grade_cost(result, spec, events, None)
    return result


def log_to(events: list[dict]):
    def log(**event):
        events.append(event)

    return log


def _encoded(i: int, case, encode) -> dict:
    return {"id": i, "args": [encode(a) for a in case.args],
            "kwargs": {k: encode(v) for k, v in case.kwargs.items()}}


def _cost_request(spec, encode) -> dict:
    extra: dict[str, Any] = {}
    if spec.timing:
        sizes = spec.timing.sizes(spec.rng("timing"))
        extra["timing"] = {"repeats": spec.timing.repeats,
                           "sizes": [{"n": n, "args": [encode(a) for a in args],
                                      "kwargs": {k: encode(v) for k, v in kw.items()}}
                                     for n, args, kw in sizes]}
    if spec.memory:
        args, kw = spec.memory.probe(spec.rng("memory"))
        extra["memory"] = {"args": [encode(a) for a in args],
                           "kwargs": {k: encode(v) for k, v in kw.items()}}
    return extra


# ----------------------------------------------------------------------------- events

def _run_events(run, cost: bool = False) -> list[dict]:
    """The child's events, plus one synthetic event saying how it ended if it did not finish."""
    events = list(run.events)
    finished = any(e["event"] == "done" for e in events) or any(
        e["event"] == "error" and e.get("stage") in ("import", "lookup") for e in events)
    if finished and not run.timed_out:
        return events
    if run.timed_out:
        why = (f"did not finish within the time limit of {run.time_limit:g} s "
               "(an endless loop, or far too slow)")
    elif not any(e["event"] == "start" for e in events):
        why = ("the checker process failed to start: "
               + (run.stderr.text().strip().splitlines() or ["no output"])[-1])
    elif run.returncode is not None and run.returncode < 0:
        sig = -run.returncode
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else sig
        why = f"the process was killed by signal {name}"
        if sig == signal.SIGKILL:
            why += " (out of memory?)"
    elif run.returncode == OUT_OF_MEMORY:
        why = f"ran out of memory (the limit is {run.memory_limit / 2**30:g} GiB)"
    else:
        why = (f"the process exited with code {run.returncode} before finishing "
               "(os._exit, or a crash in native code)")
    events.append({"event": "ended", "message": why})
    return events


def _input_names(spec, case) -> dict[str, Any]:
    names = {}
    for i, a in enumerate(case.args):
        names[spec.params[i] if i < len(spec.params) else f"arg{i}"] = a
    names.update(case.kwargs)
    return names


def _frames(frames: list[dict], path: str) -> tuple[str, ...]:
    name = Path(path).name
    out = []
    for f in frames[-6:]:
        out.append(f'{name}:{f["line"]} in {f["function"]}: {f["code"]}'.rstrip(": "))
    return tuple(out)


def grade(drill: Drill, spec, cases, events: list[dict], path: str, run) -> CheckResult:
    from tutor.drills import compare as cmp
    from tutor.drills.runner import decode

    io = _io(run)
    base = {"drill": drill.name, "path": path, "tolerance": cmp.tolerance_text(), **io}
    problem = _file_problem(drill, events, path)
    if problem is not None:
        text, frames = problem
        return CheckResult(passed=False, checks=(Check("the file loads", "failed", text),),
                           problem=text, traceback=frames, **base)

    results: dict[int, dict] = {}
    errors: dict[int, dict] = {}
    started: list[int] = []
    imported: list[str] = []
    ended = None
    for e in events:
        kind = e["event"]
        if kind == "result":
            results[e["id"]] = e
        elif kind == "error" and e.get("id") is not None:
            errors[e["id"]] = e
        elif kind == "case":
            started.append(e["id"])
        elif kind == "imported":
            imported = e.get("modules", [])
        elif kind == "ended":
            ended = e["message"]
    compare = cmp.compare

    def compare_case(case, received):
        return spec.compare(case, received) if spec.compare else compare(case.expected, received)

    failures: list[tuple[int, Any]] = []   # (case id, FailingCase)
    state: dict[int, str] = {}
    mutated_case = None
    for i, case in enumerate(cases):
        inputs = _input_names(spec, case)
        if i in results:
            try:
                received = decode(results[i]["value"])
            except (ValueError, KeyError, TypeError) as exc:
                received = None
                mismatch = cmp.Mismatch(f"the result could not be read back ({exc})")
            else:
                mismatch = compare_case(case, received)
            if mismatch is None:
                state[i] = "passed"
                if results[i].get("mutated") and mutated_case is None:
                    mutated_case = (i, results[i]["mutated"])
                continue
            state[i] = "failed"
            hints = _hints(spec, case, received, compare)
            failures.append((i, FailingCase(
                case.check, mismatch.message, inputs, case.expected, received,
                where=mismatch.where, index=mismatch.index,
                expected_value=mismatch.expected_value, received_value=mismatch.received_value,
                hints=hints)))
        elif i in errors:
            err = errors[i]
            state[i] = "failed"
            message = _raised(err, run)
            failures.append((i, FailingCase(
                case.check, message, inputs, case.expected, error=message,
                traceback=_frames(err.get("traceback", []), path),
                hints=tuple(h for h in [spec.hints.get(case.check)] if h))))
        elif ended is not None and started and started[-1] == i:
            state[i] = "failed"
            failures.append((i, FailingCase(case.check, ended, inputs, case.expected,
                                            error=ended)))
        else:
            state[i] = "not run"

    checks = _group_checks(cases, state, failures)
    if mutated_case is not None:
        i, names = mutated_case
        names = [_param_name(spec, n) for n in names]
        checks.append(Check("inputs left unchanged", "failed",
                            f"the function changed its argument {', '.join(names)} in place; "
                            "work on a copy (e.g. x = x - m, not x -= m)"))
    elif all(s == "passed" for s in state.values()):
        checks.append(Check("inputs left unchanged", "passed", "no argument was modified"))
    bad_imports = [m for m in imported if m in FORBIDDEN_IMPORTS]
    if bad_imports:
        checks.append(Check("written from scratch", "failed",
                            f"the file imports {', '.join(bad_imports)}; write the function "
                            "with NumPy alone"))
    passed = all(c.passed for c in checks)
    failing = None
    if failures:
        failing = min(failures, key=lambda f: (cases[f[0]].size, f[0]))[1]
    elif mutated_case is not None:
        i, names = mutated_case
        case = cases[i]
        failing = FailingCase("inputs left unchanged", checks[-1].message,
                              _input_names(spec, case), case.expected)
    counts = {"cases": len(cases), "passed": sum(s == "passed" for s in state.values()),
              "failed": sum(s == "failed" for s in state.values()),
              "not_run": sum(s == "not run" for s in state.values())}
    return CheckResult(passed=passed, checks=tuple(checks), failing_case=failing,
                       counts=counts, **base)


def _raised(err: dict, run) -> str:
    """'raised TYPE: message', with what a bare MemoryError or NotImplementedError means."""
    kind, message = err["type"], err.get("message") or ""
    if kind == "MemoryError":
        limit = run.memory_limit if run is not None else MEMORY_LIMIT
        message = f"ran out of memory (the limit is {limit / 2**30:g} GiB)"
    elif kind == "NotImplementedError" and not message:
        message = "the stub is not filled in yet"
    return f"raised {kind}: {message}" if message else f"raised {kind}"


def _param_name(spec, name: str) -> str:
    if name.startswith("#"):
        j = int(name[1:])
        return spec.params[j] if j < len(spec.params) else f"argument {j}"
    return name


def _group_checks(cases, state, failures) -> list[Check]:
    order: list[str] = []
    for c in cases:
        if c.check not in order:
            order.append(c.check)
    first_failure = {}
    for i, fc in failures:
        first_failure.setdefault(cases[i].check, (cases[i].size, i, fc))
        if (cases[i].size, i) < first_failure[cases[i].check][:2]:
            first_failure[cases[i].check] = (cases[i].size, i, fc)
    checks = []
    for name in order:
        ids = [i for i, c in enumerate(cases) if c.check == name]
        n_pass = sum(state[i] == "passed" for i in ids)
        n_fail = sum(state[i] == "failed" for i in ids)
        if n_fail:
            fc = first_failure[name][2]
            checks.append(Check(name, "failed", f"{n_fail} of {len(ids)} cases: {fc.message}",
                                fc.hints[0] if fc.hints else ""))
        elif n_pass == len(ids):
            checks.append(Check(name, "passed", f"{len(ids)} case{'s' * (len(ids) > 1)}"))
        else:
            checks.append(Check(name, "not run", "not reached"))
    return checks


def _hints(spec, case, received, compare) -> tuple[str, ...]:
    import copy

    import numpy as np

    hints = []
    for mistake in spec.mistakes:
        try:
            with np.errstate(all="ignore"):
                wrong = mistake.fn(*copy.deepcopy(case.args), **copy.deepcopy(case.kwargs))
        except Exception:   # the mistake does not apply to these inputs
            continue
        if compare(wrong, received) is None and compare(wrong, case.expected) is not None:
            hints.append(f"this is what {mistake.message} gives")
    hint = spec.hints.get(case.check)
    if hint:
        hints.append(hint)
    return tuple(hints)


def _file_problem(drill: Drill, events: list[dict], path: str):
    """(message, traceback lines) when the file could not be loaded or has no function."""
    name = Path(path).name
    for e in events:
        if e["event"] != "error" or e.get("stage") not in ("import", "lookup"):
            continue
        if e["stage"] == "lookup":
            found = e.get("found") or []
            also = f" (it defines {', '.join(found)})" if found else ""
            what = "is not a function" if e["message"] == "is not a function" else "is missing"
            return (f"{name}: `{drill.function}` {what}{also}; define "
                    f"def {drill.function}(...) as in the stub", ())
        syntax = e.get("syntax")
        if syntax:
            caret = " " * max((syntax.get("offset") or 1) - 1, 0) + "^"
            return (f"{name}:{syntax['line']}: syntax error: {syntax['msg']}",
                    (syntax.get("text", ""), caret))
        return (f"{name} {_raised(e, None)} while being imported",
                _frames(e.get("traceback", []), path))
    ended = [e for e in events if e["event"] == "ended"]
    if ended and not any(e["event"] in ("imported", "case") for e in events):
        return (f"{name} could not be loaded: {ended[0]['message']}", ())
    return None


def _io(run) -> dict:
    if run is None:
        return {"stdout": "", "stderr": "", "seconds": 0.0}

    def text(c) -> str:
        t = c.text()
        if c.truncated:
            t += f"\n... ({c.total - len(c.head)} more bytes not shown)"
        return t

    return {"stdout": text(run.stdout), "stderr": text(run.stderr), "seconds": run.seconds}


# ----------------------------------------------------------------------------- cost

def grade_cost(result: CheckResult, spec, events: list[dict], run) -> CheckResult:
    """Add the timing and memory checks of a second run to a passed result."""
    checks = list(result.checks)
    measurements = list(result.measurements)
    ended = next((e["message"] for e in events if e["event"] == "ended"), None)
    errors = [e for e in events if e["event"] == "error"]
    failing = None
    if spec.timing:
        t = next((e for e in events if e["event"] == "timing"), None)
        name = f"cost: {spec.timing.what}"
        if t is None:
            why = _cost_failure(errors, "timing", ended)
            checks.append(Check(name, "failed", why))
        else:
            k = fit_exponent(t["sizes"], t["seconds"])
            table = ", ".join(f"n={n}: {s * 1e3:.3g} ms" for n, s in zip(t["sizes"], t["seconds"],
                                                                         strict=True))
            text = (f"median time per call {table}; fitted exponent {k:.2f} "
                    f"(time ~ n^k, accepted below {spec.timing.max_exponent:g})")
            measurements.append(text)
            ok = k < spec.timing.max_exponent
            checks.append(Check(name, "passed" if ok else "failed", text))
    if spec.memory:
        m = next((e for e in events if e["event"] == "memory"), None)
        name = f"memory: {spec.memory.what}"
        if m is None:
            checks.append(Check(name, "failed", _cost_failure(errors, "memory", ended)))
        else:
            args = spec.memory.probe(spec.rng("memory"))[0]
            ceiling, full = spec.memory.max_bytes(args), spec.memory.full_bytes(args)
            text = (f"peak memory of one call {_mib(m['peak_bytes'])}; allowed "
                    f"{_mib(ceiling)}; the full score matrix would be {_mib(full)}")
            measurements.append(text)
            checks.append(Check(name, "passed" if m["peak_bytes"] <= ceiling else "failed",
                                text))
    passed = all(c.passed for c in checks)
    if not passed:
        bad = next(c for c in checks if not c.passed)
        failing = FailingCase(bad.name, bad.message, {}, None)
    seconds = result.seconds + (run.seconds if run is not None else 0.0)
    return CheckResult(**{**result.__dict__, "checks": tuple(checks), "passed": passed,
                          "measurements": tuple(measurements), "seconds": seconds,
                          "failing_case": failing})


def _cost_failure(errors, stage, ended) -> str:
    for e in errors:
        if e.get("stage") == stage:
            return f"raised {e['type']}: {e['message']}"
    return ended or "no measurement came back"


def _mib(n: float) -> str:
    return f"{n / 2**20:.2f} MiB"


def fit_exponent(sizes, seconds) -> float:
    """Least-squares slope of log(time) against log(n)."""
    xs = [math.log(n) for n in sizes]
    ys = [math.log(max(s, 1e-9)) for s in seconds]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx
