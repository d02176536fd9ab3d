"""A session that teaches: relearning, undo, suspend and bury, the colon commands on every
kind, the rating preview, filters that hold, and the demo shown with the card's values."""

from __future__ import annotations

import json
import os
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fsrs import Card, Rating, Scheduler
from typer.testing import CliRunner

from tutor.cli import app
from tutor.scheduling import card_id_for

NOW = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
BANK = """
topic: s
title: Session
questions:
  - id: s/recall
    kind: recall
    prompt: What does softmax do?
    answer: It turns logits into probabilities.
    difficulty: 1
  - id: s/choice
    kind: choice
    prompt: Which is a norm?
    answer: LayerNorm.
    shuffle: false
    options:
      - {text: LayerNorm, correct: true, explanation: yes}
      - {text: Dropout, explanation: no}
      - {text: Softmax, explanation: no}
      - {text: Query, explanation: no}
    difficulty: 2
  - id: s/numeric
    kind: numeric
    prompt: "Weights in one block at d_model = {d_model}, no biases?"
    answer: "12 d^2 at d = {d_model}."
    vary: {d_model: [4096]}
    answer_from: {name: params.block_12d2}
    demo: {name: params, args: {d_model: "{d_model}", layers: 2, heads: 32}}
    difficulty: 2
  - id: s/order
    kind: order
    prompt: Order attention.
    answer: Scores then softmax then weights.
    steps: [scores, softmax, weights]
    difficulty: 3
  - id: s/keypoints
    kind: keypoints
    prompt: Why scale by sqrt(d_k)?
    answer: The variance grows with d_k.
    key_points:
      - {point: the variance grows with d_k, accept: ["variance grow"]}
    difficulty: 3
"""


@pytest.fixture
def bank(tmp_path) -> Path:
    d = tmp_path / "bank"
    d.mkdir()
    (d / "s.yaml").write_text(BANK, encoding="utf-8")
    return d


def quiz(bank: Path, args: list[str], lines: str, now: datetime = NOW):
    r = CliRunner().invoke(app, ["--bank", str(bank), "quiz", "--json", "--now", now.isoformat(),
                                 "--seed", "1", *args], input=lines)
    records = [json.loads(x) for x in r.stdout.splitlines() if x.strip()]
    return r, [x for x in records if "summary" not in x], next(
        (x["summary"] for x in records if "summary" in x), None)


def db() -> sqlite3.Connection:
    return sqlite3.connect(Path(os.environ["TUTOR_HOME"]) / "progress.db")


def test_a_card_rated_again_comes_back_after_others_until_passed(bank):
    # recall (again), then choice and numeric, then recall comes back (good), then the rest
    r, graded, summary = quiz(bank, ["-t", "s", "--kind", "recall", "--kind", "choice",
                                     "--kind", "numeric"],
                              "x\n1\nA\n12*4096^2\nx\n3\n")
    assert r.exit_code == 0, r.stderr
    assert [g["id"] for g in graded] == ["s/recall", "s/choice", "s/numeric", "s/recall"]
    assert [g["rating"] for g in graded] == ["again", "good", "good", "good"]
    assert summary["relearned"] == 1 and "1 relearned" in r.stderr
    assert "again, after Again" in r.stderr
    # the schedule of the relearned card is FSRS's for Again then Good, at the same time
    ref = Scheduler(enable_fuzzing=False)
    card = Card(card_id=card_id_for("s/recall"), due=NOW)
    card, _ = ref.review_card(card, Rating.Again, review_datetime=NOW)
    card, _ = ref.review_card(card, Rating.Good, review_datetime=NOW)
    stored = db().execute("SELECT due FROM cards WHERE question_id = 's/recall'").fetchone()[0]
    assert abs(datetime.fromisoformat(stored) - card.due) < timedelta(seconds=61)


def test_a_missed_card_comes_back_at_the_latest_when_nothing_else_is_left(bank):
    r, graded, _ = quiz(bank, ["-t", "s", "--kind", "choice"], "B\nA\n")
    assert [g["correct"] for g in graded] == [False, True]


def test_undo_restores_the_card_and_asks_it_again(bank):
    r, graded, summary = quiz(bank, ["-t", "s", "--kind", "choice", "--kind", "recall"],
                              "x\n4\n:u\nx\n2\nA\n")
    assert r.exit_code == 0, r.stderr
    assert "Undone: s/recall" in r.stderr
    rows = db().execute("SELECT question_id, rating FROM reviews ORDER BY id").fetchall()
    assert rows == [("s/recall", 2), ("s/choice", 3)]
    assert summary["seen"] == 2
    # the undone Easy left no trace: the card's state is FSRS's after a single Hard
    ref = Scheduler(enable_fuzzing=False)
    card, _ = ref.review_card(Card(card_id=card_id_for("s/recall"), due=NOW), Rating.Hard,
                              review_datetime=NOW)
    reps = db().execute("SELECT reps FROM cards WHERE question_id = 's/recall'").fetchone()[0]
    assert reps == 1 and card.state.value in (1, 2)


