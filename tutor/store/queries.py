"""The aggregate queries behind `tutor stats`, each on an open connection (read only).

The review log is summed in SQLite, on the covering indexes made by the first
migration (`cards_stats`, `reviews_time`, `reviews_recent`), so no card JSON is read.
"""

from __future__ import annotations

import sqlite3


def card_summaries(db: sqlite3.Connection) -> list[tuple]:
    """(question_id, stability, last_review, lapses, due, reps) for every card."""
    return db.execute("SELECT question_id, stability, last_review, lapses, due, reps "
                      "FROM cards").fetchall()


def retention_by_topic(db: sqlite3.Connection, since: str) -> dict[str, tuple[int, int]]:
    """topic -> (reviews, not rated Again) of learned cards since `since`, cram left out."""
    rows = db.execute(
        "SELECT topic, count(*), sum(rating >= 2) FROM reviews "
        "WHERE reviewed_at >= ? AND cram = 0 AND state_before = 2 GROUP BY topic",
        (since,)).fetchall()
    return {t: (n, ok) for t, n, ok in rows}


def review_totals(db: sqlite3.Connection) -> tuple[int, int]:
    """(number of reviews, total milliseconds spent on them)."""
    n, ms = db.execute("SELECT count(*), coalesce(sum(elapsed_ms), 0) FROM reviews").fetchone()
    return n, ms


def reviews_per_day(db: sqlite3.Connection, since: str) -> dict[str, int]:
    """'YYYY-MM-DD' (UTC) -> reviews that day, for the days since `since`."""
    return dict(db.execute(
        "SELECT substr(reviewed_at, 1, 10) AS day, count(*) FROM reviews "
        "WHERE reviewed_at >= ? GROUP BY day", (since,)).fetchall())


def any_review_between(db: sqlite3.Connection, start: str, end: str) -> bool:
    """True when at least one review was made in [start, end)."""
    return db.execute("SELECT 1 FROM reviews WHERE reviewed_at >= ? AND reviewed_at < ? "
                      "LIMIT 1", (start, end)).fetchone() is not None


def failed_by_topic(db: sqlite3.Connection) -> dict[str, int]:
    """topic -> reviews rated Again, every one: first sight, relearning and cram alike
    (on the covering index `reviews_recent`)."""
    return dict(db.execute("SELECT topic, count(*) FROM reviews WHERE rating = 1 "
                           "GROUP BY topic").fetchall())


def failed_between(db: sqlite3.Connection, start: str, end: str) -> dict[str, str]:
    """question_id -> time of its last review rated Again in [start, end]."""
    return dict(db.execute(
        "SELECT question_id, max(reviewed_at) FROM reviews "
        "WHERE reviewed_at >= ? AND reviewed_at <= ? AND rating = 1 GROUP BY question_id",
        (start, end)).fetchall())


def failures_of(db: sqlite3.Connection, ids: list[str]) -> dict[str, tuple[int, str | None]]:
    """question_id -> (reviews rated Again, time of the last one), for a few ids."""
    out = {}
    for qid in ids:
        n, last = db.execute("SELECT count(*), max(reviewed_at) FROM reviews "
                             "WHERE question_id = ? AND rating = 1", (qid,)).fetchone()
        out[qid] = (n, last)
    return out
