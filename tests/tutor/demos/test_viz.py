"""The demos' plot and table helpers: round ticks, legends off the data, one number format
per column."""

from __future__ import annotations

import io
import math
import random
import re

import pytest
from rich.console import Console

from tutor.demos import _viz


def rendered(renderable, width: int = 80) -> str:
    con = Console(width=width, color_system=None, record=True, file=io.StringIO())
    con.print(renderable)
    return con.export_text()


def is_round(x: float) -> bool:
    """1, 2 or 5 times a power of ten (or 0)."""
    if x == 0:
        return True
    mantissa = abs(x) / 10 ** math.floor(math.log10(abs(x)) + 1e-12)
    return any(math.isclose(mantissa, m, rel_tol=1e-9) for m in (1, 2, 5, 10))


RANGES = [(0, 7e-4), (1, 24), (-23.9, 1.9), (0.21, 0.96), (128, 1024), (3, 3.5),
          (-5, 5), (1e6, 3e7), (2.5, 2.5)]
RANDOM = [(lo, lo + random.Random(i).uniform(1e-3, 1e4)) for i, lo in
          enumerate(random.Random(7).uniform(-1e3, 1e3) for _ in range(40))]


@pytest.mark.parametrize(("lo", "hi"), RANGES + RANDOM)
@pytest.mark.parametrize("most", [3, 6])
def test_linear_ticks_are_round_evenly_spaced_and_inside(lo, hi, most):
    ticks = _viz.linear_ticks(lo, hi, most)
    # at most `most`, unless every 1-2-5 spacing gives more than that or fewer than two
    assert 2 <= len(ticks) <= most or len(ticks) <= 2 * most
    steps = {round(b - a, 9) for a, b in zip(ticks, ticks[1:], strict=False)}
    if lo != hi:
        assert len(steps) == 1 and is_round(steps.pop())
        assert all(lo - 1e-9 <= t <= hi + 1e-9 for t in ticks)
        assert all(math.isclose(t / (ticks[1] - ticks[0]), round(t / (ticks[1] - ticks[0])),
                                abs_tol=1e-6) for t in ticks)


def test_integer_ticks_have_whole_steps():
    assert _viz.linear_ticks(1, 24, 6, integer=True) == [5, 10, 15, 20]
    assert all(t.is_integer() for t in _viz.linear_ticks(1, 3, 8, integer=True))


@pytest.mark.parametrize(("lo", "hi"), [(2.8e-7, 0.25), (0.6, 256), (0.3, 153), (4.6, 18.3),
                                        (0.03, 1.0), (3, 4), (1e-12, 1e12)])
def test_log_ticks_are_round_and_never_zero(lo, hi):
    ticks = _viz.log_ticks(lo, hi, 6)
    assert 2 <= len(ticks) <= 6 and all(t > 0 for t in ticks)
    mantissas = {round(t / 10 ** math.floor(math.log10(t) + 1e-12), 6) for t in ticks}
    assert mantissas <= {1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0}
    inside = [t for t in ticks if lo <= t <= hi]
    assert len(inside) == len(ticks) or len(ticks) == 2


def test_sequence_lengths_are_ticked_at_powers_of_two():
    sizes = [128, 184, 256, 360, 512, 728, 1024]     # complexity's default sizes
    plot = rendered(_viz.line_plot({"a": (sizes, [s * s for s in sizes])}, logx=True,
                                   logy=True, width=54, height=12))
    x_labels = plot.splitlines()[-1].split()
    assert x_labels == ["128", "256", "512", "1,024"]
    assert _viz.log_ticks(1, 2**20, 6, base2=True) == [2.0 ** k for k in range(0, 21, 4)]
    assert _viz.tick_labels([2.0 ** k for k in range(12, 18, 2)]) == ["4K", "16K", "64K"]


def test_a_log_axis_drops_values_at_or_below_zero():
    plot = rendered(_viz.line_plot({"g": ([1, 2, 3, 4, 5], [0.0, 1e-6, 1e-4, 1e-2, -1])},
                                   logy=True, width=54, height=12))
    y_labels = [line.split("┤")[0].strip() for line in plot.splitlines() if "┤" in line]
    assert y_labels and "0" not in y_labels and all("e-" in y for y in y_labels)
    assert rendered(_viz.line_plot({"g": ([1], [0.0])}, logy=True)).startswith("nothing")


def test_tick_labels_share_one_format():
    for ticks in ([0, 2e-4, 4e-4, 6e-4], [0.5, 1, 1.5], [1e-7, 1e-5, 1e-3], [-20, -10, 0],
                  [0.25, 0.5, 0.75, 1.0], [1000, 2000, 3000]):
        labels = _viz.tick_labels(ticks)
        assert len({("e" in x) for x in labels if x != "0"}) == 1
        decimals = {len(x.split(".")[1]) if "." in x else 0 for x in labels if "e" not in x}
        assert len(decimals) <= 1, labels
        for x, t in zip(labels, ticks, strict=True):
            assert float(x.replace(",", "")) == pytest.approx(t, rel=0.05, abs=1e-12)


def test_the_legend_is_under_the_plot_and_each_series_has_its_own_marker():
    xs = list(range(10))
    series = {"alpha": (xs, xs), "beta": (xs, [9 - x for x in xs]), "gamma": (xs, [4.5] * 10)}
    lines = rendered(_viz.line_plot(series, width=54, height=12)).splitlines()
    bottom = next(i for i, line in enumerate(lines) if "└" in line)
    legend = " ".join(lines[bottom + 1:])
    assert all(name in legend for name in series)
    assert not any(name in line for line in lines[:bottom] for name in series)
    markers = re.findall(r"(\S+) (alpha|beta|gamma)", legend)
    assert len({m for m, _ in markers}) == 3
    plot_area = "".join(lines[:bottom])
    assert "x" in plot_area and ("▀" in plot_area or "▄" in plot_area)  # char and hd markers
    one = rendered(_viz.line_plot({"solo": (xs, xs)}, width=54, height=12))
    assert "solo" not in one                  # one series needs no legend


def test_a_column_of_fmt_numbers_has_one_format():
    values = [4.02, 15.47, 64.95, 250.2, 1031.09]          # scaling's var raw
    assert _viz.column_format(values) == ["4.02", "15.47", "64.95", "250.20", "1,031.09"]
    mixed = [0.988, 0.147, 0.0355, 5.86e-4, 1.19e-5]       # residual's x plain
    assert _viz.column_format(mixed) == [f"{v:.2e}" for v in mixed]
    assert _viz.column_format([1, 2, 1024]) == ["1", "2", "1,024"]
    assert _viz.column_format([1.0, 0.967, float("nan")]) == ["1.000", "0.967", "nan"]
    assert _viz.column_format([0.0, 0.775, 1.007]) == ["0", "0.775", "1.007"]  # exact 0
    table = rendered(_viz.table(["d", "v"], [[4, _viz.fmt(1.0)], [16, _viz.fmt(0.967)]]))
    assert "1.000" in table and "0.967" in table


def test_a_table_title_does_not_wrap_inside_a_narrow_table():
    title = "Where attention passes the rest of the layer"
    out = rendered(_viz.table(["n", "x"], [[1, 2]], title=title), width=80)
    assert title in out
