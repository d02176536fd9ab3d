"""Whole quiz sessions through the scriptable protocol, one card kind at a time.

Each kind lives in its own topic of a small bank written to tmp_path, so a session
is predictable. Scheduling results are checked against py-fsrs called directly.
"""

from __future__ import annotations

import json
import sqlite3
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fsrs import Card, Rating, Scheduler
from typer.testing import CliRunner

from tutor.cli import app
from tutor.scheduling import card_id_for

NOW = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)

BANK = """
topic: q-recall
title: Recall
questions:
  - id: q-recall/softmax
    kind: recall
    prompt: What does softmax do to logits?
    answer: It turns them into a probability distribution.
    hint: exponentiate, then normalise
  - id: q-recall/layernorm
    kind: recall
    prompt: What does LayerNorm normalise over?
    answer: The feature dimension of each token.
    difficulty: 3
---
topic: q-choice
title: Choice
questions:
  - id: q-choice/positions
    kind: choice
    prompt: Which of these are positional encodings?
    shuffle: false
    answer: Sinusoidal and RoPE.
    hint: two of them rotate or oscillate
    options:
      - {text: Sinusoidal, correct: true, explanation: "The original transformer's."}
      - {text: LayerNorm, explanation: "A normalisation."}
      - {text: RoPE, correct: true, explanation: "Rotates queries and keys."}
      - {text: Dropout, explanation: "A regulariser."}
---
topic: q-numeric
title: Numeric
questions:
  - id: q-numeric/block
    kind: numeric
    prompt: "A block with d_model = {d_model} and a 4x FFN: how many weights?"
    answer: "12 d^2"
    vary: {d_model: [768]}
    answer_from: {name: params.block_12d2}
    tolerance: 0.02
---
topic: q-vary
title: Numeric with several values
questions:
  - id: q-vary/block
    kind: numeric
    prompt: "A block with d_model = {d_model} and a 4x FFN: how many weights?"
    answer: "12 d^2"
    vary: {d_model: {min: 64, max: 4096, step: 64}}
    answer_from: {name: params.block_12d2}
---
topic: q-keypoints
title: Key points
questions:
  - id: q-keypoints/scale
    kind: keypoints
    prompt: Why divide attention scores by sqrt(d_k)?
    answer: Keeps the variance near 1 so softmax does not saturate.
    key_points:
      - point: the dot product variance grows with d_k
        accept: [variance grows]
      - point: softmax saturates
        accept: [one-hot, vanishing gradient]
---
topic: q-demo
title: Demo
questions:
  - id: q-demo/scaling
    kind: recall
    prompt: Why scale by sqrt(d_k)?
    answer: To keep the logits' variance near 1.
    demo: {name: scaling, args: {d_k: [4, 64], n_keys: 16, trials: 20}}
---
topic: q-order
title: Order
questions:
  - id: q-order/attention
    kind: order
    prompt: Order the steps of attention.
    answer: Scores, scale, softmax, weighted sum.
    steps: [compute scores, scale them, apply softmax, weight the values]
"""


def write_bank(root: Path, text: str = BANK) -> Path:
    """One YAML file per `---` section, in a fresh directory."""
    root.mkdir(parents=True, exist_ok=True)
    for i, part in enumerate(text.split("\n---\n")):
        (root / f"part{i}.yaml").write_text(textwrap.dedent(part).strip() + "\n")
    return root


def recall_bank(root: Path, n: int, topic: str = "q-many") -> Path:
    lines = [f"topic: {topic}", "title: Many", "questions:"]
    for i in range(n):
        lines += [f"  - id: {topic}/card-{i:03d}", "    kind: recall",
                  f"    prompt: Question {i}?", f"    answer: Answer {i}."]
    root.mkdir(parents=True, exist_ok=True)
    (root / f"{topic}.yaml").write_text("\n".join(lines) + "\n")
    return root


@pytest.fixture
def bank(tmp_path) -> Path:
    return write_bank(tmp_path / "bank")


def quiz(bank: Path, args: list[str], lines: str, now: datetime = NOW):
    result = CliRunner().invoke(app, ["--bank", str(bank), "quiz", "--json", "--now",
                                      now.isoformat(), *args], input=lines)
    records = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    return result, [r for r in records if "summary" not in r], \
        next((r["summary"] for r in records if "summary" in r), None)


