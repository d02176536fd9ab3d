"""The card-kind registry: every kind module has the full interface, and a new kind is one
new file (shown by adding a true/false kind to a copy of the package, touching nothing else)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tutor.kinds import KINDS, kind

ROOT = Path(__file__).resolve().parents[2]
INTERFACE = ("NAME", "SUMMARY", "Model", "SELF_RATED", "FAST_MS", "present", "grade", "detail",
             "markdown", "ANKI_FIELDS", "ANKI_FRONT", "ANKI_BACK", "anki", "wizard", "checks")


def test_the_five_kinds_are_found_in_order():
    assert KINDS[:5] == ("recall", "choice", "numeric", "keypoints", "order")


@pytest.mark.parametrize("name", KINDS)
def test_every_kind_module_has_the_whole_interface(name):
    module = kind(name)
    missing = [attr for attr in INTERFACE if not hasattr(module, attr)]
    assert missing == [], f"{name} lacks {missing}"
    assert name == module.NAME
    assert module.Model.model_fields["kind"].annotation.__args__ == (name,)
    assert "Id" in module.ANKI_FIELDS and "Demo" in module.ANKI_FIELDS


TRUEFALSE = '''
"""True/false cards: one statement, graded automatically."""

from __future__ import annotations

from typing import Literal

from tutor.kinds.base import Graded, Presentation, QuestionBase
from tutor.scheduling import Grade

NAME = "truefalse"
SUMMARY = "Say whether one statement is true or false."
SELF_RATED = False
FAST_MS = 5_000


class TrueFalseQuestion(QuestionBase):
    kind: Literal["truefalse"]
    statement: str
    holds: bool


Model = TrueFalseQuestion


def present(q, rng, fixed=None):
    return Presentation(q.prompt, [q.statement], "Type t or f.", "t/f > ",
                        data={"expected": "t" if q.holds else "f"})


def grade(q, pres, text):
    from tutor.grading.numbers import AnswerError

    word = text.strip().lower()[:1]
    if word not in ("t", "f"):
        raise AnswerError("type t or f")
    ok = (word == "t") == q.holds
    return Graded(ok, float(ok), "Right." if ok else "Not quite.",
                  suggested=Grade.good if ok else Grade.again, expected=pres.data["expected"])


def detail(q):
    return [("plain", f"{q.statement} -> {q.holds}")]


def markdown(q):
    return [f"Statement: {q.statement} ({'true' if q.holds else 'false'})", ""]


ANKI_FIELDS = ("Id", "Question", "Answer", "Demo")
ANKI_FRONT = "{{Question}}"
ANKI_BACK = "{{FrontSide}}<hr id=answer>{{Answer}}"


def anki(q, html):
    return {"Question": html(q.statement), "Answer": "true" if q.holds else "false"}


def wizard(ask, say):
    return {"statement": ask("Statement"), "true": ask("True? (y/n)") == "y"}


def checks(q):
    return []
'''

BANK = """
topic: tf
title: True or false
questions:
  - id: tf/softmax-sums
    kind: truefalse
    prompt: True or false?
    statement: Each softmax row sums to 1.
    holds: true
    answer: Yes, softmax normalises each row.
"""


@pytest.mark.slow
def test_a_sixth_kind_is_one_new_file(tmp_path):
    copy = tmp_path / "src"
    shutil.copytree(ROOT / "tutor", copy / "tutor",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "engine", copy / "engine",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "questions", copy / "questions")
    (copy / "tutor" / "kinds" / "truefalse.py").write_text(TRUEFALSE, encoding="utf-8")
    bank = tmp_path / "bank"
    bank.mkdir()
    (bank / "tf.yaml").write_text(BANK, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(copy), "TUTOR_HOME": str(tmp_path / "home"),
           "TUTOR_NOW": "2026-03-01T12:00:00Z", "NO_COLOR": "1"}
    env.pop("TUTOR_BANK", None)

    def tutor(*args, stdin=""):
        r = subprocess.run([sys.executable, "-m", "tutor", "--bank", str(bank), *args],
                           input=stdin, capture_output=True, text=True, env=env, cwd=copy,
                           timeout=120)
        return r

    r = tutor("validate", str(bank))
    assert r.returncode == 0, r.stderr
    r = tutor("list", "--kind", "truefalse", "--json")
    assert [q["id"] for q in json.loads(r.stdout)] == ["tf/softmax-sums"], r.stderr
    r = tutor("grade", "tf/softmax-sums", "--json", stdin="t\n")
    assert json.loads(r.stdout)["correct"] is True, r.stderr
    r = tutor("show", "tf/softmax-sums")
    assert "Each softmax row sums to 1. -> True" in r.stdout
    r = tutor("quiz", "--topic", "tf", "--json", stdin="f\n")
    assert json.loads(r.stdout.splitlines()[0])["correct"] is False, r.stderr
    r = tutor("export", "markdown", "-o", str(tmp_path / "g.md"), "--topic", "tf")
    assert "Statement: Each softmax row sums to 1. (true)" in (tmp_path / "g.md").read_text()
    r = tutor("schema")
    assert "TrueFalseQuestion" in r.stdout


DRILL_BANK = """
topic: mydrills
title: My drills
questions:
  - id: mydrills/softmax
    kind: drill
    drill: softmax
    prompt: Implement softmax.
    answer: Subtract the max, exponentiate, normalise.
"""


@pytest.mark.slow
def test_a_drill_card_in_a_quiz_is_checked_against_the_engine(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from tutor.cli import app

    monkeypatch.setenv("TUTOR_HOME", str(tmp_path / "home"))
    bank = tmp_path / "bank"
    bank.mkdir()
    (bank / "d.yaml").write_text(DRILL_BANK, encoding="utf-8")
    bad = tmp_path / "bad.py"
    bad.write_text("import numpy as np\n\ndef softmax(x, axis=-1):\n    e = np.exp(x)\n"
                   "    return e / e.sum(axis=axis, keepdims=True)\n", encoding="utf-8")
    good = ROOT / "tutor" / "drills" / "solutions" / "softmax.py"
    runner = CliRunner()
    r = runner.invoke(app, ["--bank", str(bank), "quiz", "--topic", "mydrills", "--json"],
                      input=f"{bad}\n{good}\n")
    assert r.exit_code == 0, r.stderr
    graded = [json.loads(x) for x in r.stdout.splitlines()][:-1]
    assert [g["correct"] for g in graded] == [False, True]  # failed, came back, passed
    assert "smallest failing case" in r.stderr and "received:" in r.stderr
    # a drill is never sprung on a daily review
    r = runner.invoke(app, ["quiz", "--json", "--new-limit", "50"], input=":q\n")
    assert "drills/" not in r.stdout + r.stderr
    r = runner.invoke(app, ["--bank", str(bank), "validate", str(bank)])
    assert r.exit_code == 0
    (bank / "e.yaml").write_text(DRILL_BANK.replace("drill: softmax", "drill: sofmax")
                                 .replace("mydrills", "otherdrills"), encoding="utf-8")
    r = runner.invoke(app, ["validate", str(bank / "e.yaml")])
    assert r.exit_code == 1 and "did you mean 'softmax'" in r.stderr
