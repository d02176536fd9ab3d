"""Wall time of every demo at its defaults: in-process and as `tutor demo NAME --json`.

In-process is compute + render to a console that discards its output (imports
already paid); the subprocess column is what a user waits for, start-up
included. Every demo must finish within 3 s end to end; slower ones are marked.
Timings on a shared machine drift, so read them as one run's snapshot.

    python benchmarks/demos.py [NAME ...]
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LIMIT_S = 3.0


def in_process(name: str) -> float:
    from rich.console import Console

    from tutor import demos
    from tutor.demos.registry import DEMOS

    info = DEMOS[name]
    t0 = time.perf_counter()
    params = demos.prepare(info, {})
    result = demos.compute(info, params)
    Console(file=io.StringIO(), width=60, color_system=None).print(demos.render(info, result))
    return time.perf_counter() - t0


def as_subprocess(name: str) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "TUTOR_HOME": home}
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "tutor", "demo", name, "--json"],
                              cwd=ROOT, env=env, capture_output=True, text=True)
        return time.perf_counter() - t0, proc.returncode


def main(names: list[str]) -> int:
    from tutor.demos.registry import DEMOS

    names = names or list(DEMOS)
    import numpy  # noqa: F401  (imports are paid once, before the in-process timings)
    import plotext  # noqa: F401
    import rich.console  # noqa: F401
    print(f"{'demo':<18} {'in-process s':>12} {'tutor demo --json s':>20}  note")
    slow = 0
    for name in names:
        try:
            inner = f"{in_process(name):12.2f}"
        except ModuleNotFoundError as exc:
            print(f"{name:<18} {'-':>12} {'-':>20}  not implemented ({exc.name})")
            continue
        outer, code = as_subprocess(name)
        note = []
        if outer > LIMIT_S:
            note.append(f"OVER {LIMIT_S:g} s")
            slow += 1
        if code:
            note.append(f"exit {code}")
        print(f"{name:<18} {inner} {outer:20.2f}  {' '.join(note)}", flush=True)
    print(f"\n{slow} demo(s) over {LIMIT_S:g} s; load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} cores")
    return 1 if slow else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