def db() -> sqlite3.Connection:
    import os

    return sqlite3.connect(Path(os.environ["TUTOR_HOME"]) / "progress.db")


def reference(ratings_at: list[tuple[Rating, datetime]], question_id: str) -> Card:
    """py-fsrs driven directly, without fuzz: the independent route to the schedule."""
    scheduler = Scheduler(enable_fuzzing=False)
    card = Card(card_id=card_id_for(question_id), due=ratings_at[0][1])
    for rating, at in ratings_at:
        card, _ = scheduler.review_card(card, rating, review_datetime=at)
    return card


# --- every kind -------------------------------------------------------------------------------

def test_recall_reads_an_answer_then_a_rating(bank):
    result, graded, summary = quiz(bank, ["-t", "q-recall", "--seed", "1"],
                                   "it normalises\n3\nfeatures\nagain\n")
    assert result.exit_code == 0, result.stderr
    assert [g["rating"] for g in graded] == ["good", "again"]
    assert all(g["correct"] is None and g["kind"] == "recall" for g in graded)
    # the easier card (difficulty 2) comes first among new cards
    assert graded[0]["id"] == "q-recall/softmax"
    assert graded[0]["due"] == reference([(Rating.Good, NOW)], "q-recall/softmax").due.isoformat()
    assert graded[1]["due"] == reference([(Rating.Again, NOW)], "q-recall/x").due.isoformat()
    assert summary["seen"] == 2 and summary["right"] == 1 and summary["wrong"] == 1
    rows = db().execute("SELECT question_id, kind, rating, answer, correct, cram "
                        "FROM reviews ORDER BY id").fetchall()
    assert rows == [("q-recall/softmax", "recall", 3, "it normalises", None, 0),
                    ("q-recall/layernorm", "recall", 1, "features", None, 0)]
    assert "What does softmax do to logits?" in result.stderr


def test_choice_letters_in_any_order_and_case(bank):
    result, graded, _ = quiz(bank, ["-t", "q-choice"], "c, a\n")
    assert result.exit_code == 0, result.stderr
    assert graded[0]["correct"] is True and graded[0]["rating"] == "good"
    assert graded[0]["expected"] == "AC"
    assert "Rotates queries and keys." in result.stderr  # every explanation is shown


def test_a_bare_letter_is_always_an_answer_never_a_command(bank):
    # option D exists; commands need their colon on every card, so `d` is the answer D
    result, graded, _ = quiz(bank, ["-t", "q-choice"], "d\n")
    assert result.exit_code == 0, result.stderr
    assert graded[0]["correct"] is False and graded[0]["rating"] == "again"
    assert graded[0]["answer"] == "d"
    assert ":d prove it" not in result.stderr  # no demo on this card, so no :d in the footer
    assert ":h hint · :s skip · :u undo · :q quit · ? more" in result.stderr


def test_choice_hint_with_colon_prefix(bank):
    result, graded, _ = quiz(bank, ["-t", "q-choice"], ":h\nA C\n")
    assert "two of them rotate or oscillate" in result.stderr
    assert graded[0]["correct"] is True


def test_numeric_with_tolerance_and_working(bank):
    truth = 12 * 768**2  # 7,077,888: 4 d^2 attention + 8 d^2 FFN
    result, graded, _ = quiz(bank, ["-t", "q-numeric"], "7.1M\n")
    assert result.exit_code == 0, result.stderr
    assert graded[0]["correct"] is True and graded[0]["values"] == {"d_model": 768}
    assert graded[0]["expected"] == truth
    assert "4*768^2 + 8*768^2" in result.stderr  # the working, numbers filled in
    stored = db().execute("SELECT vals, correct FROM reviews").fetchone()
    assert json.loads(stored[0]) == {"d_model": 768} and stored[1] == 1


def test_numeric_outside_tolerance_is_wrong(bank):
    _, graded, _ = quiz(bank, ["-t", "q-numeric"], "7.3M\n")  # 3% high, tolerance 2%
    assert graded[0]["correct"] is False


