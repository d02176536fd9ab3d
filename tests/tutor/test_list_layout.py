"""`tutor list` at 60, 80 and 120 columns: every id whole, with its kind and difficulty."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from tests.tutor.test_quiz import write_bank
from tutor.cli import app

LONG_PROMPT = """
topic: lay
title: Layout
questions:
  - id: lay/a-rather-long-question-id-that-must-stay-whole
    kind: recall
    difficulty: 3
    prompt: |
      First line of a prompt that runs on
      and on over a second source line.
    answer: A.
"""


def listing(monkeypatch, width: int, *args: str) -> str:
    """`tutor list ARGS` at this width (options before `list` go first)."""
    monkeypatch.setenv("COLUMNS", str(width))
    monkeypatch.setenv("NO_COLOR", "1")
    before = list(args[:2]) if args[:1] == ("--bank",) else []
    result = CliRunner().invoke(app, [*before, "list", *args[len(before):]])
    assert result.exit_code == 0, result.stderr
    return result.stdout


def the_bank(*args: str) -> list[dict]:
    result = CliRunner().invoke(app, ["list", "--json", *args])
    return json.loads(result.stdout)


@pytest.mark.parametrize("width", [60, 80, 120])
@pytest.mark.parametrize("topic", [None, "efficient-attention"])
def test_every_id_whole_with_kind_and_difficulty(monkeypatch, width, topic):
    args = ["--topic", topic] if topic else []
    expected = the_bank(*args)
    longest = max(expected, key=lambda q: len(q["id"]))["id"]
    assert len(longest) >= 37          # the real bank's longest ids are what is tested
    out = listing(monkeypatch, width, *args)
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= width
    assert lines[0] == f"{len(expected)} questions"
    starts = {line.split()[0]: i for i, line in enumerate(lines) if line and line[0] != " "}
    for q in expected:
        i = starts[q["id"]]                 # the id starts a line, whole
        same = lines[i].split()[1:3]
        below = lines[i + 1].split()[:2] if i + 1 < len(lines) else []
        assert same == [q["kind"], str(q["difficulty"])] or \
            below == [q["kind"], f"d{q['difficulty']}"], (width, q["id"], lines[i:i + 2])
    assert re.search(rf"^{re.escape(longest)}(\s|$)", out, re.M)


def test_a_long_prompt_reads_as_one_line_and_ends_in_an_ellipsis(monkeypatch, tmp_path):
    bank = write_bank(tmp_path / "bank", LONG_PROMPT)
    qid = "lay/a-rather-long-question-id-that-must-stay-whole"
    wide = listing(monkeypatch, 120, "--bank", str(bank), "--topic", "lay")
    # the two source lines of the prompt read as one, shortened with an ellipsis
    assert "First line of a prompt that runs on and on over a second…" in wide
    assert wide.splitlines()[0] == "1 question"
    narrow = listing(monkeypatch, 60, "--bank", str(bank), "--topic", "lay").splitlines()
    assert narrow[1] == qid
    assert narrow[2].split()[:2] == ["recall", "d3"] and narrow[2].endswith("…")
    assert len(narrow[2]) == 60


def test_markup_in_a_prompt_is_shown_as_text(monkeypatch, tmp_path):
    bank = write_bank(tmp_path / "bank", LONG_PROMPT.replace("First line", "[bold]First[/]"))
    out = listing(monkeypatch, 120, "--bank", str(bank), "--topic", "lay")
    assert "[bold]First[/] of a prompt" in out


def test_an_empty_listing_says_so(monkeypatch):
    assert listing(monkeypatch, 80, "--tag", "no-such-tag") == "0 questions\n"
