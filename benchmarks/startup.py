"""Start-up time: `tutor --help` and `tutor list` against a bare Typer app.

Prints the median wall time over N runs of each, measured interleaved in one run,
and the ratio to a bare Typer app with the same number of commands and the same
help settings. Target: `tutor --help` at most 1.2x the bare app.

    python benchmarks/startup.py [--runs 20]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BARE = '''
import typer

app = typer.Typer(rich_markup_mode=None, no_args_is_help=True)

{commands}

app()
'''


def bare_app(n_commands: int) -> str:
    commands = "\n".join(
        f"@app.command()\ndef cmd{i}(json: bool = False) -> None:\n    '''Command {i}.'''\n"
        for i in range(n_commands))
    return BARE.format(commands=commands)


def wall(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()

    from typer.main import get_command

    from tutor.cli import app

    n_commands = len(get_command(app).commands)  # type: ignore[attr-defined]
    with tempfile.TemporaryDirectory() as tmp:
        bare = Path(tmp) / "bare.py"
        bare.write_text(bare_app(n_commands))
        # the console script, as a user runs it (python -m adds runpy's few ms)
        script = Path(sys.executable).with_name("tutor")
        tutor = [str(script)] if script.exists() else [sys.executable, "-m", "tutor"]
        cases = {
            "bare typer --help": [sys.executable, str(bare), "--help"],
            "tutor --help": [*tutor, "--help"],
            "tutor list": [*tutor, "list"],
        }
        for cmd in cases.values():  # warm the file cache
            wall(cmd)
        times: dict[str, list[float]] = {k: [] for k in cases}
        for _ in range(args.runs):
            for name, cmd in cases.items():
                times[name].append(wall(cmd))
    med = {k: statistics.median(v) * 1000 for k, v in times.items()}
    base = med["bare typer --help"]
    print(f"{n_commands} commands, median of {args.runs} interleaved runs; "
          f"PYTHONDONTWRITEBYTECODE={os.environ.get('PYTHONDONTWRITEBYTECODE', '')!r}")
    for name, ms in med.items():
        print(f"  {name:<20} {ms:7.1f} ms   {ms / base:5.2f}x bare")
    ratio = med["tutor --help"] / base
    print(f"tutor --help / bare --help = {ratio:.2f} (target <= 1.2): "
          f"{'ok' if ratio <= 1.2 else 'OVER'}")


if __name__ == "__main__":
    main()
