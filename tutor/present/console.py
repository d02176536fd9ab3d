"""Consoles for people (rich) and helpers for scripts (JSON), honouring NO_COLOR and pipes,
and the pager for output taller than the terminal."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any


@dataclass
class _Capture:
    """Where `console()` writes while `paged` runs: a buffer standing in for the terminal."""

    buffer: IO[str]
    width: int
    height: int
    color_system: str | None


_capture: list[_Capture] = []


def console(stderr: bool = False, width: int | None = None):
    """A rich Console: plain text, no escape codes at all, for NO_COLOR or a non-TTY stream.

    Inside `paged`, stdout consoles write to its buffer, styled as for the terminal.
    """
    from rich.console import Console

    plain = bool(os.environ.get("NO_COLOR"))
    if not stderr and _capture:
        cap = _capture[-1]
        return Console(file=cap.buffer, width=width or cap.width, height=cap.height,
                       force_terminal=True, color_system=None if plain else cap.color_system,
                       highlight=False, soft_wrap=False, emoji=False)
    stream = sys.stderr if stderr else sys.stdout
    return Console(file=stream, width=width, highlight=False, soft_wrap=False, emoji=False,
                   **({"color_system": None} if plain else {}))


def pager_wanted(no_pager: bool = False) -> bool:
    """Page only for a person: stdout is a terminal (not dumb), and neither --no-pager
    nor TUTOR_PAGER=0 (or off, no, false) says otherwise."""
    if no_pager or os.environ.get("TUTOR_PAGER", "").strip().lower() in ("0", "off", "no",
                                                                         "false"):
        return False
    try:
        return sys.stdout.isatty() and os.environ.get("TERM") != "dumb"
    except (AttributeError, ValueError):  # a closed or replaced stdout
        return False


@contextlib.contextmanager
def paged(wanted: bool = True) -> Iterator[None]:
    """Collect what `console()` prints to stdout, then show it through a pager when it is
    taller than the terminal, else print it as it is. With `wanted` False, or when
    stdout is no terminal, this does nothing."""
    if not (wanted and pager_wanted()):
        yield
        return
    import io

    from rich.console import Console

    terminal = Console(file=sys.stdout)
    cap = _Capture(io.StringIO(), terminal.width, terminal.height, terminal.color_system)
    _capture.append(cap)
    try:
        yield
    finally:
        _capture.remove(cap)
        text = cap.buffer.getvalue()
        if text.count("\n") >= cap.height:
            page(text)
        else:
            sys.stdout.write(text)
            sys.stdout.flush()


def page(text: str) -> None:
    """Show `text` (with its escape codes) in $PAGER, or `less`; LESS defaults to FRX
    (quit when it fits, keep colours, leave the text on screen), as git sets it. When
    no pager can be started, the text is printed."""
    import subprocess

    command = os.environ.get("PAGER", "").strip() or "less"
    env = dict(os.environ)
    env.setdefault("LESS", "FRX")
    data = text.encode(sys.stdout.encoding or "utf-8", errors="replace")
    sys.stdout.flush()
    try:
        proc = subprocess.Popen(command, shell=True, stdin=subprocess.PIPE, env=env)
    except OSError:
        sys.stdout.write(text)
        return
    with contextlib.suppress(BrokenPipeError, OSError):  # the pager quit early
        proc.stdin.write(data)
    with contextlib.suppress(BrokenPipeError, OSError):
        proc.stdin.close()
    while True:
        try:
            code = proc.wait()
            break
        except KeyboardInterrupt:  # Ctrl-C belongs to the pager: it stays open
            continue
    if code == 127:  # the shell found no such pager
        sys.stdout.write(text)
        sys.stdout.flush()


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=None) + "\n")


def warn(message: str) -> None:
    from tutor.format import visible

    sys.stderr.write(f"warning: {visible(message)}\n")


def rich_progress():
    """A `progress(items, total, description)` function that draws a transient bar on stderr."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    def progress(items, total=None, description=""):
        if not sys.stderr.isatty():
            yield from items
            return
        with Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
                      console=console(stderr=True), transient=True) as bar:
            task = bar.add_task(description or "working", total=total)
            for item in items:
                yield item
                bar.advance(task)

    return progress
