"""Option bounds shared by every demo: NaN and the infinities are refused by name, on the
command line (exit 2) and in a question's `demo.args`."""

from __future__ import annotations

import math
import os
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
