"""The command line: thin Typer commands that parse options, call the package, and print.

Each area registers its commands on the root app (`tutor.cli.app`): `bank` (topics,
list, show, validate, schema, formulas, new), `demo`, `study` (quiz, grade, stats,
reset) and `export`. Heavy imports (numpy, yaml, pydantic, the bank) happen inside
the commands that need them, so `tutor --help` starts fast.
"""

from __future__ import annotations

import sys

from tutor.cli import bank, demo, export, study  # noqa: F401  (each registers its commands)
from tutor.cli.app import app

__all__ = ["app", "main"]


def main() -> None:
    try:
        app(prog_name="tutor")
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)
