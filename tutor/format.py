"""Numbers, percents, plurals and times for people: one place, so every view agrees."""

from __future__ import annotations

import re
from datetime import datetime

# C0 controls but tab and newline, DEL, C1 controls, and the bidirectional overrides
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def format_number(x: float) -> str:
    """A number for people: 124,439,808 (124.4M), or 3.2e-05."""
    if float(x).is_integer() and abs(x) < 1e18:
        n = f"{int(x):,}"
        for scale, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
            if abs(x) >= scale * 10:
                return f"{n} ({x / scale:.4g}{suffix})"
        return n
    return f"{x:.4g}"


def plain_number(x: float) -> str:
    """124,439,808 for whole numbers, 4 significant digits otherwise (exports, tables)."""
    return f"{int(x):,}" if float(x).is_integer() and abs(x) < 1e15 else f"{x:.4g}"


def percent(x: float | None) -> str:
    """0.873 -> '87%'; None -> '-'."""
    return "-" if x is None else f"{x:.0%}"


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def until(due: datetime, now: datetime) -> str:
    """'in 5 min', 'in 3 h', 'in 4 days (2025-03-05)'."""
    seconds = (due - now).total_seconds()
    if seconds < 3600:
        return f"in {max(1, round(seconds / 60))} min"
    if seconds < 86400:
        return f"in {seconds / 3600:.0f} h"
    return f"in {seconds / 86400:.0f} days ({due.date().isoformat()})"


def interval(seconds: float) -> str:
    """A scheduling interval, short: '1m', '10m', '5h', '3d', '2.1mo', '1.2y'."""
    if seconds < 3600:
        return f"{max(1, round(seconds / 60))}m"
    if seconds < 86400:
        return f"{round(seconds / 3600)}h"
    days = seconds / 86400
    if days < 30:
        return f"{round(days)}d"
    if days < 365:
        return f"{days / 30:.1f}mo"
    return f"{days / 365:.1f}y"


def visible(text: str) -> str:
    """Text that is safe to print: control and escape characters shown as `\\x1b` or
    `\\u202e`, never sent to the terminal; tab and newline are kept."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m[0]):02x}" if ord(m[0]) < 0x100
                        else f"\\u{ord(m[0]):04x}", text)
