"""Run a demo in-process at chosen options and render it at a given width."""

from __future__ import annotations

import io

from rich.console import Console

from tutor import demos
from tutor.demos.registry import DEMOS


def run(name: str, **args) -> dict:
    info = DEMOS[name]
    return demos.compute(info, demos.prepare(info, args))


def render_text(name: str, result: dict, width: int = 60) -> str:
    buf = io.StringIO()
    Console(width=width, file=buf, color_system=None).print(demos.render(DEMOS[name], result))
    return buf.getvalue()


def assert_fits(text: str, width: int = 60) -> None:
    long = [line for line in text.splitlines() if len(line) > width]
    assert not long, f"{len(long)} lines wider than {width}: {long[0]!r}"
