"""plan_session and readiness on their own: plain objects in, order out."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tutor import scheduling
from tutor.session.plan import plan_session, readiness

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


@dataclass
class Q:
    id: str
    difficulty: int = 2
    topic: str = "t"


@dataclass
class Row:
    due: str
    stability: float | None = 1.0
    last_review: str | None = None


def row(due_days: float, stability: float = 1.0, last_days: float = -1.0) -> Row:
    return Row((NOW + timedelta(days=due_days)).isoformat(), stability,
               (NOW + timedelta(days=last_days)).isoformat())


def ids(plan):
    return [q.id for q in plan]


def test_due_reviews_most_overdue_first_then_new_easiest_first():
    qs = [Q("a"), Q("b"), Q("c"), Q("n1", 3), Q("n2", 1), Q("later")]
    rows = {"a": row(-1), "b": row(-3), "c": row(-0.1), "later": row(2)}
    plan = plan_session(qs, rows, NOW, new_allowance=5, rng=random.Random(0))
    assert ids(plan) == ["b", "a", "c", "n2", "n1"]


def test_new_allowance_and_count_cap():
    qs = [Q(f"n{i}", 1 + i % 3) for i in range(10)]
    assert len(plan_session(qs, {}, NOW, new_allowance=3)) == 3
    assert plan_session(qs, {}, NOW, new_allowance=-2) == []
    assert len(plan_session(qs, {}, NOW, new_allowance=10, count=4)) == 4


def test_new_only_drops_reviews():
    qs = [Q("a"), Q("n")]
    assert ids(plan_session(qs, {"a": row(-1)}, NOW, new_allowance=5, new_only=True)) == ["n"]


def test_cram_takes_every_seen_card_weakest_first_and_new_ones_only_when_asked():
    qs = [Q("strong"), Q("weak"), Q("n1"), Q("n2")]
    rows = {"strong": row(30, stability=100.0, last_days=-1),
            "weak": row(30, stability=0.5, last_days=-5)}
    plan = plan_session(qs, rows, NOW, new_allowance=0, cram=True, rng=random.Random(1))
    assert ids(plan) == ["weak", "strong"]
    plan = plan_session(qs, rows, NOW, new_allowance=0, cram=True, new_only=True)
    assert set(ids(plan)) == {"n1", "n2"}


def test_interview_keeps_cards_that_would_slip_by_that_day():
    qs = [Q("safe"), Q("slipping")]
    rows = {"safe": row(60, stability=500.0, last_days=-1),
            "slipping": row(5, stability=2.0, last_days=-1)}
    day = NOW + timedelta(days=20)
    plan = plan_session(qs, rows, NOW, new_allowance=0, interview_at=day)
    assert ids(plan) == ["slipping"]
    r = scheduling.retrievability(2.0, NOW - timedelta(days=1), day)
    assert r < scheduling.DESIRED_RETENTION


def test_seeded_ties_are_reproducible():
    qs = [Q(f"n{i}") for i in range(8)]
    a = plan_session(qs, {}, NOW, new_allowance=8, rng=random.Random(5))
    b = plan_session(qs, {}, NOW, new_allowance=8, rng=random.Random(5))
    assert ids(a) == ids(b)


def test_readiness_counts_unseen_as_zero_and_averages_by_topic():
    qs = [Q("a", topic="x"), Q("b", topic="x"), Q("c", topic="y")]
    rows = {"a": row(10, stability=1000.0, last_days=0)}
    ready = readiness(qs, rows, NOW)
    assert ready["by_topic"]["y"] == 0.0
    assert 0.49 < ready["by_topic"]["x"] <= 0.5
    assert ready["mean_recall"] == round((ready["by_topic"]["x"] * 2) / 3, 4)
