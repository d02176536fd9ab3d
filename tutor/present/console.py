"""Consoles for people (rich) and helpers for scripts (JSON), honouring NO_COLOR and pipes."""

from __future__ import annotations

import json
import sys
from typing import Any


def console(stderr: bool = False, width: int | None = None):
    """A rich Console: plain text, no escape codes at all, for NO_COLOR or a non-TTY stream."""
    import os

    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    plain = bool(os.environ.get("NO_COLOR"))
    return Console(file=stream, width=width, highlight=False, soft_wrap=False, emoji=False,
                   **({"color_system": None} if plain else {}))


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