def test_numeric_values_reproducible_with_seed(bank, tmp_path, monkeypatch):
    _, first, _ = quiz(bank, ["-t", "q-vary", "--seed", "11"], "0\n")
    d = first[0]["values"]["d_model"]
    monkeypatch.setenv("TUTOR_HOME", str(tmp_path / "second-home"))
    _, second, _ = quiz(bank, ["-t", "q-vary", "--seed", "11"], f"{12 * d * d:,}\n")
    assert second[0]["values"] == {"d_model": d}
    assert second[0]["correct"] is True and first[0]["correct"] is False


def test_keypoints_show_coverage_then_rating(bank):
    result, graded, _ = quiz(bank, ["-t", "q-keypoints"],
                             "The VARIANCE grows, and softmax goes one-hot.\nhard\n")
    assert result.exit_code == 0, result.stderr
    assert graded[0]["covered"] == ["the dot product variance grows with d_k",
                                    "softmax saturates"]
    assert graded[0]["missed"] == [] and graded[0]["rating"] == "hard"
    assert graded[0]["correct"] is None


def test_keypoints_missed_point_is_reported(bank):
    result, graded, _ = quiz(bank, ["-t", "q-keypoints"], "it is about scale\n1\n")
    assert graded[0]["missed"] == ["the dot product variance grows with d_k",
                                   "softmax saturates"]
    assert "missed" in result.stderr


def test_order_shuffled_then_graded(bank, tmp_path, monkeypatch):
    # the steps are never shown in the right order, so 1 2 3 4 is wrong
    _, first, _ = quiz(bank, ["-t", "q-order", "--seed", "5"], "1 2 3 4\n")
    assert first[0]["correct"] is False
    monkeypatch.setenv("TUTOR_HOME", str(tmp_path / "again"))
    result, second, _ = quiz(bank, ["-t", "q-order", "--seed", "5"], first[0]["expected"] + "\n")
    assert second[0]["correct"] is True
    # check `expected` independently: the shown numbering, read from the printed card
    shown = [line.split(". ", 1)[1].strip(" │") for line in result.stderr.splitlines()
             if line.strip("│ ")[:2] in ("1.", "2.", "3.", "4.")][:4]
    steps = ["compute scores", "scale them", "apply softmax", "weight the values"]
    assert [shown[int(i) - 1] for i in first[0]["expected"].split()] == steps


# --- the protocol -----------------------------------------------------------------------------

def test_q_ends_and_eof_ends_cleanly(bank):
    result, graded, summary = quiz(bank, ["-t", "q-recall"], "q\n")
    assert result.exit_code == 0 and graded == [] and summary["seen"] == 0
    result, graded, summary = quiz(bank, ["-t", "q-recall"], "first\n3\n")  # EOF on card 2
    assert result.exit_code == 0 and len(graded) == 1 and summary["seen"] == 1
    assert db().execute("SELECT count(*) FROM reviews").fetchone()[0] == 1
    ended = db().execute("SELECT ended FROM sessions ORDER BY id").fetchall()
    assert all(e[0] is not None for e in ended)


def test_skip_and_hint(bank):
    result, graded, summary = quiz(bank, ["-t", "q-recall"], ":h\n:s\nx\n2\n")
    assert "exponentiate, then normalise" in result.stderr
    assert [g["id"] for g in graded] == ["q-recall/layernorm"] and summary["skipped"] == 1


def test_bad_rating_line_is_a_usage_error_and_keeps_earlier_answers(bank):
    result, graded, _ = quiz(bank, ["-t", "q-recall"], "a\n3\nb\nmaybe\n")
    assert result.exit_code == 2
    assert "input line 4" in result.stderr and "'maybe'" in result.stderr
    assert db().execute("SELECT count(*) FROM reviews").fetchone()[0] == 1


def test_plain_output_without_json(bank):
    result = CliRunner().invoke(app, ["--bank", str(bank), "quiz", "-t", "q-choice",
                                      "--now", NOW.isoformat()], input="A,C\n")
    assert result.exit_code == 0
    assert "Which of these are positional encodings?" in result.stdout
    assert "1 answer: 1 right, 0 wrong" in result.stdout


