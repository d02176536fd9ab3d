"""Which cards a session asks, in which order, and readiness for an interview day (pure)."""

from __future__ import annotations

import random
from datetime import datetime
from typing import Any

from tutor import scheduling


def _parsed_time(iso: str | None) -> datetime | None:
    return datetime.fromisoformat(iso) if iso else None


def recall_at(row, at: datetime) -> float:
    """Predicted recall of a stored card at a time, on the FSRS-6 curve in fractional days
    (a card failed a minute ago is weakest now); a card never seen counts as 0."""
    if row is None:
        return 0.0
    return scheduling.recall_now(row.stability, row.last_review, at)


def plan_session(questions: list, rows: dict, now: datetime, *, new_allowance: int,
                 count: int | None = None, new_only: bool = False, cram: bool = False,
                 interview_at: datetime | None = None,
                 rng: random.Random | None = None) -> list:
    """The cards of a session, in the order they are asked.

    - default: due reviews (most overdue first), then up to `new_allowance` new cards
      (easiest first);
    - cram: every seen card, weakest (lowest recall now) first; new cards only with
      new_only (`--cram --new`);
    - interview_at: due cards, cards predicted below the desired retention on that
      day, and new cards, lowest predicted recall on that day first;
    - new_only keeps only new cards; count caps the session.
    """
    rng = rng or random.Random()
    shuffled = list(questions)
    rng.shuffle(shuffled)  # ties are broken at random (reproducibly with --seed)
    seen = [q for q in shuffled if q.id in rows]
    new = sorted((q for q in shuffled if q.id not in rows), key=lambda q: q.difficulty)
    if not cram:
        new = new[:max(0, new_allowance)]
    if cram:
        seen = sorted(seen, key=lambda q: recall_at(rows.get(q.id), now))
        pool = new if new_only else seen
    elif new_only:
        pool = new
    elif interview_at is not None:
        keep = [q for q in seen if datetime.fromisoformat(rows[q.id].due) <= now
                or recall_at(rows.get(q.id), interview_at) < scheduling.DESIRED_RETENTION]
        pool = sorted(keep + new, key=lambda q: recall_at(rows.get(q.id), interview_at))
    else:
        due = sorted((q for q in seen if datetime.fromisoformat(rows[q.id].due) <= now),
                     key=lambda q: datetime.fromisoformat(rows[q.id].due))
        pool = due + new
    return pool[:count] if count is not None else pool


def readiness(questions: list, rows: dict, at: datetime, *, now: datetime | None = None,
              target: float = scheduling.DESIRED_RETENTION) -> dict[str, Any]:
    """Predicted recall at `at` (the interview), and the reviews a day needed to be ready.

    Recall on the day is counted in whole days, as py-fsrs and the interview plan
    above count it. Keys:

    - mean_recall, by_topic: mean over all cards, a new card counting as 0;
    - seen, unseen: cards reviewed at least once, and cards never seen;
    - mean_recall_seen: mean predicted recall of the seen cards on the day (None if none);
    - below_target: seen cards predicted below `target` (the desired retention) then;
    - days_left: whole days from `now` to the interview day, at least 1;
    - reviews_per_day: ceil((unseen + below_target) / days_left), the fewest reviews
      a day that reach every card once before the day (learning a card usually
      takes more than one review, so this is a floor);
    - topics: per topic, the same seen / unseen / mean_recall_seen / below_target.

    `now` defaults to TUTOR_NOW, or the clock.
    """
    import math

    if now is None:
        from datetime import UTC

        from tutor.clock import fixed_now

        now = fixed_now(None) or datetime.now(UTC)
    by_topic: dict[str, list[float]] = {}
    seen_by_topic: dict[str, list[float]] = {}
    for q in questions:
        r = recall_at(rows.get(q.id), at)
        by_topic.setdefault(q.topic, []).append(r)
        seen = seen_by_topic.setdefault(q.topic, [])
        if q.id in rows:
            seen.append(r)
    values = [v for vs in by_topic.values() for v in vs]
    seen_values = [v for vs in seen_by_topic.values() for v in vs]
    below = sum(v < target for v in seen_values)
    unseen = len(values) - len(seen_values)
    days_left = max(1, (at.date() - now.date()).days)

    def mean(vs: list[float]) -> float | None:
        return round(sum(vs) / len(vs), 4) if vs else None

    return {"date": at.date().isoformat(),
            "mean_recall": mean(values) or 0.0,
            "by_topic": {t: mean(vs) for t, vs in sorted(by_topic.items())},
            "seen": len(seen_values), "unseen": unseen,
            "mean_recall_seen": mean(seen_values), "target": target,
            "below_target": below, "days_left": days_left,
            "reviews_per_day": math.ceil((unseen + below) / days_left),
            "topics": [{"topic": t, "seen": len(seen_by_topic[t]),
                        "unseen": len(by_topic[t]) - len(seen_by_topic[t]),
                        "mean_recall_seen": mean(seen_by_topic[t]),
                        "below_target": sum(v < target for v in seen_by_topic[t])}
                       for t in sorted(by_topic)]}
