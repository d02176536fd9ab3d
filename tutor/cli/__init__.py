"""The command line: thin Typer commands that parse options, call the package, and print.

Each area registers its commands on the root app (`tutor.cli.app`): `bank` (topics,
list, show, validate, schema, formulas, new), `demo`, `study` (quiz, grade, stats,
reset) and `export`. Heavy imports (numpy, yaml, pydantic, the bank) happen inside
the commands that need them, so `tutor --help` starts fast.
"""

from __future__ import annotations

import contextlib
import sys

from tutor.cli import bank, demo, export, study  # noqa: F401  (each registers its commands)
from tutor.cli.app import app

__all__ = ["app", "main"]


def _tolerant_stdio() -> None:
    """Any bytes in (kept as surrogates, stored as they came), and any text out (a terminal
    that cannot show a character gets an escape, not a crash)."""
    for stream, errors in ((sys.stdin, "surrogateescape"), (sys.stdout, "backslashreplace"),
                           (sys.stderr, "backslashreplace")):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            with contextlib.suppress(ValueError, OSError):  # a closed or detached stream
                reconfigure(errors=errors)


def _closed_stdio() -> None:
    """A closed stdin reads as an empty one; a closed stdout is one line on stderr."""
    import os

    if sys.stdin is None:
        sys.stdin = open(os.devnull, encoding="utf-8")  # noqa: SIM115 (for the whole run)
    if sys.stdout is None:
        if sys.stderr is not None:
            sys.stderr.write("error: stdout is closed, so nothing can be shown; "
                             "run tutor with its output open (a terminal, a file or a pipe)\n")
        sys.exit(1)


def main() -> None:
    _closed_stdio()
    _tolerant_stdio()
    try:
        app(prog_name="tutor")
    except BrokenPipeError:  # `tutor list | head`: the reader has what it wanted
        import os

        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)
