"""Start-up time: `tutor --help` and `tutor list` against a bare Typer app, and how long
`tutor quiz` takes to reach its first card beyond `tutor --version`.

Prints the median wall time over N runs of each, measured interleaved in one run,
and the ratio to a bare Typer app with the same number of commands and the same
help settings. Targets: `tutor --help` at most 1.2x the bare app; the quiz's first card
(answered `:q`, on a warm cache) within 300 ms of `tutor --version`.

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


def wall(cmd: list[str], stdin: str | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, input=stdin, text=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, check=True)
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
        os.environ["TUTOR_HOME"] = str(Path(tmp) / "home")  # an empty store, a warm cache
        cases = {
            "bare typer --help": ([sys.executable, str(bare), "--help"], None),
            "tutor --help": ([*tutor, "--help"], None),
            "tutor --version": ([*tutor, "--version"], None),
            "tutor list": ([*tutor, "list"], None),
            "tutor quiz, 1st card": ([*tutor, "quiz"], ":q\n"),
        }
        for cmd, stdin in cases.values():  # warm the file cache and the bank caches
            wall(cmd, stdin)
        times: dict[str, list[float]] = {k: [] for k in cases}
        for _ in range(args.runs):
            for name, (cmd, stdin) in cases.items():
                times[name].append(wall(cmd, stdin))
    med = {k: statistics.median(v) * 1000 for k, v in times.items()}
    base = med["bare typer --help"]
    print(f"{n_commands} commands, median of {args.runs} interleaved runs; "
          f"PYTHONDONTWRITEBYTECODE={os.environ.get('PYTHONDONTWRITEBYTECODE', '')!r}")
    for name, ms in med.items():
        print(f"  {name:<20} {ms:7.1f} ms   {ms / base:5.2f}x bare")
    ratio = med["tutor --help"] / base
    print(f"tutor --help / bare --help = {ratio:.2f} (target <= 1.2): "
          f"{'ok' if ratio <= 1.2 else 'OVER'}")
    extra = med["tutor quiz, 1st card"] - med["tutor --version"]
    print(f"quiz first card - tutor --version = {extra:.0f} ms (target <= 300): "
          f"{'ok' if extra <= 300 else 'OVER'}")


if __name__ == "__main__":
    main()
