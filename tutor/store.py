"""The progress store: card state, the review log and sessions, in one SQLite file.

- The file is `tutor_home()/progress.db`. It uses WAL and a busy timeout, so two
  `tutor quiz` processes can write at once without losing a review.
- Every review is its own `BEGIN IMMEDIATE` transaction: the card is read,
  rescheduled and written back, and the review logged, atomically. A Ctrl-C or
  `kill -9` loses at most the card on screen.
- The schema is versioned with `PRAGMA user_version`: `MIGRATIONS` is an ordered
  list, and migration i takes the store from version i to i + 1.
- A file that is not a database, or one written by a newer version of tutor, raises
  `StoreError` with advice; it is never overwritten or deleted. Only `reset()`,
  which the user confirms, moves it away, and it keeps a backup first.
- Rows are keyed by question id and never deleted, so a removed question keeps
  its history.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from tutor.errors import StoreError

DB_NAME = "progress.db"
Rescheduler = Callable[[str | None], tuple[str, dict]]
BUSY_TIMEOUT_S = 10.0


def _v1(db: sqlite3.Connection) -> None:
    db.execute("""
        CREATE TABLE cards (
            question_id TEXT PRIMARY KEY,
            topic       TEXT NOT NULL,
            card_json   TEXT NOT NULL,          -- py-fsrs Card.to_json()
            state       INTEGER NOT NULL,       -- 1 learning, 2 review, 3 relearning
            due         TEXT NOT NULL,          -- ISO 8601 UTC
            stability   REAL,
            difficulty  REAL,
            last_review TEXT,
            reps        INTEGER NOT NULL DEFAULT 0,
            lapses      INTEGER NOT NULL DEFAULT 0,
            created     TEXT NOT NULL
        )""")
    # covers every column `tutor stats` reads, so it never reads the card JSON
    db.execute("CREATE INDEX cards_stats ON cards "
               "(question_id, stability, last_review, lapses, due, reps)")
    db.execute("""
        CREATE TABLE sessions (
            id       INTEGER PRIMARY KEY,
            started  TEXT NOT NULL,
            ended    TEXT,
            mode     TEXT NOT NULL DEFAULT 'review',
            seen     INTEGER NOT NULL DEFAULT 0,
            correct  INTEGER NOT NULL DEFAULT 0,
            wrong    INTEGER NOT NULL DEFAULT 0,
            skipped  INTEGER NOT NULL DEFAULT 0
        )""")
    db.execute("""
        CREATE TABLE reviews (
            id           INTEGER PRIMARY KEY,
            question_id  TEXT NOT NULL,
            topic        TEXT NOT NULL,
            kind         TEXT NOT NULL,
            rating       INTEGER NOT NULL,      -- 1 again, 2 hard, 3 good, 4 easy
            answer       TEXT,
            correct      INTEGER,               -- NULL for self-rated kinds
            vals         TEXT,                  -- JSON: the values a numeric card used
            elapsed_ms   INTEGER,
            reviewed_at  TEXT NOT NULL,         -- ISO 8601 UTC
            session_id   INTEGER REFERENCES sessions (id),
            cram         INTEGER NOT NULL DEFAULT 0,
            state_before INTEGER                -- NULL for a new card
        )""")
    # covering indexes for the stats: totals, and the last 30 days by day and by topic
    db.execute("CREATE INDEX reviews_time ON reviews (reviewed_at, elapsed_ms)")
    db.execute("CREATE INDEX reviews_recent ON reviews "
               "(reviewed_at, cram, state_before, topic, rating)")
    db.execute("CREATE INDEX reviews_question ON reviews (question_id, reviewed_at)")


# Append only: a released migration is never edited.
MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [_v1]
SCHEMA_VERSION = len(MIGRATIONS)


def db_path(home: Path | None = None) -> Path:
    from tutor.paths import tutor_home

    return (home or tutor_home()) / DB_NAME


def _damaged(path: Path, why: str) -> StoreError:
    return StoreError(f"{path} is not a valid progress database ({why})",
                      "move it aside to keep it, or run `tutor reset` (which keeps a "
                      "backup copy) to start afresh")


def store_error(path: Path, e: sqlite3.Error) -> StoreError:
    """A StoreError for an SQLite error met while using the store."""
    if isinstance(e, sqlite3.OperationalError) and "locked" in str(e):
        return StoreError(f"{path} stayed locked by another tutor process for "
                          f"{BUSY_TIMEOUT_S:.0f} s", "finish or close the other session "
                          "and try again")
    return _damaged(path, str(e))


@dataclass(frozen=True)
class CardRow:
    question_id: str
    card_json: str
    state: int
    due: str
    stability: float | None
    last_review: str | None
    reps: int
    lapses: int


@dataclass(frozen=True)
class Review:
    """One answered card, as it goes into the review log."""

    question_id: str
    topic: str
    kind: str
    rating: int
    answer: str | None
    correct: bool | None
    values: dict[str, Any] | None
    elapsed_ms: int
    reviewed_at: datetime
    cram: bool = False


class Store:
    """An open progress database. Use as a context manager, or call `close()`."""

    def __init__(self, path: Path | None = None, *, create: bool = True) -> None:
        self.path = path or db_path()
        if not create and not self.path.exists():
            raise StoreError(f"no progress yet at {self.path}", "run `tutor quiz` first")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            # isolation_level=None: transactions are explicit (BEGIN IMMEDIATE below)
            self.db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        except sqlite3.Error as e:
            raise StoreError(f"cannot open {self.path}: {e}") from None
        try:
            self._open()
        except sqlite3.DatabaseError as e:
            self.db.close()
            raise _damaged(self.path, str(e)) from None
        except BaseException:
            self.db.close()
            raise

    def _open(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        self._check_version(version)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA foreign_keys=ON")
        if version < SCHEMA_VERSION:
            self._migrate()

    def _check_version(self, version: int) -> None:
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} was written by a newer version of tutor (store version "
                f"{version}; this one knows up to {SCHEMA_VERSION})",
                "upgrade tutor (pip install -U transformer-tutor); the file is left untouched")

    def _migrate(self) -> None:
        with self.transaction():
            version = self.db.execute("PRAGMA user_version").fetchone()[0]
            self._check_version(version)
            for i in range(version, SCHEMA_VERSION):
                MIGRATIONS[i](self.db)
            self.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def transaction(self):
        return _Transaction(self.db)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- cards ----------------------------------------------------------------------------

    def cards(self, ids: list[str] | None = None) -> dict[str, CardRow]:
        """Card rows by question id (all of them, or those among `ids`)."""
        sql = ("SELECT question_id, card_json, state, due, stability, last_review, reps, lapses "
               "FROM cards")
        rows = self.db.execute(sql).fetchall()
        wanted = None if ids is None else set(ids)
        return {r[0]: CardRow(*r) for r in rows if wanted is None or r[0] in wanted}

    def new_cards_since(self, since: datetime) -> int:
        """Cards first seen at or after `since` (for the daily limit on new cards)."""
        return self.db.execute("SELECT count(*) FROM cards WHERE created >= ?",
                               (since.isoformat(),)).fetchone()[0]

    def record_review(self, review: Review, session_id: int | None,
                      reschedule: Rescheduler | None) -> CardRow | None:
        """Log a review and update its card, atomically; returns the card row afterwards.

        `reschedule(card_json or None) -> (new card_json, fields)` runs inside the
        transaction on the card as it is stored now, so a concurrent process's
        review of the same card is built on, not overwritten. `fields` holds
        state, due, stability, difficulty and last_review. With `reschedule=None`
        (cram) the card is left as it is.
        """
        at = review.reviewed_at.isoformat()
        with self.transaction():
            row = self.db.execute("SELECT card_json, state FROM cards WHERE question_id = ?",
                                  (review.question_id,)).fetchone()
            state_before = row[1] if row else None
            self.db.execute(
                "INSERT INTO reviews (question_id, topic, kind, rating, answer, correct, vals, "
                "elapsed_ms, reviewed_at, session_id, cram, state_before) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (review.question_id, review.topic, review.kind, review.rating, review.answer,
                 None if review.correct is None else int(review.correct),
                 json.dumps(review.values) if review.values is not None else None,
                 review.elapsed_ms, at, session_id, int(review.cram), state_before))
            if session_id is not None:
                self.db.execute(
                    "UPDATE sessions SET seen = seen + 1, correct = correct + ?, "
                    "wrong = wrong + ? WHERE id = ?",
                    (int(review.correct is True or (review.correct is None and review.rating > 1)),
                     int(review.correct is False or (review.correct is None
                                                     and review.rating == 1)),
                     session_id))
            if reschedule is not None:
                card_json, f = reschedule(row[0] if row else None)
                lapse = int(state_before == 2 and review.rating == 1)
                if row is None:
                    self.db.execute(
                        "INSERT INTO cards (question_id, topic, card_json, state, due, stability, "
                        "difficulty, last_review, reps, lapses, created) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, 0, ?)",
                        (review.question_id, review.topic, card_json, f["state"], f["due"],
                         f["stability"], f["difficulty"], f["last_review"], at))
                else:
                    self.db.execute(
                        "UPDATE cards SET topic = ?, card_json = ?, state = ?, due = ?, "
                        "stability = ?, difficulty = ?, last_review = ?, reps = reps + 1, "
                        "lapses = lapses + ? WHERE question_id = ?",
                        (review.topic, card_json, f["state"], f["due"], f["stability"],
                         f["difficulty"], f["last_review"], lapse, review.question_id))
            out = self.db.execute(
                "SELECT question_id, card_json, state, due, stability, last_review, reps, lapses "
                "FROM cards WHERE question_id = ?", (review.question_id,)).fetchone()
        return CardRow(*out) if out else None

    # --- sessions -------------------------------------------------------------------------

    def start_session(self, started: datetime, mode: str) -> int:
        with self.transaction():
            cur = self.db.execute("INSERT INTO sessions (started, mode) VALUES (?, ?)",
                                  (started.isoformat(), mode))
        return int(cur.lastrowid)

    def end_session(self, session_id: int, ended: datetime, skipped: int) -> None:
        with self.transaction():
            self.db.execute("UPDATE sessions SET ended = ?, skipped = ? WHERE id = ?",
                            (ended.isoformat(), skipped, session_id))

    def count(self, table: str) -> int:
        if table not in ("cards", "reviews", "sessions"):
            raise ValueError(table)
        return self.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


class _Transaction:
    """`BEGIN IMMEDIATE` ... `COMMIT`, or `ROLLBACK` on any exception (Ctrl-C included).

    IMMEDIATE takes the write lock up front, so a read-then-write cannot fail
    half-way because another process committed in between; the busy timeout makes
    the second writer wait instead.
    """

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.db.execute("COMMIT")
        else:
            self.db.execute("ROLLBACK")


def open_store(create: bool = True) -> Store:
    return Store(db_path(), create=create)


def reset(now: datetime, home: Path | None = None) -> Path | None:
    """Move the store aside to a timestamped backup and return the backup's path.

    Works on a damaged file too: the bytes are copied as they are. The WAL is
    checkpointed first when the file is a readable database, so the backup is
    complete in one file. Returns None when there is no store.
    """
    path = db_path(home)
    if not path.exists():
        return None
    try:
        db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S)
        try:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            db.close()
    except sqlite3.DatabaseError:
        pass  # damaged: copy the bytes, WAL and all, as they are
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    backup = path.with_name(f"{path.stem}.{stamp}.bak{path.suffix}")
    n = 1
    while backup.exists():
        n += 1
        backup = path.with_name(f"{path.stem}.{stamp}-{n}.bak{path.suffix}")
    shutil.copy2(path, backup)
    for suffix in ("-wal", "-shm"):
        side = path.with_name(path.name + suffix)
        if side.exists():
            if suffix == "-wal" and side.stat().st_size:
                shutil.copy2(side, backup.with_name(backup.name + suffix))
            side.unlink()
    path.unlink()
    return backup
