"""Rendering helpers shared by the demos: heatmaps, bars, line plots and the takeaway."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

_SHADES = " ░▒▓█"


def view(title: str, *parts, takeaway: str) -> Panel:
    """A demo's whole view: its parts, then the takeaway that ties numbers to the answer."""
    body = [p for p in parts if p is not None]
    body.append(Text(""))
    body.append(Text("Takeaway: ", style="bold green") + Text(takeaway))
    return Panel(Group(*body), title=title, title_align="left", expand=False)


def heading(text: str) -> Text:
    return Text(text, style="bold underline")


def heatmap(matrix, row_labels: Sequence[str] | None = None,
            col_labels: Sequence[str] | None = None, title: str | None = None,
            vmin: float | None = None, vmax: float | None = None) -> Group:
    """Shade each cell by value: ' ░▒▓█' from low to high. Booleans: '■' True, '·' False."""
    import numpy as np

    m = np.asarray(matrix)
    rows = []
    if title:
        rows.append(heading(title))
    width = max((len(s) for s in row_labels), default=0) if row_labels else 0
    if col_labels is not None:
        rows.append(Text(" " * (width + 1) + "".join(f"{str(c)[-1:]:>2}" for c in col_labels),
                         style="dim"))
    if m.dtype == bool:
        cells = np.where(m, "■", "·")
    else:
        finite = m[np.isfinite(m)]
        lo = float(finite.min()) if vmin is None and finite.size else (vmin or 0.0)
        hi = float(finite.max()) if vmax is None and finite.size else (vmax or 1.0)
        scaled = np.zeros(m.shape) if hi <= lo else (np.nan_to_num(m, nan=lo, neginf=lo,
                                                                  posinf=hi) - lo) / (hi - lo)
        idx = np.clip(np.rint(scaled * (len(_SHADES) - 1)), 0, len(_SHADES) - 1).astype(int)
        cells = np.array(list(_SHADES))[idx]
    for i, row in enumerate(cells):
        label = f"{row_labels[i]:>{width}} " if row_labels else ""
        rows.append(Text(label, style="dim") + Text("".join(f" {c}" for c in row)))
    return Group(*rows)


def bars(rows: Sequence[tuple[str, float, str]], title: str | None = None,
         width: int = 30) -> Table:
    """Horizontal bars: (label, value, value as text), scaled to the largest value."""
    from rich.bar import Bar

    table = Table(title=title, title_justify="left", box=None, show_header=False,
                  pad_edge=False)
    table.add_column(no_wrap=True)
    table.add_column(width=width)
    table.add_column(justify="right", no_wrap=True)
    top = max((v for _, v, _ in rows), default=0) or 1
    for label, value, text in rows:
        table.add_row(label, Bar(top, 0, max(value, 0), width=width), text)
    return table


# Series styles: a marker that tells the lines apart without colour, and a 256-colour code
# shared by plotext (the line) and rich (the legend).
_MARKERS = ("braille", "hd", "x", "+", "o", "*")
_LEGEND_GLYPHS = {"braille": "⠒⠒", "hd": "▀▀"}
_COLOURS = (12, 9, 10, 208, 13, 14)