def test_unknown_topic_and_bad_options(bank):
    result = CliRunner().invoke(app, ["--bank", str(bank), "quiz", "-t", "nope"])
    assert result.exit_code == 2 and "--topic: unknown topic 'nope'" in result.stderr
    result = CliRunner().invoke(app, ["--bank", str(bank), "quiz", "--interview-date", "soon"])
    assert result.exit_code == 2 and "YYYY-MM-DD" in result.stderr
    result = CliRunner().invoke(app, ["--bank", str(bank), "quiz", "--now", "2025-03-01",
                                      "--interview-date", "2025-02-01"])
    assert result.exit_code == 2 and "in the past" in result.stderr


# --- selection and scheduling -----------------------------------------------------------------

def test_daily_new_limit_from_settings_and_override(tmp_path):
    many = recall_bank(tmp_path / "many", 5)
    home = Path(__import__("os").environ["TUTOR_HOME"])
    home.mkdir(parents=True)
    (home / "settings.toml").write_text("new_per_day = 2\n")
    _, graded, _ = quiz(many, ["-t", "q-many"], "a\n3\n" * 5)
    assert len(graded) == 2
    later = NOW + timedelta(hours=1)  # same UTC day: the day's two new cards are used up
    _, graded, _ = quiz(many, ["-t", "q-many", "--new"], "a\n3\n" * 5, now=later)
    assert graded == []
    _, graded, _ = quiz(many, ["-t", "q-many", "--new", "--new-limit", "1"], "a\n3\n" * 5,
                        now=later)
    assert len(graded) == 1
    _, graded, _ = quiz(many, ["-t", "q-many", "--new"], "a\n3\n" * 5, now=NOW + timedelta(days=1))
    assert len(graded) == 2  # a new day


def test_bad_settings_file_is_reported(tmp_path):
    many = recall_bank(tmp_path / "many", 1)
    home = Path(__import__("os").environ["TUTOR_HOME"])
    home.mkdir(parents=True)
    (home / "settings.toml").write_text("new_per_day = -3\n")
    result, _, _ = quiz(many, [], "")
    assert result.exit_code == 1 and "settings.toml: new_per_day = -3" in result.stderr


def test_intervals_follow_fsrs_under_an_injected_clock(tmp_path, monkeypatch):
    import fsrs.scheduler

    monkeypatch.setattr(fsrs.scheduler, "random", lambda: 0.5)  # fuzz, made deterministic
    many = recall_bank(tmp_path / "one", 1, topic="q-one")
    ratings = [Rating.Good, Rating.Good, Rating.Good, Rating.Again, Rating.Good, Rating.Easy,
               Rating.Hard]
    at, history, dues = NOW, [], []
    for rating in ratings:
        _, graded, _ = quiz(many, ["-t", "q-one"], f"x\n{int(rating)}\n", now=at)
        assert len(graded) == 1, f"card not due at {at}"
        history.append((rating, at))
        dues.append(graded[0]["due"])
        at = datetime.fromisoformat(graded[0]["due"])
    scheduler = Scheduler()  # fuzzing on, as the product uses it
    card = Card(card_id=card_id_for("q-one/card-000"), due=NOW)
    expected = []
    for rating, when in history:
        card, _ = scheduler.review_card(card, rating, review_datetime=when)
        expected.append(card.due.isoformat())
    assert dues == expected
    gaps = [(datetime.fromisoformat(b) - datetime.fromisoformat(a)).days
            for a, b in zip(dues, dues[1:], strict=False)]
    assert max(gaps) >= 3  # the sequence reached multi-day intervals
    stored = db().execute("SELECT card_json, lapses, reps FROM cards").fetchone()
    assert json.loads(stored[0]) == card.to_dict()
    assert stored[2] == len(ratings) and stored[1] == 1  # one Again on a learned card


def test_cram_logs_but_leaves_the_schedule(bank):
    quiz(bank, ["-t", "q-choice"], "A,C\n")
    before = db().execute("SELECT card_json FROM cards").fetchall()
    result, graded, _ = quiz(bank, ["-t", "q-choice", "--cram"], "B\n",
                             now=NOW + timedelta(minutes=1))
    assert result.exit_code == 0
    assert graded[0]["cram"] is True and graded[0]["correct"] is False
    assert db().execute("SELECT card_json FROM cards").fetchall() == before
    assert db().execute("SELECT cram FROM reviews ORDER BY id").fetchall() == [(0,), (1,)]


