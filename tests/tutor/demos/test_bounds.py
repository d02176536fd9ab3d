"""Option bounds shared by every demo: NaN and the infinities are refused by name, on the
command line (exit 2) and in a question's `demo.args`."""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tutor import demos
from tutor.demos.registry import DEMOS, check_demo_args
from tutor.errors import UsageError

ROOT = Path(__file__).resolve().parents[3]
NUMERIC = sorted((name, p.name) for name, info in DEMOS.items() for p in info.params
                 if p.type in (int, float))


@pytest.mark.parametrize("demo, option", NUMERIC)
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_values_are_refused_for_every_numeric_option(demo, option, bad):
    info = DEMOS[demo]
    param = info.param(option)
    value = [bad] if param.multiple else bad
    with pytest.raises(UsageError, match=rf"^{param.flag}: .*not a (finite )?number") as err:
        demos.prepare(info, {option: value})
    if param.max is not None:
        assert f"{param.max:,.0f}" in str(err.value) or f"{param.max:g}" in str(err.value)


def test_a_float_too_large_for_a_float_is_refused():
    info = DEMOS["memory"]
    with pytest.raises(UsageError, match="--params: inf is not a finite number"):
        demos.prepare(info, {"params": 10**400})


@pytest.mark.parametrize("args", [["memory", "--params", "nan"], ["flops", "--tokens", "inf"],
                                  ["training", "--smoothing", "nan"]])
def test_the_command_line_refuses_nan_with_exit_2(args):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-m", "tutor", "demo", *args, "--json"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"error: {args[1]}: ") and "Traceback" not in result.stderr
    assert "not a" in result.stderr and result.stdout == ""


def test_nan_in_a_questions_demo_args_is_a_problem():
    problems = check_demo_args("training", {"smoothing": math.nan, "warmup": math.inf})
    assert [p for p, _ in problems] == [("args", "smoothing"), ("args", "warmup")]
    assert all("not a" in msg for _, msg in problems)


_LARGEST = re.compile(r"the largest (--[a-z0-9-]+) allowed(?: with these)? is ([\d,]+)")
OVER_BUDGET = [
    ("complexity", {"n_max": 4096, "repeats": 20}),
    ("complexity", {"d_model": 512}),
    ("residual", {"layers": 256, "d": 100, "steps": 51}),     # the contradiction once reported
    ("residual", {"steps": 1000}),
    ("kv-cache", {"new_tokens": 512}),
    ("kv-cache", {"layers": 12, "new_tokens": 512, "d_model": 16}),
    ("linear-attention", {"n": 4096, "d": 256}),
    ("linear-attention", {"features": [4096] * 16}),
    ("norms", {"layers": 96, "batch": 64}),
    ("norms", {"d": 1024, "seq": 256}),
    ("scaling", {"trials": 5000}),
    ("additive", {"n": 2048}),
]


@pytest.mark.parametrize("demo, args", OVER_BUDGET, ids=[f"{d}-{i}" for i, (d, _) in
                                                        enumerate(OVER_BUDGET)])
def test_a_refusal_names_a_largest_value_that_is_then_accepted(demo, args):
    info = DEMOS[demo]
    with pytest.raises(UsageError) as err:
        demos.prepare(info, args)
    found = _LARGEST.search(str(err.value))
    assert found, str(err.value)
    name, largest = found.group(1)[2:].replace("-", "_"), int(found.group(2).replace(",", ""))
    param = info.param(name)
    value = [largest] * len(args[name]) if param.multiple and name in args else largest
    demos.prepare(info, {**args, name: value})                 # accepted as suggested
    one_more = [largest + 1] * len(value) if param.multiple else largest + 1
    if param.max is None or largest + 1 <= param.max:
        with pytest.raises(UsageError):
            demos.prepare(info, {**args, name: one_more})


# the in-bound runs once measured at 12 s to 4 minutes or over 1 GB: each is now refused,
# naming the bound (what they cost now is measured by benchmarks/demo_limits.py)
ONCE_TOO_COSTLY = [
    ("complexity", {"n_max": 8192}),
    ("complexity", {"d_model": 1024}),
    ("linear-attention", {"n": 8192}),
    ("linear-attention", {"n": 4096, "d": 256, "features": [4096] * 16, "ranks": [4096] * 16}),
    ("kv-cache", {"new_tokens": 486, "d_model": 16, "layers": 12}),
    ("additive", {"n": 181, "d": 1024}),
]


@pytest.mark.parametrize("demo, args", ONCE_TOO_COSTLY, ids=[f"{d}-{i}" for i, (d, _) in
                                                            enumerate(ONCE_TOO_COSTLY)])
def test_runs_that_once_took_minutes_or_gigabytes_are_refused(demo, args):
    with pytest.raises(UsageError, match=r"^--[a-z-]+.* (largest|lower|above)"):
        demos.prepare(DEMOS[demo], args)
