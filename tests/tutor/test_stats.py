"""`tutor stats`: figures checked against py-fsrs and against counts made by hand."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from fsrs import Card, Scheduler
from typer.testing import CliRunner

from tests.tutor.test_quiz import write_bank
from tutor import scheduling
from tutor.cli import app
from tutor.scheduling import Grade
from tutor.stats import compute_stats
from tutor.store import Review, Store

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
BANK = """
topic: st-a
title: A
questions:
  - {id: st-a/one, kind: recall, prompt: One?, answer: One.}
  - {id: st-a/two, kind: recall, prompt: Two?, answer: Two.}
  - {id: st-a/three, kind: recall, prompt: Three?, answer: Three.}
---
topic: st-b
title: B
questions:
  - {id: st-b/one, kind: recall, prompt: One?, answer: One.}
  - {id: st-b/two, kind: recall, prompt: Two?, answer: Two.}
"""
QUESTIONS = [SimpleNamespace(id=i, topic=i.split("/")[0]) for i in
             ("st-a/one", "st-a/two", "st-a/three", "st-b/one", "st-b/two")]


def at(day: str, hour: int = 9, minute: int = 0) -> datetime:
    return datetime.fromisoformat(f"2025-{day}T{hour:02d}:{minute:02d}:00+00:00")


def review(store: Store, qid: str, grade: Grade, when: datetime, cram: bool = False) -> None:
    scheduler = scheduling.make_scheduler(fuzz=False)

    def reschedule(card_json):
        card = scheduling.load_card(card_json) if card_json else scheduling.new_card(qid, when)
        new = scheduling.review(scheduler, card, grade, when)
        return new.to_json(), scheduling.card_fields(new)

    store.record_review(Review(qid, qid.split("/")[0], "recall", int(grade), "x", None, None,
                               1000, when, cram=cram), None, None if cram else reschedule)


@pytest.fixture
def store():
    with Store() as s:
        review(s, "st-a/three", Grade.good, at("01-20"))
        review(s, "st-a/three", Grade.good, at("01-20", 9, 10))   # now learned
        review(s, "st-a/three", Grade.good, at("01-25"))          # learned, but > 30 days ago
        review(s, "st-a/one", Grade.good, at("03-01"))
        review(s, "st-a/one", Grade.good, at("03-01", 9, 10))     # learned
        review(s, "st-a/one", Grade.again, at("03-05"))           # a lapse: retention miss
        review(s, "st-a/one", Grade.good, at("03-05", 9, 10))     # relearning, not counted
        review(s, "st-a/two", Grade.easy, at("03-08"))            # straight to review
        review(s, "st-a/two", Grade.good, at("03-10"))            # retention hit
        review(s, "st-b/one", Grade.good, at("03-09"))
        review(s, "st-b/one", Grade.again, at("03-10", 10), cram=True)  # cram: not counted
        review(s, "st-a/removed", Grade.again, at("03-09", 11))   # no longer in the bank
        yield s


def test_figures_against_hand_counts(store):
    data = compute_stats(store.db, QUESTIONS, NOW)
    a, b = data["topics"]
    assert (a["topic"], a["seen"], a["in_bank"], a["lapses"]) == ("st-a", 3, 3, 1)
    assert (a["retention_30d"], a["retention_reviews"]) == (0.5, 2)
    assert (b["topic"], b["seen"], b["in_bank"], b["lapses"]) == ("st-b", 1, 2, 0)
    assert b["retention_30d"] is None and b["retention_reviews"] == 0
    assert data["seen"] == 4 and data["in_bank"] == 5
    assert data["streak_days"] == 3            # 03-08, 03-09, 03-10
    assert data["total_reviews"] == 12 and data["study_seconds"] == 12.0
    per_day = {d["date"]: d["reviews"] for d in data["reviews_per_day"]}
    assert per_day["2025-03-10"] == 2 and per_day["2025-03-09"] == 2
    assert per_day["2025-03-01"] == 2 and "2025-01-20" not in per_day
    assert len(data["reviews_per_day"]) == 30


def test_recall_due_and_weakest_against_py_fsrs(store):
    data = compute_stats(store.db, QUESTIONS, NOW)
    scheduler = Scheduler()
    cards = {qid: Card.from_json(js) for qid, js in store.db.execute(
        "SELECT question_id, card_json FROM cards") if qid != "st-a/removed"}
    recall = {qid: scheduler.get_card_retrievability(c, NOW) for qid, c in cards.items()}
    mean_a = sum(v for k, v in recall.items() if k.startswith("st-a")) / 3
    assert data["topics"][0]["mean_recall"] == pytest.approx(mean_a, abs=1e-4)
    assert data["topics"][1]["mean_recall"] == pytest.approx(recall["st-b/one"], abs=1e-4)
    assert [w["id"] for w in data["weakest"]] == sorted(recall, key=lambda k: (recall[k], k))
    today = NOW.date()
    assert data["due_today"] == sum(c.due.date() <= today for c in cards.values())
    for f in data["forecast"]:
        day = datetime.fromisoformat(f["date"]).date()
        assert f["due"] == sum(c.due.date() == day for c in cards.values())
    assert sum(f["due"] for f in data["forecast"]) + data["due_today"] == \
        sum(c.due.date() <= today + timedelta(days=7) for c in cards.values())


def test_streak_counts_from_yesterday_before_todays_first_review(store):
    data = compute_stats(store.db, QUESTIONS, NOW + timedelta(days=1))
    assert data["streak_days"] == 3
    assert compute_stats(store.db, QUESTIONS, NOW + timedelta(days=2))["streak_days"] == 0


def test_stats_command_json_and_table(store, tmp_path):
    bank = write_bank(tmp_path / "bank", BANK)
    args = ["--bank", str(bank), "stats", "--now", NOW.isoformat()]
    result = CliRunner().invoke(app, [*args, "--json", "-t", "st-a", "-t", "st-b"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == compute_stats(store.db, QUESTIONS, NOW)
    result = CliRunner().invoke(app, [*args, "-t", "st-b"])
    assert result.exit_code == 0, result.stderr
    assert "Streak: 3 days" in result.stdout and "st-b/one" in result.stdout
    assert "st-a/one" not in result.stdout


def test_stats_without_a_store(tmp_path):
    bank = write_bank(tmp_path / "bank", BANK)
    result = CliRunner().invoke(app, ["--bank", str(bank), "stats", "-t", "st-a"])
    assert result.exit_code == 0, result.stderr
    assert "No reviews yet" in result.stdout
    result = CliRunner().invoke(app, ["--bank", str(bank), "stats", "--json", "-t", "st-b"])
    data = json.loads(result.stdout)
    assert data["topics"] == [{"topic": "st-b", "seen": 0, "in_bank": 2, "mean_recall": None,
                               "lapses": 0, "retention_30d": None, "retention_reviews": 0}]
