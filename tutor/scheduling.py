"""Scheduling with py-fsrs (FSRS-6): ratings in, card state out. Time is always an argument.

How an answer becomes a rating:

- recall and keypoints cards are rated by the user: Again, Hard, Good or Easy;
- choice, order and numeric cards are graded: wrong is Again, right is Good, and
  right *and fast* is Easy. Fast means under 10 s for choice and order cards and
  under 20 s for numeric cards, in an interactive session, without the hint.
  Scripted answers arrive with no thinking time, so they are never Easy.

Card state is stored as py-fsrs JSON. Every datetime is timezone-aware UTC.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from enum import IntEnum

# FSRS-6 default w[20], the decay of the forgetting curve; a test pins it to py-fsrs's
# default parameters, so the fast retrievability below matches the scheduler's.
DECAY = 0.1542
FACTOR = 0.9 ** (1 / -DECAY) - 1
DESIRED_RETENTION = 0.9

FAST_MS = {"choice": 10_000, "order": 10_000, "numeric": 20_000}


class Grade(IntEnum):
    """The four FSRS ratings, with the words a user may type for them."""

    again = 1
    hard = 2
    good = 3
    easy = 4

    @classmethod
    def parse(cls, text: str) -> Grade | None:
        """'1'-'4' or again/hard/good/easy (any case, or its first letter); None if neither."""
        word = text.strip().lower()
        if word in ("1", "2", "3", "4"):
            return cls(int(word))
        for g in cls:
            if word in (g.name, g.name[0]):
                return g
        return None


def auto_grade(kind: str, correct: bool, elapsed_ms: int, *, hinted: bool,
               interactive: bool) -> Grade:
    """The rating of an automatically graded answer (the rule in the module docstring)."""
    if not correct:
        return Grade.again
    fast = FAST_MS.get(kind)
    if interactive and not hinted and fast is not None and elapsed_ms < fast:
        return Grade.easy
    return Grade.good


def card_id_for(question_id: str) -> int:
    """A stable positive 63-bit id for a question's card (py-fsrs needs an int id)."""
    return int.from_bytes(hashlib.blake2b(question_id.encode(), digest_size=8).digest(),
                          "big") >> 1


def utc(dt: datetime) -> datetime:
    """The same instant with `timezone.utc` (py-fsrs rejects naive and ZoneInfo datetimes)."""
    if dt.tzinfo is None:
        raise ValueError(f"{dt.isoformat()} has no time zone")
    return dt.astimezone(UTC)


def make_scheduler(desired_retention: float = DESIRED_RETENTION, fuzz: bool = True):
    from fsrs import Scheduler

    return Scheduler(desired_retention=desired_retention, enable_fuzzing=fuzz)


def new_card(question_id: str, now: datetime):
    from fsrs import Card

    return Card(card_id=card_id_for(question_id), due=utc(now))


def load_card(card_json: str):
    from fsrs import Card

    return Card.from_json(card_json)


def review(scheduler, card, grade: Grade, now: datetime, elapsed_ms: int | None = None):
    """The card after a review at `now` (a new card object; the input is unchanged)."""
    from fsrs import Rating

    new, _log = scheduler.review_card(card, Rating(int(grade)), review_datetime=utc(now),
                                      review_duration=elapsed_ms)
    return new


def card_fields(card) -> dict:
    """The columns the store keeps next to the card's JSON, for SQL to sort and aggregate."""
    return {"state": int(card.state), "due": card.due.isoformat(),
            "stability": card.stability, "difficulty": card.difficulty,
            "last_review": card.last_review.isoformat() if card.last_review else None}


def retrievability(stability: float | None, last_review: datetime | None,
                   at: datetime) -> float:
    """Predicted recall at `at` counted in whole days, as py-fsrs counts it.

    The same figure as `Scheduler.get_card_retrievability`, without building a Card.
    A card never reviewed reads 0.
    """
    if last_review is None or not stability:
        return 0.0
    return forgetting_curve(max(0, (at - last_review).days), stability)


def recall_now(stability: float | None, last_review: str | None, at: datetime) -> float:
    """Predicted recall at `at` of a card with this stability and last review (ISO time),
    in fractional days, so a card failed a minute ago is below 100%. Never reviewed: 0."""
    if last_review is None or not stability:
        return 0.0
    elapsed = (at - datetime.fromisoformat(last_review)).total_seconds() / 86400
    return forgetting_curve(elapsed, stability)


def forgetting_curve(days: float, stability: float) -> float:
    """FSRS-6: R(t, S) = (1 + FACTOR t / S) ^ -DECAY, so R(S, S) = 0.9; t in days, a
    negative t (a clock behind the last review) counts as 0."""
    return (1 + FACTOR * max(0.0, days) / stability) ** -DECAY
