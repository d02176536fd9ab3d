"""Rendering helpers shared by the demos: heatmaps, bars, line plots and the takeaway."""

from __future__ import annotations

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


def line_plot(series: dict[str, tuple[Sequence[float], Sequence[float]]], *,
              title: str = "", xlabel: str = "", ylabel: str = "", logx: bool = False,
              logy: bool = False, width: int = 60, height: int = 15) -> Text:
    """A terminal line plot (plotext), one line per series, optionally on log axes."""
    import plotext as plt

    plt.clear_figure()
    for label, (x, y) in series.items():
        plt.plot(list(map(float, x)), list(map(float, y)), label=label, marker="braille")
    if logx:
        plt.xscale("log")
    if logy:
        plt.yscale("log")
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
    return text


def table(columns: Sequence[str], rows: Sequence[Sequence[object]], title: str | None = None,
          justify_numbers: bool = True) -> Table:
    """A plain table; numeric columns are right-aligned."""
    t = Table(title=title, title_justify="left")
    for i, c in enumerate(columns):
        numeric = justify_numbers and i > 0
        t.add_column(c, justify="right" if numeric else "left")
    for r in rows:
        t.add_row(*[str(x) for x in r])
    return t


def fmt(x: float, digits: int = 3) -> str:
    """A number for a table: 1,234,567 / 0.0123 / 1.23e-07."""
    if isinstance(x, int) or (isinstance(x, float) and x.is_integer() and abs(x) < 1e15):
        return f"{int(x):,}"
    if x != 0 and (abs(x) < 1e-3 or abs(x) >= 1e6):
        return f"{x:.{digits - 1}e}"
    return f"{x:.{digits}g}" if abs(x) >= 1 else f"{x:.{digits}f}"


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
