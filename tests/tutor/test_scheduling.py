"""Scheduling: the rating rule, the fast forgetting curve against py-fsrs, UTC handling."""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fsrs import Card, Rating, Scheduler

from tutor import scheduling
from tutor.scheduling import Grade, auto_grade, card_id_for

T0 = datetime(2025, 1, 1, 8, 30, tzinfo=UTC)


def test_decay_matches_py_fsrs_defaults():
    s = Scheduler()
    assert s.parameters[20] == scheduling.DECAY
    assert pytest.approx(s._FACTOR, rel=1e-15) == scheduling.FACTOR
    assert s.desired_retention == scheduling.DESIRED_RETENTION


def _random_cards(n: int, seed: int) -> list[Card]:
    rng = random.Random(seed)
    s = Scheduler(enable_fuzzing=False)
    cards = []
    for i in range(n):
        card, at = Card(card_id=i, due=T0), T0
        for _ in range(rng.randint(1, 8)):
            card, _ = s.review_card(card, Rating(rng.randint(1, 4)), review_datetime=at)
            at = max(at, card.due) + timedelta(hours=rng.randint(0, 200))
        cards.append(card)
    return cards


def test_retrievability_matches_get_card_retrievability():
    s = Scheduler()
    cards = _random_cards(60, seed=4)
    for hours in (0, 5, 23, 24, 25, 24 * 9 + 7, 24 * 400):
        for card in cards:
            at = card.last_review + timedelta(hours=hours)
            assert scheduling.retrievability(card.stability, card.last_review, at) == \
                pytest.approx(s.get_card_retrievability(card, at), rel=1e-12)
    assert scheduling.retrievability(None, None, T0) == 0 == s.get_card_retrievability(Card(1), T0)


@pytest.mark.parametrize("kind, correct, ms, hinted, interactive, grade", [
    ("choice", False, 100, False, True, Grade.again),
    ("choice", True, 9_999, False, True, Grade.easy),
    ("choice", True, 10_000, False, True, Grade.good),
    ("order", True, 3_000, False, True, Grade.easy),
    ("numeric", True, 19_000, False, True, Grade.easy),
    ("numeric", True, 21_000, False, True, Grade.good),
    ("numeric", True, 1_000, True, True, Grade.good),     # a hint rules out Easy
    ("numeric", True, 1_000, False, False, Grade.good),   # scripted: never Easy
    ("numeric", False, 1_000, False, True, Grade.again),
])
def test_auto_grade_rule(kind, correct, ms, hinted, interactive, grade):
    assert auto_grade(kind, correct, ms, hinted=hinted, interactive=interactive) == grade


@pytest.mark.parametrize("text, grade", [
    ("1", Grade.again), ("2", Grade.hard), ("3", Grade.good), ("4", Grade.easy),
    ("Again", Grade.again), (" EASY ", Grade.easy), ("g", Grade.good), ("5", None), ("", None),
])
def test_rating_words(text, grade):
    assert Grade.parse(text) == grade


def test_card_ids_are_stable_positive_and_cards_do_not_sleep():
    assert card_id_for("scaling/why-sqrt-dk") == card_id_for("scaling/why-sqrt-dk")
    assert card_id_for("a/b") != card_id_for("a/c")
    assert 0 < card_id_for("a/b") < 2**63
    start = time.perf_counter()
    cards = [scheduling.new_card(f"t/q{i}", T0) for i in range(300)]
    assert time.perf_counter() - start < 0.25  # Card() without an id sleeps 1 ms each
    assert len({c.card_id for c in cards}) == 300


def test_review_matches_py_fsrs_and_leaves_the_input_alone():
    ours = scheduling.make_scheduler(fuzz=False)
    theirs = Scheduler(enable_fuzzing=False)
    card = scheduling.new_card("t/q", T0)
    ref = Card(card_id=card_id_for("t/q"), due=T0)
    at = T0
    for grade in (Grade.good, Grade.good, Grade.hard, Grade.again, Grade.good, Grade.easy):
        new = scheduling.review(ours, card, grade, at)
        ref, _ = theirs.review_card(ref, Rating(int(grade)), review_datetime=at)
        assert new.to_dict() == ref.to_dict()
        assert card.due <= at  # the old card object is unchanged
        card, at = new, new.due
    fields = scheduling.card_fields(card)
    assert fields["due"] == card.due.isoformat() and fields["state"] == int(card.state)


def test_times_must_be_aware_and_are_converted_to_utc():
    with pytest.raises(ValueError, match="no time zone"):
        scheduling.utc(datetime(2025, 1, 1))
    paris = datetime(2025, 1, 1, 10, tzinfo=ZoneInfo("Europe/Paris"))
    assert scheduling.utc(paris) == datetime(2025, 1, 1, 9, tzinfo=UTC)
    assert scheduling.utc(paris).tzinfo is UTC
    s = scheduling.make_scheduler()
    card = scheduling.review(s, scheduling.new_card("t/q", paris), Grade.good, paris)
    assert card.last_review == datetime(2025, 1, 1, 9, tzinfo=UTC)