def line_plot(series: dict[str, tuple[Sequence[float], Sequence[float]]], *,
              title: str = "", xlabel: str = "", ylabel: str = "", logx: bool = False,
              logy: bool = False, width: int = 60, height: int = 15) -> Text:
    """A terminal line plot (plotext), one line per series, optionally on log axes.

    The legend sits under the plot, never on the data, and each series has its own
    marker as well as its colour, so the lines can be told apart without colour.
    Ticks are round values (`linear_ticks`, `log_ticks`); a log axis leaves out
    values <= 0, and an axis of integers whose ends are powers of two (sequence
    lengths, batch sizes) is ticked at powers of two.
    """
    import plotext as plt

    x_all = [float(x) for xs, _ in series.values() for x in xs]
    x_ints = bool(x_all) and all(x.is_integer() for x in x_all)
    plt.clear_figure()
    kept: dict[str, tuple[list[float], list[float]]] = {}
    for label, (x, y) in series.items():
        pts = [(float(a), float(b)) for a, b in zip(x, y, strict=True)
               if math.isfinite(float(a)) and math.isfinite(float(b))
               and (not logx or float(a) > 0) and (not logy or float(b) > 0)]
        if pts:
            kept[label] = ([a for a, _ in pts], [b for _, b in pts])
    if not kept:
        return Text(f"{title}: nothing to plot" if title else "nothing to plot", style="dim")
    xs_all = [a for xs, _ in kept.values() for a in xs]
    ys_all = [b for _, ys in kept.values() for b in ys]
    xt = _axis_ticks(min(xs_all), max(xs_all), logx, max(2, width // 9), x_ints)
    yt = _axis_ticks(min(ys_all), max(ys_all), logy, max(2, (height - 4) // 2 + 1), False)
    tx = math.log10 if logx else float
    ty = math.log10 if logy else float
    # the last series first, so the finest marker (braille, the first series) is on top
    for i, (x, y) in reversed(list(enumerate(kept.values()))):
        plt.plot([tx(v) for v in x], [ty(v) for v in y], marker=_MARKERS[i % len(_MARKERS)],
                 color=_COLOURS[i % len(_COLOURS)])
    (x_lo, x_hi), (y_lo, y_hi) = _limits(xs_all, xt, logx), _limits(ys_all, yt, logy)
    plt.xlim(x_lo, x_hi)
    plt.ylim(y_lo, y_hi)
    plt.xticks([tx(t) for t in xt], tick_labels(xt))
    plt.yticks([ty(t) for t in yt], tick_labels(yt))
    plt.plotsize(width, height)
    plt.theme("clear")
    if title:
        plt.title(title)
    if xlabel:
        plt.xlabel(xlabel)
    if ylabel:
        plt.ylabel(ylabel)
    text = Text.from_ansi(plt.build().rstrip("\n"))
    plt.clear_figure()
    if len(kept) > 1:
        text.append("\n")
        text.append_text(legend(list(kept), width))
    return text


def legend(labels: Sequence[str], width: int) -> Text:
    """The legend of `line_plot`: each series' marker and name, wrapped at `width`."""
    out = Text()
    used = 0
    for i, label in enumerate(labels):
        marker = _MARKERS[i % len(_MARKERS)]
        entry = f"{_LEGEND_GLYPHS.get(marker, marker)} {label}"
        if used and used + 3 + len(entry) > width:
            out.append("\n")
            used = 0
        elif used:
            out.append("   ")
            used += 3
        out.append(entry, style=f"color({_COLOURS[i % len(_COLOURS)]})")
        used += len(entry)
    return out


def _limits(values: list[float], ticks: list[float], log: bool) -> tuple[float, float]:
    """The axis range: the data and the ticks, in plotted (log10 for a log axis) units."""
    f = math.log10 if log else float
    lo, hi = f(min(min(values), ticks[0])), f(max(max(values), ticks[-1]))
    if hi <= lo:
        pad = abs(lo) * 0.1 or 1.0
        lo, hi = lo - pad, hi + pad
    return lo, hi


def _axis_ticks(lo: float, hi: float, log: bool, most: int, ints: bool) -> list[float]:
    if log:
        return log_ticks(lo, hi, most, base2=ints and _power_of_two(lo) and _power_of_two(hi))
    return linear_ticks(lo, hi, most, integer=ints)


def _power_of_two(x: float) -> bool:
    return x >= 1 and float(x).is_integer() and int(x) & (int(x) - 1) == 0


def linear_ticks(lo: float, hi: float, most: int = 6, integer: bool = False) -> list[float]:
    """Round ticks inside [lo, hi], 1, 2 or 5 times a power of ten apart: the closest
    spacing that gives at most `most` of them, or, when none gives between two and
    `most`, the one that gives the fewest above one. `integer` keeps the step a whole
    number, for counts such as layers or blocks."""
    lo, hi = min(lo, hi), max(lo, hi)
    if hi == lo:
        pad = abs(lo) * 0.5 or 1.0
        lo, hi = lo - pad, hi + pad
    most = max(2, most)
    power = 10.0 ** math.floor(math.log10((hi - lo) / most))
    ticks: list[float] = []
    for step in (m * power * p for p in (1, 10, 100) for m in (1, 2, 5)):
        if integer and step < 1:
            continue
        first, last = math.ceil(lo / step - 1e-9), math.floor(hi / step + 1e-9)
        if last - first + 1 < 2:
            break      # too coarse: keep the last spacing that gave two or more
        ticks = [_clean(k * step) or 0.0 for k in range(first, last + 1)]
        if len(ticks) <= most:
            break
    return ticks or [_clean(lo), _clean(hi)]


def log_ticks(lo: float, hi: float, most: int = 6, base2: bool = False) -> list[float]:
    """Round ticks for a log axis over [lo, hi], both > 0, at most `most` of them.

    Powers of ten (1, 2 and 5 times them when the range spans under two decades), or
    powers of two with `base2`. Ticks lie inside [lo, hi] when at least two fit there;
    otherwise the nearest round values outside are used. Never 0.
    """
    if lo <= 0 or hi <= 0:
        raise ValueError("a log axis needs values above 0")
    lo, hi = min(lo, hi), max(lo, hi)
    base = 2.0 if base2 else 10.0
    a = math.floor(math.log(lo, base) + 1e-9)
    b = max(a + 1, math.ceil(math.log(hi, base) - 1e-9))
    choices = [(1,)] if base2 or b - a > 2 else [(1,), (1, 2, 5), tuple(range(1, 10))]
    for mantissas in choices:
        ticks = sorted(_clean(m * base ** k) for k in range(a, b + 1) for m in mantissas)
        inside = [t for t in ticks if lo * (1 - 1e-9) <= t <= hi * (1 + 1e-9)]
        if len(inside) >= 2:
            break
    else:
        inside = [max(t for t in ticks if t <= lo * (1 + 1e-9)),
                  min(t for t in ticks if t >= hi * (1 - 1e-9))]
    every = math.ceil((len(inside) - 1) / (max(2, most) - 1)) if len(inside) > most else 1
    return inside[::every]


def _clean(x: float) -> float:
    return float(f"{x:.12g}")


def tick_labels(ticks: Sequence[float]) -> list[str]:
    """Labels in one format for a whole axis: 0.5 1.0 1.5, or 0 2e-4 4e-4, or 1,024.

    On an axis of powers of two reaching 2^14 or more, 1,024 and up read 1K, 2K, ...,
    and 2^20 and up 1M, 2M, ... (the way context lengths are written).
    """
    nonzero = [abs(t) for t in ticks if t != 0]
    if not nonzero:
        return ["0" for _ in ticks]
    lo, hi = min(nonzero), max(nonzero)
    if all(_power_of_two(t) for t in ticks) and hi >= 2**14:
        return [f"{int(t) >> 20}M" if t >= 2**20 else f"{int(t) >> 10}K" if t >= 2**10
                else f"{int(t)}" for t in ticks]
    if hi >= 1e6 or lo < 1e-3:
        for digits in (0, 1, 2):
            labels = ["0" if t == 0 else f"{t:.{digits}e}" for t in ticks]
            if len(set(labels)) == len(labels):
                break
        return [re.sub(r"e([+-])0*(\d)", lambda m: "e" + m[1].replace("+", "") + m[2], x)
                for x in labels]
    decimals = max(_decimals(t) for t in ticks)
    return [f"{t:,.{decimals}f}" for t in ticks]


def _decimals(x: float) -> int:
    text = f"{x:.10f}".rstrip("0")
    return len(text.split(".")[1]) if "." in text else 0


def table(columns: Sequence[str], rows: Sequence[Sequence[object]], title: str | None = None,
          justify_numbers: bool = True) -> Table:
    """A plain table; numeric columns are right-aligned.

    A column whose cells all come from `fmt` is shown in one format (`column_format`),
    and the table is at least as wide as its title, so the title never wraps inside
    a narrow table.
    """
    from rich.cells import cell_len

    t = Table(title=title, title_justify="left",
              min_width=cell_len(title) if title else None)
    for i, c in enumerate(columns):
        numeric = justify_numbers and i > 0
        t.add_column(c, justify="right" if numeric else "left")
    cells = [[x if isinstance(x, Num) else str(x) for x in r] for r in rows]
    for j in range(len(columns)):
        column = [r[j] for r in cells if j < len(r)]
        if column and all(isinstance(x, Num) for x in column):
            for r, text in zip((r for r in cells if j < len(r)),
                               column_format([x.value for x in column]), strict=True):
                r[j] = text
    for r in cells:
        t.add_row(*[str(x) for x in r])
    return t


class Num(str):
    """A number shown by `fmt`, which keeps its value so a table can format its column."""

    value: float

    def __new__(cls, text: str, value: float) -> Num:
        s = super().__new__(cls, text)
        s.value = value
        return s


def fmt(x: float, digits: int = 3) -> Num:
    """A number for a table: 1,234,567 / 0.0123 / 1.23e-07 (in `table`, see column_format)."""
    if isinstance(x, int) or (isinstance(x, float) and x.is_integer() and abs(x) < 1e15):
        return Num(f"{int(x):,}", x)
    if x != 0 and (abs(x) < 1e-3 or abs(x) >= 1e6):
        return Num(f"{x:.{digits - 1}e}", x)
    return Num(f"{x:.{digits}g}" if abs(x) >= 1 else f"{x:.{digits}f}", x)


def column_format(values: Sequence[float], digits: int = 3) -> list[str]:
    """One format for a column of numbers, so its rows compare at a glance.

    Whole numbers: 1,024. Otherwise a fixed number of decimals that gives the
    smallest value `digits` significant digits (4.02 / 250.00 / 1,031.37), or, when
    the column holds values below 0.001, at or above 1e6, or spans four decades or
    more, scientific notation throughout (9.88e-01 / 1.19e-05). An exact zero reads 0
    (so "bit-identical" stays visible); NaN and inf are shown as such.
    """
    finite = [float(v) for v in values if math.isfinite(float(v))]
    nonzero = [abs(v) for v in finite if v != 0]

    def special(v: float) -> str | None:
        return None if math.isfinite(float(v)) else str(float(v))

    if all(float(v).is_integer() and abs(v) < 1e15 for v in finite):
        return [special(v) or f"{int(v):,}" for v in values]
    lo, hi = min(nonzero), max(nonzero)
    if lo < 1e-3 or hi >= 1e6 or hi / lo >= 1e4:
        return [special(v) or ("0" if v == 0 else f"{v:.{digits - 1}e}") for v in values]
    decimals = max(0, digits - 1 - math.floor(math.log10(lo)))
    return [special(v) or ("0" if v == 0 else f"{v:,.{decimals}f}") for v in values]


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.2f} {unit}"
        n /= 1024
    return f"{n:.2f} PiB"


def side_by_side(*parts, gap: int = 2) -> Table:
    """Renderables next to each other in one row (for comparing small heatmaps)."""
    grid = Table.grid(padding=(0, gap))
    for _ in parts:
        grid.add_column(no_wrap=True)
    grid.add_row(*parts)
    return grid


def mini_heatmap(matrix, title: str | None = None, vmin: float | None = None,
                 vmax: float | None = None) -> Group:
    """One character per cell, so several fit side by side. Booleans: '█' True, '·' False."""
    import numpy as np

    m = np.asarray(matrix)
    if m.dtype == bool:
        cells = np.where(m, "█", "·")
    else:
        finite = m[np.isfinite(m)]
        lo = vmin if vmin is not None else (float(finite.min()) if finite.size else 0.0)
        hi = vmax if vmax is not None else (float(finite.max()) if finite.size else 1.0)
        clean = np.nan_to_num(m.astype(float), nan=lo, neginf=lo, posinf=hi)
        scaled = np.zeros(m.shape) if hi <= lo else (clean - lo) / (hi - lo)
        idx = np.clip(np.rint(scaled * (len(_SHADES) - 1)), 0, len(_SHADES) - 1).astype(int)
        cells = np.array(list(_SHADES))[idx]
    rows = [Text(title, style="bold")] if title else []
    rows += [Text("".join(row)) for row in cells]
    return Group(*rows)


_QUADRANTS = " ▘▝▀▖▌▞▛▗▚▐▜▄▙▟█"


def quadrant_mask(matrix, title: str | None = None) -> Group:
    """A bool matrix at 2x2 cells per character (quadrant blocks), exact and compact."""
    import numpy as np

    m = np.asarray(matrix, dtype=bool)
    rows, cols = m.shape
    padded = np.zeros((rows + rows % 2, cols + cols % 2), dtype=bool)
    padded[:rows, :cols] = m
    code = (padded[0::2, 0::2] * 1 + padded[0::2, 1::2] * 2
            + padded[1::2, 0::2] * 4 + padded[1::2, 1::2] * 8)
    lines = [Text(title, style="bold")] if title else []
    lines += [Text("".join(_QUADRANTS[c] for c in row)) for row in code]
    return Group(*lines)
