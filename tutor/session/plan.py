"""Which cards a session asks, in which order, and readiness for an interview day (pure)."""

from __future__ import annotations

import random
from datetime import datetime
from typing import Any

from tutor import scheduling


def _parsed_time(iso: str | None) -> datetime | None:
    return datetime.fromisoformat(iso) if iso else None


def recall_at(row, at: datetime) -> float:
    """Predicted recall of a stored card at a time; a card never seen counts as 0."""
    if row is None:
        return 0.0
    return scheduling.retrievability(row.stability, _parsed_time(row.last_review), at)


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


def readiness(questions: list, rows: dict, at: datetime) -> dict[str, Any]:
    """Mean predicted recall at `at`, overall and by topic; a new card counts as 0."""
    by_topic: dict[str, list[float]] = {}
    for q in questions:
        by_topic.setdefault(q.topic, []).append(recall_at(rows.get(q.id), at))
    values = [v for vs in by_topic.values() for v in vs]
    return {"date": at.date().isoformat(),
            "mean_recall": round(sum(values) / len(values), 4) if values else 0.0,
            "by_topic": {t: round(sum(vs) / len(vs), 4) for t, vs in sorted(by_topic.items())}}