def test_undo_a_first_answer_forgets_the_card(bank):
    r, graded, _ = quiz(bank, ["-t", "s", "--kind", "choice", "--kind", "order"],
                        "A\n:u\n:q\n")
    assert r.exit_code == 0, r.stderr
    assert db().execute("SELECT count(*) FROM cards").fetchone()[0] == 0
    assert db().execute("SELECT count(*) FROM reviews").fetchone()[0] == 0


def test_nothing_to_undo_is_said_and_the_card_stays(bank):
    r, graded, _ = quiz(bank, ["-t", "s", "--kind", "choice"], ":u\nA\n")
    assert "Nothing to undo" in r.stderr and graded[0]["correct"] is True


def test_suspend_and_bury_hold_cards_back_and_unsuspend_brings_them_back(bank):
    r, _, summary = quiz(bank, ["-t", "s", "--kind", "choice", "--kind", "recall"],
                         ":x\n:b\n")
    assert r.exit_code == 0, r.stderr
    assert "Suspended s/recall" in r.stderr and "Buried s/choice until tomorrow" in r.stderr
    assert summary["held_back"] == 2
    later = NOW + timedelta(hours=2)
    r, graded, _ = quiz(bank, ["-t", "s", "--kind", "choice", "--kind", "recall"], "", later)
    assert "Nothing to review now" in r.stderr
    tomorrow = NOW + timedelta(days=1, hours=1)
    r, graded, _ = quiz(bank, ["-t", "s", "--kind", "choice", "--kind", "recall"], "A\n",
                        tomorrow)
    assert [g["id"] for g in graded] == ["s/choice"]
    listed = CliRunner().invoke(app, ["unsuspend"])
    assert listed.stdout.strip() == "s/recall"
    back = CliRunner().invoke(app, ["unsuspend", "s/recall"])
    assert back.exit_code == 0 and "Back in the quiz: 1 card." in back.stdout
    bad = CliRunner().invoke(app, ["unsuspend", "s/nope"])
    assert bad.exit_code == 2 and "not suspended" in bad.stderr
    r, graded, _ = quiz(bank, ["-t", "s", "--kind", "recall"], "x\n3\n", tomorrow)
    assert [g["id"] for g in graded] == ["s/recall"]


@pytest.mark.parametrize("kind, answer", [("recall", "x\n3\n"), ("choice", "A\n"),
                                          ("numeric", "12*4096^2\n"), ("order", "1 2 3\n"),
                                          ("keypoints", "variance grows\n3\n")])
def test_colon_commands_work_on_every_kind_and_letters_stay_answers(bank, kind, answer):
    r, graded, summary = quiz(bank, ["-t", "s", "--kind", kind], ":h\n?\n:s\n")
    assert r.exit_code == 0 and summary["skipped"] == 1
    assert "No hint for this card." in r.stderr and ":x suspend" in r.stderr
    r, graded, _ = quiz(bank, ["-t", "s", "--kind", kind], answer)
    assert graded and graded[0]["kind"] == kind, r.stderr


def test_cram_takes_seen_cards_only_unless_new(bank):
    r, graded, _ = quiz(bank, ["-t", "s", "--cram"], "")
    assert graded == [] and "Nothing to cram" in r.stderr and "--topic s" in r.stderr
    r, graded, _ = quiz(bank, ["-t", "s", "--cram", "--new", "--kind", "choice"], "A\n")
    assert [g["id"] for g in graded] == ["s/choice"] and graded[0]["cram"] is True


def test_prove_it_uses_the_cards_drawn_values_and_shows_the_card_again(bank):
    r, graded, _ = quiz(bank, ["-t", "s", "--kind", "numeric"], ":d\n12*4096^2\n")
    assert r.exit_code == 0, r.stderr
    assert graded[0]["correct"] is True
    assert "d_model" in r.stderr and "4096" in r.stderr
    # the card panel is printed twice: before and after the demo
    assert r.stderr.count("Weights in one block at d_model = 4096") == 2


def test_end_of_input_prints_the_summary_like_quit(bank):
    r, graded, summary = quiz(bank, ["-t", "s", "--kind", "choice"], "")
    assert r.exit_code == 0 and summary is not None and summary["seen"] == 0
