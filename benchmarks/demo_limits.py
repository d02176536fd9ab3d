"""Every demo at the largest values it accepts: wall seconds and peak memory of each run.

A demo's bounds must bound its real cost: at the largest values its options accept,
together, it should finish within LIMIT_S and LIMIT_MB. For each demo the runs are:

- every numeric option at its maximum at once (a list option: max_items copies of the
  maximum), and each option at its maximum alone with the others at their defaults;
- each choice of a text option with few choices (float32 against float64, ...);
- when the demo's own check refuses a run, the same run again with the largest value
  the refusal names ("the largest --n-max allowed with these is 2896"), up to 4 times.

Each run is `python -m tutor demo NAME --json ...` in its own process, with a fresh
TUTOR_HOME and a timeout; its CPU time (user + system) and peak resident memory come
from os.wait4. The limit is judged on CPU seconds with OpenBLAS on one thread
(--blas-threads 1, the default): that is the wall time of the run on one idle core, and
it does not depend on the load, whereas wall time on a shared machine is stretched by
it, and with two BLAS threads on a busy machine the waiting thread spins and inflates
the CPU time several times over. The table shows, per demo, the run with the most
CPU time and the one with the highest peak (start-up included: about 0.3 s and 60 MB).

    python benchmarks/demo_limits.py [NAME ...] [--timeout 120] [--all] [--markdown]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LIMIT_S = 10.0
LIMIT_MB = 1024.0
_LARGEST = re.compile(r"largest (--[a-z0-9-]+) allowed(?: with th\w+)? is (?:about )?([\d,]+)")
_LARGEST_BARE = re.compile(r"^(--[a-z0-9-]+)\b.*the largest allowed(?: with th\w+)? is "
                           r"(?:about )?([\d,]+)")


@dataclass
class Run:
    demo: str
    args: dict[str, object]
    seconds: float
    cpu: float
    peak_mb: float
    code: int
    note: str

    @property
    def accepted(self) -> bool:
        return self.code == 0


def argv(args: dict[str, object]) -> list[str]:
    out: list[str] = []
    for name, value in args.items():
        flag = "--" + name.replace("_", "-")
        for v in value if isinstance(value, list) else [value]:
            out += [flag, str(v)]
    return out


BLAS_THREADS = 1


def run(demo: str, args: dict[str, object], timeout: float) -> Run:
    """One run in its own process; its peak RSS from os.wait4, a kill after `timeout`."""
    import threading

    with tempfile.TemporaryDirectory() as home, tempfile.TemporaryFile("w+") as err:
        env = {**os.environ, "TUTOR_HOME": home, "PYTHONPATH": str(ROOT)}
        if BLAS_THREADS:
            env["OPENBLAS_NUM_THREADS"] = env["OMP_NUM_THREADS"] = str(BLAS_THREADS)
        cmd = [sys.executable, "-m", "tutor", "demo", demo, "--json", *argv(args)]
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                stderr=err, text=True)
        killer = threading.Timer(timeout, proc.kill)
        killer.start()
        _, status, usage = os.wait4(proc.pid, 0)
        killer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - t0
        err.seek(0)
        lines = err.read().strip().splitlines()
    code = proc.returncode
    note = f"killed after {timeout:.0f} s" if code == -9 else (lines[-1] if lines else "")
    cpu = usage.ru_utime + usage.ru_stime
    return Run(demo, args, seconds, cpu, usage.ru_maxrss / 1024, code, note)  # KiB on Linux


def _short(args: dict[str, object]) -> str:
    """Options as flags, a repeated list value written once with its count."""
    out = []
    for name, value in args.items():
        flag = "--" + name.replace("_", "-")
        if isinstance(value, list) and len(set(value)) == 1 and len(value) > 1:
            out.append(f"{flag} {value[0]} (x{len(value)})")
        else:
            out.append(" ".join(argv({name: value})))
    return " ".join(out) or "(defaults)"


def candidates(info) -> list[dict[str, object]]:
    """The runs to try for one demo: all at max, each at max alone, each few-choice value."""
    at_max: dict[str, object] = {}
    for p in info.params:
        if p.type in (int, float) and p.max is not None:
            value = int(p.max) if p.type is int else p.max
            at_max[p.name] = [value] * p.max_items if p.multiple else value
    runs = [dict(at_max)] if at_max else [{}]
    runs += [{name: value} for name, value in at_max.items()]
    for p in info.params:
        if p.choices and len(p.choices) <= 4:
            runs += [{**at_max, p.name: c} for c in p.choices if c != p.default]
    return runs


def largest_from(message: str) -> tuple[str, int] | None:
    m = _LARGEST.search(message) or _LARGEST_BARE.search(message)
    if not m:
        return None
    return m.group(1)[2:].replace("-", "_"), int(m.group(2).replace(",", ""))


def measure(name: str, timeout: float) -> list[Run]:
    from tutor.demos.registry import DEMOS

    info = DEMOS[name]
    runs: list[Run] = []
    for args in candidates(info):
        for _ in range(5):
            r = run(name, args, timeout)
            runs.append(r)
            if r.code != 2:
                break
            fix = largest_from(r.note)
            if fix is None or fix[0] not in {p.name for p in info.params}:
                break
            param = info.param(fix[0])
            value = [fix[1]] * len(args[fix[0]]) if param.multiple and isinstance(
                args.get(fix[0]), list) else fix[1]
            if args.get(fix[0]) == value:
                break
            args = {**args, fix[0]: value}
    return runs


def main() -> int:
    from tutor.demos.registry import DEMOS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*")
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--all", action="store_true", help="print every run")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    parser.add_argument("--blas-threads", type=int, default=1,
                        help="OPENBLAS_NUM_THREADS for the runs (0: leave it as it is)")
    args = parser.parse_args()
    global BLAS_THREADS
    BLAS_THREADS = args.blas_threads
    names = args.names or list(DEMOS)
    print(f"load average at the start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; "
          f"BLAS threads: {BLAS_THREADS or 'default'}")
    rows, over = [], 0
    for name in names:
        runs = measure(name, args.timeout)
        if args.all:
            for r in runs:
                state = "ok" if r.accepted else f"exit {r.code}: {r.note[:90]}"
                print(f"  {name:<18} {r.seconds:6.1f} s {r.cpu:6.1f} cpu {r.peak_mb:7.0f} MB  "
                      f"{' '.join(argv(r.args))[:70]:<70}  {state}", flush=True)
        done = [r for r in runs if r.accepted]
        crashed = [r for r in runs if r.code not in (0, 2)]
        if not done:
            rows.append((name, None, None, crashed))
            continue
        slow = max(done, key=lambda r: r.cpu)
        big = max(done, key=lambda r: r.peak_mb)
        rows.append((name, slow, big, crashed))
        over += slow.cpu > LIMIT_S or big.peak_mb > LIMIT_MB or bool(crashed)
        print(f"{name:<18} {slow.cpu:6.1f} cpu s ({slow.seconds:5.1f} s wall)  "
              f"{big.peak_mb:7.0f} MB  {' '.join(argv(slow.args))[:70]}", flush=True)
    if args.markdown:
        print("\n| demo | run with the most CPU time | CPU s | wall s | highest-peak run "
              "| peak MB |")
        print("| --- | --- | ---: | ---: | --- | ---: |")
        for name, slow, big, _crashed in rows:
            if slow is None:
                print(f"| {name} | (no accepted run) | | | | |")
                continue
            print(f"| {name} | `{_short(slow.args)}` | {slow.cpu:.1f} | {slow.seconds:.1f} | "
                  f"`{_short(big.args)}` | {big.peak_mb:.0f} |")
    print(f"\n{over} of {len(rows)} demos over {LIMIT_S:.0f} s or {LIMIT_MB:.0f} MB "
          "(or ending in an error other than a usage error)")
    return 1 if over else 0


if __name__ == "__main__":
    raise SystemExit(main())
