"""`tutor stats` and `tutor reset`: figures from the store's aggregate queries.

The review log is summed in SQLite (`tutor.store.queries`), and predicted
recall for every card comes from the FSRS-6 forgetting curve applied to the stored
stability, without building py-fsrs cards. Definitions:

- *recall*: predicted probability of recall now, over seen cards: the FSRS-6 curve
  `recall_after` with the time since the last review in fractional days (py-fsrs
  counts whole days, so a card failed a minute ago would read 100%);
- *stability*: FSRS memory stability in days, the time for recall to fall to 90%;
- *retention (30 d)*: the share of reviews in the last 30 days of cards already
  learned (in the review state), not crammed, that were not rated Again;
- *lapses*: reviews of learned cards rated Again (FSRS's count);
- *failed*: every review rated Again, first sight, relearning and cram included,
  so a card missed the first time it was asked counts here (and not in lapses);
  per topic, like retention, it counts the reviews made in the topic;
- *due today*: the due reviews `tutor quiz` asks now: cards due at or before now,
  suspended and buried cards left out; *due later today* counts the rest of today;
  the forecast counts the days after, a buried card from tomorrow on;
- *streak*: days in a row, in UTC, with at least one review, ending today (or
  yesterday, when there has been no review yet today);
- *weakest*: the seen cards failed in the last 24 hours first, then by recall now
  (lowest first), then by stability (lowest first);
- *readiness* (for an interview day): `tutor.session.plan.readiness`, over the
  cards the quiz would plan from (suspended and buried cards left out).
"""

from __future__ import annotations

from collections import namedtuple
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from tutor import scheduling
from tutor.store import queries

if TYPE_CHECKING:
    from tutor.store import Store

# The tutor's scheduler uses py-fsrs's default parameters; scheduling.DECAY is their
# w[20] (a test pins it), so this is the decay of every card's scheduler.
DECAY = -scheduling.DECAY
RECENT_FAILURE = timedelta(hours=24)

_Row = namedtuple("_Row", "stability last_review due")


def recall_after(elapsed_days: float, stability: float) -> float:
    """The FSRS-6 forgetting curve (one formula, in tutor.scheduling), t in fractional days."""
    return scheduling.forgetting_curve(elapsed_days, stability)


recall_now = scheduling.recall_now


def compute_stats(store: Store | None, questions: list, now: datetime, *,
                  interview_at: datetime | None = None) -> dict[str, Any]:
    """Every figure `tutor stats` shows, for these bank questions, at `now` (UTC).

    `store` is an open store, or None before the first review; `interview_at` adds
    `readiness` for that time (else it is None).
    """
    from tutor.session.plan import readiness

    db = store.db if store else None
    in_bank = {q.id: q.topic for q in questions}
    topics = sorted(set(in_bank.values()))
    today = now.date()
    month_ago = (now - timedelta(days=30)).isoformat()

    suspended, buried = store.held_back(now) if store else (set(), set())
    suspended &= set(in_bank)
    buried &= set(in_bank)
    cards = [c for c in (queries.card_summaries(db) if db else []) if c[0] in in_bank]
    recent = queries.failed_between(db, (now - RECENT_FAILURE).isoformat(),
                                    now.isoformat()) if db else {}
    failed_in = queries.failed_by_topic(db) if db else {}
    recall = [recall_now(c[1], c[2], now) for c in cards]

    per_topic: dict[str, dict[str, Any]] = {
        t: {"seen": 0, "in_bank": 0, "recall_sum": 0.0, "lapses": 0} for t in topics}
    for topic in in_bank.values():
        per_topic[topic]["in_bank"] += 1
    due_now, due_later_today, due_by_day = 0, 0, {}
    for (qid, _s, _l, lapses, due, _reps), r in zip(cards, recall, strict=True):
        t = per_topic[in_bank[qid]]
        t["seen"] += 1
        t["recall_sum"] += r
        t["lapses"] += lapses
        if qid in suspended:
            continue
        when = datetime.fromisoformat(due)
        if qid in buried:  # buried until tomorrow: asked from then on
            day = max(when.date(), today + timedelta(days=1))
        elif when <= now:
            due_now += 1
            continue
        else:
            day = when.date()
        if day == today:
            due_later_today += 1
        else:
            due_by_day[day] = due_by_day.get(day, 0) + 1

    retention = queries.retention_by_topic(db, month_ago) if db else {}
    topic_rows = []
    for t in topics:
        row = per_topic[t]
        n, ok = retention.get(t, (0, 0))
        topic_rows.append({
            "topic": t, "seen": row["seen"], "in_bank": row["in_bank"],
            "mean_recall": round(row["recall_sum"] / row["seen"], 4) if row["seen"] else None,
            "lapses": row["lapses"], "failed": failed_in.get(t, 0),
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

    order = sorted(range(len(cards)), key=lambda i: (
        cards[i][0] not in recent, recall[i], cards[i][1] or 0.0, cards[i][0]))[:10]
    failed = queries.failures_of(db, [cards[i][0] for i in order]) if db else {}
    weakest = [{"id": cards[i][0], "topic": in_bank[cards[i][0]],
                "recall": round(recall[i], 4),
                "stability": round(cards[i][1], 4) if cards[i][1] is not None else None,
                "lapses": cards[i][3], "failed": failed[cards[i][0]][0],
                "last_failed": failed[cards[i][0]][1],
                "failed_last_24h": cards[i][0] in recent, "reviews": cards[i][5]}
               for i in order]

    ready = None
    if interview_at is not None:
        asked = [q for q in questions if q.id not in suspended and q.id not in buried]
        rows = {c[0]: _Row(c[1], c[2], c[4]) for c in cards}
        ready = readiness(asked, rows, interview_at, now=now)

    return {
        "now": now.isoformat(),
        "drills": _drills(store, questions, now),
        "topics": topic_rows,
        "seen": len(cards), "in_bank": len(in_bank),
        "due_today": due_now,
        "due_later_today": due_later_today,
        "forecast": [{"date": (today + timedelta(days=d)).isoformat(),
                      "due": due_by_day.get(today + timedelta(days=d), 0)}
                     for d in range(1, 8)],
        "suspended": sorted(suspended),
        "buried": sorted(buried),
        "streak_days": streak,
        "study_seconds": round(study_ms / 1000, 1),
        "total_reviews": total_reviews,
        "weakest": weakest,
        "reviews_per_day": [{"date": (today - timedelta(days=d)).isoformat(),
                             "reviews": counts.get((today - timedelta(days=d)).isoformat(), 0)}
                            for d in range(29, -1, -1)],
        "readiness": ready,
    }


def _drills(store: Store | None, questions: list, now: datetime) -> dict[str, int] | None:
    """Drills passed, due, failed and not yet tried (None when the bank has none)."""
    names = [q.id.split("/", 1)[1] for q in questions if getattr(q, "kind", None) == "drill"]
    if not names:
        return None
    from tutor.drills.progress import status

    rows = store.cards([f"drills/{n}" for n in names]) if store else {}
    counts = {"total": len(names), "passed": 0, "due": 0, "failed": 0, "new": 0}
    for name in names:
        counts[status(name, rows, now)] += 1
    return counts
