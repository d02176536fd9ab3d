"""`tutor stats`: figures checked against py-fsrs, the quiz's own plan and hand counts."""

from __future__ import annotations

import copy
import json
import math
import random
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from fsrs import Card, Scheduler
from typer.testing import CliRunner

from tests.tutor.test_quiz import write_bank
from tutor import scheduling
from tutor.cli import app
from tutor.scheduling import Grade
from tutor.session.plan import plan_session, readiness
from tutor.stats import DECAY, compute_stats, recall_after, recall_now
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


def fsrs_recall(card: Card, at: datetime) -> float:
    """py-fsrs's retrievability at a fractional elapsed time t: the curve depends on
    t / S only, so a card with stability S / t read exactly one day after its last
    review gives R(t, S) through py-fsrs itself."""
    t = (at - card.last_review).total_seconds() / 86400
    if t <= 0:
        return 1.0
    scaled = copy.copy(card)
    scaled.stability = card.stability / t
    return Scheduler().get_card_retrievability(scaled, card.last_review + timedelta(days=1))


def stored_cards(store: Store) -> dict[str, Card]:
    return {qid: Card.from_json(js) for qid, js in store.db.execute(
        "SELECT question_id, card_json FROM cards") if qid != "st-a/removed"}


def test_figures_against_hand_counts(store):
    data = compute_stats(store, QUESTIONS, NOW)
    a, b = data["topics"]
    assert (a["topic"], a["seen"], a["in_bank"], a["lapses"]) == ("st-a", 3, 3, 1)
    assert (a["retention_30d"], a["retention_reviews"]) == (0.5, 2)
    assert (b["topic"], b["seen"], b["in_bank"], b["lapses"]) == ("st-b", 1, 2, 0)
    assert b["retention_30d"] is None and b["retention_reviews"] == 0
    # failed counts every Again made in the topic, like retention: st-a/one's lapse and
    # the removed st-a question's miss (its history stays); st-b/one's crammed miss
    assert (a["failed"], b["failed"]) == (2, 1)
    assert data["seen"] == 4 and data["in_bank"] == 5
    assert data["streak_days"] == 3            # 03-08, 03-09, 03-10
    assert data["total_reviews"] == 12 and data["study_seconds"] == 12.0
    per_day = {d["date"]: d["reviews"] for d in data["reviews_per_day"]}
    assert per_day["2025-03-10"] == 2 and per_day["2025-03-09"] == 2
    assert per_day["2025-03-01"] == 2 and "2025-01-20" not in per_day
    assert len(data["reviews_per_day"]) == 30
    assert data["suspended"] == [] and data["buried"] == [] and data["readiness"] is None


def test_the_curve_is_py_fsrs_at_whole_days_and_between_them():
    # the card's scheduler is py-fsrs with default parameters: its decay is w[20]
    assert -scheduling.make_scheduler().parameters[20] == DECAY
    scheduler = Scheduler()
    card = scheduling.new_card("c", NOW)
    for grade in (Grade.good, Grade.good, Grade.hard):
        card = scheduling.review(scheduler, card, grade, card.due)
    last = card.last_review
    for days in range(0, 40, 3):
        at = last + timedelta(days=days)
        assert recall_now(card.stability, last.isoformat(), at) == \
            pytest.approx(scheduler.get_card_retrievability(card, at), rel=1e-12)
    for hours in (0.5, 7, 30, 100.25):
        at = last + timedelta(hours=hours)
        got = recall_now(card.stability, last.isoformat(), at)
        assert got == pytest.approx(fsrs_recall(card, at), rel=1e-12)
        whole = math.floor(hours / 24)
        before = scheduler.get_card_retrievability(card, last + timedelta(days=whole))
        after = scheduler.get_card_retrievability(card, last + timedelta(days=whole + 1))
        assert after < got < before or (whole == 0 and got < before == 1.0)
    assert recall_after(card.stability, card.stability) == pytest.approx(0.9, rel=1e-12)


