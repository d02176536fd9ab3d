"""NO_COLOR and pipes give plain text with no escape codes, readable at 60 columns."""

import os
import subprocess
import sys

import pytest

COMMANDS = [["show", "scaling/why-sqrt-dk"], ["list", "--topic", "masks"], ["topics"],
            ["demo", "masks"], ["demo", "params", "--preset", "llama-2-7b"], ["demo"]]


def run(args, **env):
    full = {**os.environ, "COLUMNS": "60", **env}
    return subprocess.run([sys.executable, "-m", "tutor", *args], env=full,
                          capture_output=True, text=True, check=True).stdout


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_no_color_even_when_forced_is_plain_and_fits_60_columns(args):
    out = run(args, NO_COLOR="1", FORCE_COLOR="1")
    assert "\x1b[" not in out
    assert max(len(line) for line in out.splitlines()) <= 60


@pytest.mark.parametrize("args", COMMANDS[:2], ids=" ".join)
def test_a_pipe_gets_plain_text(args):
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    out = subprocess.run([sys.executable, "-m", "tutor", *args], env={**env, "COLUMNS": "60"},
                         capture_output=True, text=True, check=True).stdout
    assert "\x1b[" not in out and out.strip()
