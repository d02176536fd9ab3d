"""`tutor stats` and `tutor reset`: figures from the store's aggregate queries.

The review log is summed in SQLite (`tutor.store.queries`), and predicted
recall for every card comes from the FSRS-6 forgetting curve applied to the stored
stability, without building py-fsrs cards. Definitions:

- *recall*: predicted probability of recall now (FSRS retrievability), over seen cards;
- *retention (30 d)*: the share of reviews in the last 30 days of cards already
  learned (in the review state), not crammed, that were not rated Again;
- *lapses*: reviews of learned cards rated Again;
- *streak*: days in a row, in UTC, with at least one review, ending today (or
  yesterday, when there has been no review yet today);
- *weakest*: the seen cards with the lowest recall now, then the most lapses.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from tutor import scheduling
from tutor.store import queries

if TYPE_CHECKING:
    import sqlite3


def compute_stats(db: sqlite3.Connection | None, questions: list, now: datetime) -> dict[str, Any]:
    """Every figure `tutor stats` shows, for these bank questions, at `now` (UTC)."""
    in_bank = {q.id: q.topic for q in questions}
    topics = sorted(set(in_bank.values()))
    today = now.date()
    month_ago = (now - timedelta(days=30)).isoformat()

    cards = queries.card_summaries(db) if db else []
    cards = [c for c in cards if c[0] in in_bank]
    recall = scheduling.retrievabilities([(c[1], c[2]) for c in cards], now)

    per_topic: dict[str, dict[str, Any]] = {
        t: {"topic": t, "seen": 0, "in_bank": 0, "recall_sum": 0.0, "lapses": 0} for t in topics}
    for topic in in_bank.values():
        per_topic[topic]["in_bank"] += 1
    due_by_day: dict[str, int] = {}
    for (qid, _s, _l, lapses, due, _reps), r in zip(cards, recall, strict=True):
        t = per_topic[in_bank[qid]]
        t["seen"] += 1
        t["recall_sum"] += r
        t["lapses"] += lapses
        day = max(due[:10], today.isoformat())  # overdue counts as due today
        due_by_day[day] = due_by_day.get(day, 0) + 1

    retention = queries.retention_by_topic(db, month_ago) if db else {}
    topic_rows = []
    for t in topics:
        row = per_topic[t]
        n, ok = retention.get(t, (0, 0))
        topic_rows.append({
            "topic": t, "seen": row["seen"], "in_bank": row["in_bank"],
            "mean_recall": round(row["recall_sum"] / row["seen"], 4) if row["seen"] else None,
            "lapses": row["lapses"],
            "retention_30d": round(ok / n, 4) if n else None, "retention_reviews": n})

    counts: dict[str, int] = {}
    total_reviews, study_ms = 0, 0
    if db:
        total_reviews, study_ms = queries.review_totals(db)
        counts = queries.reviews_per_day(db, month_ago)

    def reviewed_on(day) -> bool:
        if (today - day).days < 30:
            return day.isoformat() in counts
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        return queries.any_review_between(db, start.isoformat(),
                                          (start + timedelta(days=1)).isoformat())

    streak = 0
    if db:
        day = today if reviewed_on(today) else today - timedelta(days=1)
        while reviewed_on(day):
            streak += 1
            day -= timedelta(days=1)

    order = sorted(range(len(cards)), key=lambda i: (recall[i], -cards[i][3], cards[i][0]))
    weakest = [{"id": cards[i][0], "topic": in_bank[cards[i][0]],
                "recall": round(recall[i], 4), "lapses": cards[i][3], "reviews": cards[i][5]}
               for i in order[:10]]

    return {
        "now": now.isoformat(),
        "topics": topic_rows,
        "seen": len(cards), "in_bank": len(in_bank),
        "due_today": due_by_day.get(today.isoformat(), 0),
        "forecast": [{"date": (today + timedelta(days=d)).isoformat(),
                      "due": due_by_day.get((today + timedelta(days=d)).isoformat(), 0)}
                     for d in range(1, 8)],
        "streak_days": streak,
        "study_seconds": round(study_ms / 1000, 1),
        "total_reviews": total_reviews,
        "weakest": weakest,
        "reviews_per_day": [{"date": (today - timedelta(days=d)).isoformat(),
                             "reviews": counts.get((today - timedelta(days=d)).isoformat(), 0)}
                            for d in range(29, -1, -1)],
    }