def test_recall_due_and_weakest_against_py_fsrs(store):
    data = compute_stats(store, QUESTIONS, NOW)
    cards = stored_cards(store)
    recall = {qid: fsrs_recall(c, NOW) for qid, c in cards.items()}
    mean_a = sum(v for k, v in recall.items() if k.startswith("st-a")) / 3
    assert data["topics"][0]["mean_recall"] == pytest.approx(mean_a, abs=1e-4)
    assert data["topics"][1]["mean_recall"] == pytest.approx(recall["st-b/one"], abs=1e-4)
    # st-b/one was missed (crammed) two hours ago: it leads; then recall, then stability
    rest = sorted((k for k in recall if k != "st-b/one"),
                  key=lambda k: (recall[k], cards[k].stability, k))
    assert [w["id"] for w in data["weakest"]] == ["st-b/one", *rest]
    first = data["weakest"][0]
    assert first["failed_last_24h"] and first["last_failed"] == at("03-10", 10).isoformat()
    assert first["stability"] == pytest.approx(cards["st-b/one"].stability, abs=1e-4)
    today = NOW.date()
    assert data["due_today"] == sum(c.due <= NOW for c in cards.values())
    assert data["due_later_today"] == sum(c.due > NOW and c.due.date() == today
                                          for c in cards.values())
    for f in data["forecast"]:
        day = datetime.fromisoformat(f["date"]).date()
        assert f["due"] == sum(c.due.date() == day for c in cards.values())
    assert sum(f["due"] for f in data["forecast"]) + data["due_today"] + \
        data["due_later_today"] == sum(c.due.date() <= today + timedelta(days=7)
                                       for c in cards.values())


def test_a_card_failed_a_minute_ago_is_weakest_and_below_100_percent():
    with Store() as s:
        review(s, "st-a/one", Grade.good, NOW - timedelta(days=6))
        review(s, "st-a/one", Grade.good, NOW - timedelta(days=6, minutes=-10))
        review(s, "st-a/two", Grade.again, NOW - timedelta(minutes=1))   # first sight
        review(s, "st-b/one", Grade.easy, NOW - timedelta(days=3))
        data = compute_stats(s, QUESTIONS, NOW)
        card = stored_cards(s)["st-a/two"]
    # py-fsrs counts whole days: a minute-old miss reads as certain recall
    assert Scheduler().get_card_retrievability(card, NOW) == 1.0
    weakest = data["weakest"][0]
    assert weakest["id"] == "st-a/two" and weakest["failed_last_24h"]
    assert weakest["recall"] < 1 and weakest["recall"] == pytest.approx(
        fsrs_recall(card, NOW), abs=1e-4)
    assert data["weakest"][1]["recall"] < weakest["recall"]  # ahead of a weaker recall
    a = data["topics"][0]
    assert (a["lapses"], a["failed"]) == (0, 1)   # a first-sight miss is no lapse
    assert weakest["lapses"] == 0 and weakest["failed"] == 1


def test_due_today_is_what_the_quiz_asks_now():
    with Store() as s:
        for i, qid in enumerate(q.id for q in QUESTIONS):
            review(s, qid, Grade.again, NOW - timedelta(minutes=30 + i))   # all due
        review(s, "st-b/two", Grade.good, NOW - timedelta(minutes=3))     # due later today
        s.set_suspended("st-a/one", True)
        s.bury("st-a/two", datetime(2025, 3, 11, tzinfo=UTC))
        data = compute_stats(s, QUESTIONS, NOW)
        suspended, buried = s.held_back(NOW)
        asked = [q for q in QUESTIONS if q.id not in suspended | buried]
        plan = plan_session(asked, s.cards([q.id for q in asked]), NOW, new_allowance=0,
                            rng=random.Random(0))
    assert data["due_today"] == len(plan) == 2           # st-a/three, st-b/one
    assert data["due_later_today"] == 1                   # st-b/two, in 10 minutes
    assert data["suspended"] == ["st-a/one"] and data["buried"] == ["st-a/two"]
    assert data["forecast"][0]["due"] == 1                # the buried card, tomorrow


# readiness counts fractional days, py-fsrs whole days: the two agree to about 1e-3
def test_readiness_counts_seen_and_unseen_apart(store):
    day = NOW + timedelta(days=12)
    data = compute_stats(store, QUESTIONS, NOW, interview_at=day)
    ready = data["readiness"]
    cards = stored_cards(store)
    scheduler = Scheduler()
    on_day = {k: scheduler.get_card_retrievability(c, day) for k, c in cards.items()}
    assert (ready["seen"], ready["unseen"], ready["days_left"]) == (4, 1, 12)
    assert ready["mean_recall_seen"] == pytest.approx(sum(on_day.values()) / 4, abs=1e-3)
    below = sum(v < scheduling.DESIRED_RETENTION for v in on_day.values())
    assert ready["below_target"] == below
    assert ready["reviews_per_day"] == math.ceil((1 + below) / 12)
    # the older keys: every card, unseen as 0
    assert ready["mean_recall"] == pytest.approx(sum(on_day.values()) / 5, abs=1e-3)
    b = next(t for t in ready["topics"] if t["topic"] == "st-b")
    assert (b["seen"], b["unseen"]) == (1, 1)
    assert b["mean_recall_seen"] == pytest.approx(on_day["st-b/one"], abs=1e-3)
    # the same figures the quiz reports for that day
    rows = {k: v for k, v in store.cards().items() if k != "st-a/removed"}
    assert readiness(QUESTIONS, rows, day, now=NOW) == ready