def test_due_cards_first_then_new(tmp_path):
    many = recall_bank(tmp_path / "many", 4)
    _, first, _ = quiz(many, ["-t", "q-many", "-n", "2", "--seed", "3"], "a\n1\nb\n1\n")
    # an hour later the two Again cards are due; they come before new cards
    _, graded, _ = quiz(many, ["-t", "q-many", "--seed", "3"], "a\n3\n" * 4,
                        now=NOW + timedelta(hours=1))
    assert {g["id"] for g in graded[:2]} == {g["id"] for g in first}
    assert len(graded) == 4


def test_interview_date_orders_by_predicted_recall_and_reports_readiness(tmp_path):
    many = recall_bank(tmp_path / "many", 3)
    # card 0: Easy; card 1: Hard; card 2 stays new
    quiz(many, ["-t", "q-many", "-n", "2", "--seed", "0"], "a\n4\nb\n2\n")
    ids = [r[0] for r in db().execute("SELECT question_id FROM reviews ORDER BY id")]
    before = dict(db().execute("SELECT question_id, card_json FROM cards").fetchall())
    interview = (NOW + timedelta(days=20)).date()
    result, graded, summary = quiz(many, ["-t", "q-many", "--interview-date",
                                          interview.isoformat()], "x\n3\n" * 3,
                                   now=NOW + timedelta(minutes=1))
    assert result.exit_code == 0, result.stderr
    scheduler = Scheduler()
    at = datetime(interview.year, interview.month, interview.day, 12, tzinfo=UTC)
    recall = {qid: scheduler.get_card_retrievability(Card.from_json(card_json), at)
              for qid, card_json in before.items()}
    new_id = ({f"q-many/card-{i:03d}" for i in range(3)} - set(ids)).pop()
    ready = summary["readiness"]
    # readiness is computed before this session's answers, from the first two reviews; it
    # counts fractional days, py-fsrs whole days (a part of a day apart over 20 days)
    assert ready["mean_recall"] == pytest.approx((recall[ids[0]] + recall[ids[1]] + 0) / 3,
                                                 abs=1e-3)
    assert ready["by_topic"] == {"q-many": ready["mean_recall"]}
    assert graded[0]["id"] == new_id  # a new card predicts 0: it comes first
    # the Hard card predicts lower recall than the Easy one on that day
    assert [g["id"] for g in graded[1:]] == [ids[1], ids[0]]
    assert recall[ids[1]] < recall[ids[0]] < 0.9


def test_removed_question_keeps_its_history(bank, tmp_path):
    quiz(bank, ["-t", "q-choice"], "A,C\n")
    other = recall_bank(tmp_path / "other", 1)
    result, _, _ = quiz(other, ["-t", "q-many"], "a\n3\n")
    assert result.exit_code == 0
    ids = {r[0] for r in db().execute("SELECT question_id FROM cards")}
    assert ids == {"q-choice/positions", "q-many/card-000"}


def test_prove_it_runs_the_demo_inline(bank):
    result, graded, _ = quiz(bank, ["-t", "q-demo"], ":d\nmine\n3\n")
    assert result.exit_code == 0, result.stderr
    assert graded[0]["id"] == "q-demo/scaling" and graded[0]["rating"] == "good"
    assert "d_k" in result.stderr and "1024" not in result.stderr  # the card's own args


def test_a_failing_demo_does_not_end_the_session(bank, monkeypatch):
    import tutor.present.demo
    from tutor.errors import UsageError

    def refuse(info, args, **kwargs):
        raise UsageError("--n-keys: 100,000 is above the largest allowed value 4,096")

    monkeypatch.setattr(tutor.present.demo, "show_demo", refuse)
    result, graded, _ = quiz(bank, ["-t", "q-demo"], ":d\nmine\n3\n")
    assert result.exit_code == 0, result.stderr
    assert "demo failed: --n-keys: 100,000" in result.stderr
    assert graded[0]["rating"] == "good"