def test_readiness_needs_a_review_a_day_for_every_card_at_least():
    qs = [SimpleNamespace(id=f"t/{i}", topic="t") for i in range(30)]
    ready = readiness(qs, {}, NOW + timedelta(days=7), now=NOW)
    assert (ready["seen"], ready["unseen"], ready["mean_recall_seen"]) == (0, 30, None)
    assert ready["reviews_per_day"] == 5          # ceil(30 / 7)
    assert readiness(qs, {}, NOW, now=NOW)["reviews_per_day"] == 30   # the day itself


def test_streak_counts_from_yesterday_before_todays_first_review(store):
    data = compute_stats(store, QUESTIONS, NOW + timedelta(days=1))
    assert data["streak_days"] == 3
    assert compute_stats(store, QUESTIONS, NOW + timedelta(days=2))["streak_days"] == 0


def test_stats_command_json_and_table(store, tmp_path):
    bank = write_bank(tmp_path / "bank", BANK)
    args = ["--bank", str(bank), "stats", "--now", NOW.isoformat()]
    result = CliRunner().invoke(app, [*args, "--json", "-t", "st-a", "-t", "st-b"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == compute_stats(store, QUESTIONS, NOW)
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
                               "lapses": 0, "failed": 0, "retention_30d": None,
                               "retention_reviews": 0}]


def test_stats_lists_suspended_cards_and_reports_readiness(store, tmp_path):
    store.set_suspended("st-a/two", True)
    bank = write_bank(tmp_path / "bank", BANK)
    args = ["--bank", str(bank), "stats", "-t", "st-a", "--now", NOW.isoformat()]
    result = CliRunner().invoke(app, [*args, "--interview-date", "2025-03-22"])
    assert result.exit_code == 0, result.stderr
    assert "Suspended (1): `tutor unsuspend ID` brings one back" in result.stdout
    assert "  st-a/two" in result.stdout
    assert "Readiness on 2025-03-22 (12 days left)" in result.stdout
    assert "never seen: 0 (1 suspended or buried left out)" in result.stdout
    data = json.loads(CliRunner().invoke(app, [*args, "--json", "--interview-date",
                                               "2025-03-22"]).stdout)
    assert data["suspended"] == ["st-a/two"] and data["readiness"]["seen"] == 2


@pytest.mark.parametrize(("value", "message"), [
    ("2025-13-01", "--interview-date: '2025-13-01' is not YYYY-MM-DD"),
    ("2025-03-09", "--interview-date 2025-03-09 is in the past")])
def test_stats_refuses_a_bad_interview_date(tmp_path, value, message):
    bank = write_bank(tmp_path / "bank", BANK)
    result = CliRunner().invoke(app, ["--bank", str(bank), "stats", "--now", NOW.isoformat(),
                                      "--interview-date", value])
    assert result.exit_code == 2 and result.stderr == f"error: {message}\n"


def test_stats_count_drills_passed_due_and_failed(tmp_path):
    from datetime import UTC, datetime, timedelta

    from tutor.bank.index import load_index
    from tutor.drills import record

    t0 = datetime(2025, 3, 1, 9, tzinfo=UTC)
    record("softmax", True, t0)
    record("rope", False, t0)
    r = CliRunner().invoke(app, ["stats", "--json", "--now", (t0 + timedelta(minutes=5))
                                 .isoformat()])
    drills = json.loads(r.stdout)["drills"]
    total = sum(q.kind == "drill" for q in load_index([]).questions.values())
    assert drills == {"total": total, "passed": 1, "due": 0, "failed": 1, "new": total - 2}
    later = json.loads(CliRunner().invoke(app, ["stats", "--json", "--now", (
        t0 + timedelta(days=30)).isoformat()]).stdout)["drills"]
    assert later["due"] == 1 and later["failed"] == 1  # the passed one fell due
