"""The progress store: card state, the review log and sessions, in one SQLite file.

- The file is `tutor_home()/progress.db`. It uses WAL and a busy timeout, so two
  `tutor quiz` processes can write at once without losing a review.
- Every review is its own `BEGIN IMMEDIATE` transaction: the card is read,
  rescheduled and written back, and the review logged, atomically. A Ctrl-C or
  `kill -9` loses at most the card on screen.
- Creating and migrating the store is one `BEGIN IMMEDIATE` transaction that checks
  the file again once it holds the write lock, and the whole set-up is retried while
  another process holds the lock, so sessions started at the same moment on a fresh
  store all get the same, complete store.
- The schema is versioned with `PRAGMA user_version`: `MIGRATIONS` is an ordered
  list, and migration i takes the store from version i to i + 1. The file is stamped
  with `PRAGMA application_id = APPLICATION_ID` when it is created.
- Only a file that is ours is ever changed: an empty file, one stamped with our
  application id, or one holding our tables (made before the stamp existed). Anything
  else (another program's SQLite file, a file that is not a database, one written by
  a newer version of tutor) raises `StoreError` with advice, and is left byte for byte
  as it was. A damaged file is found by `PRAGMA quick_check` when the store opens.
- An open store holds a shared lock on `progress.lock` next to the file. `reset()`
  takes that lock exclusively, so it refuses, naming the reason, while a quiz is
  running, instead of moving the file out from under the session. Only `reset()`,
  which the user confirms, moves the store away, and it keeps a backup first.
- Rows are keyed by question id and never deleted, so a removed question keeps
  its history. Any answer text is stored, whatever bytes it was typed as.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from tutor.errors import StoreError

DB_NAME = "progress.db"
LOCK_NAME = "progress.lock"
APPLICATION_ID = 0x54545452  # "TTTR": a transformer-tutor progress store
Rescheduler = Callable[[str | None], tuple[str, dict]]
BUSY_TIMEOUT_S = 10.0
RESET_WAIT_S = 3.0  # how long `tutor reset` waits for a short command to finish
_TABLES = {"cards", "reviews", "sessions"}
_CARD_COLUMNS = ("question_id, topic, card_json, state, due, stability, difficulty, "
                 "last_review, reps, lapses, created")


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


def _v2(db: sqlite3.Connection) -> None:
    # the card row as it was before each review, so the last answer can be undone
    db.execute("ALTER TABLE reviews ADD COLUMN card_before TEXT")   # JSON, NULL for a new card
    db.execute("""
        CREATE TABLE card_flags (
            question_id  TEXT PRIMARY KEY,
            suspended    INTEGER NOT NULL DEFAULT 0,
            buried_until TEXT                    -- ISO 8601 UTC; not asked before then
        )""")


# Append only: a released migration is never edited.
MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [_v1, _v2]
SCHEMA_VERSION = len(MIGRATIONS)


def db_path(home: Path | None = None) -> Path:
    from tutor.paths import tutor_home

    return (home or tutor_home()) / DB_NAME


# --- errors ---------------------------------------------------------------------------------

def _damaged(path: Path, why: str) -> StoreError:
    return StoreError(f"{path} is not a valid progress database ({why})",
                      "move it aside to keep it, or run `tutor reset` (which keeps a "
                      "backup copy) to start afresh")


def _foreign(path: Path, why: str) -> StoreError:
    return StoreError(f"{path} is not a tutor progress store ({why})",
                      "it was left untouched; move it aside, or set TUTOR_HOME to another "
                      "directory")


def error_kind(e: sqlite3.Error) -> str:
    """What an SQLite error means for the user: locked, readonly, full, io, cantopen,
    damaged or other."""
    name = getattr(e, "sqlite_errorname", "") or ""
    text = str(e).lower()
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in text:
        return "locked"
    if name.startswith("SQLITE_READONLY") or "readonly" in text or "read-only" in text:
        return "readonly"
    if name == "SQLITE_FULL" or "disk is full" in text:
        return "full"
    if name.startswith("SQLITE_IOERR") or "disk i/o" in text:
        return "io"
    if name.startswith(("SQLITE_CANTOPEN", "SQLITE_PERM", "SQLITE_AUTH")) or \
            "unable to open" in text:
        return "cantopen"
    if name.startswith(("SQLITE_NOTADB", "SQLITE_CORRUPT")) or "not a database" in text \
            or "malformed" in text:
        return "damaged"
    return "other"


def store_error(path: Path, e: sqlite3.Error) -> StoreError:
    """A StoreError for an SQLite error met while using the store.

    Only a damaged file gets the advice to reset; a lock, a read-only or full disk and
    an I/O error each say what happened, and that the file was left as it is.
    """
    kind = error_kind(e)
    if kind == "locked":
        return StoreError(f"{path} stayed locked by another tutor process for "
                          f"{BUSY_TIMEOUT_S:.0f} s", "finish or close the other session "
                          "and try again")
    if kind == "readonly":
        return StoreError(f"cannot write {path}: the file or its directory is read-only",
                          "make it writable, or set TUTOR_HOME to a writable directory")
    if kind == "full":
        return StoreError(f"cannot write {path}: the disk is full",
                          "free some space and try again; what was stored is kept")
    if kind == "io":
        return StoreError(f"disk I/O error on {path} ({e})",
                          "check the disk, and that nothing removed progress.db-wal while "
                          "tutor was running; the file was left as it is")
    if kind == "cantopen":
        return StoreError(f"cannot open {path} ({e})",
                          "check that TUTOR_HOME is a directory you can read and write")
    if kind == "damaged":
        return _damaged(path, str(e))
    return StoreError(f"progress store error on {path} ({e})")


@contextlib.contextmanager
def sqlite_errors(path: Path) -> Iterator[None]:
    """Turn any SQLite error inside the block into the StoreError that explains it."""
    try:
        yield
    except sqlite3.Error as e:
        raise store_error(path, e) from None


def storable(text: str | None) -> str | None:
    """Text SQLite can store: lone surrogates (undecodable input bytes, read with
    surrogateescape) become backslash escapes such as \\xe9; valid text is unchanged."""
    if text is None:
        return None
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        pass
    try:
        raw = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # surrogates that were never bytes
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return raw.decode("utf-8", "backslashreplace")


# --- the lock that `tutor reset` respects ----------------------------------------------------

class _FileLock:
    """An flock on TUTOR_HOME/progress.lock: shared while a store is open, exclusive for
    a reset. Where the lock cannot be taken at all (no fcntl, a read-only directory), it
    is a no-op; a store nobody can write cannot be reset either."""

    def __init__(self, db: Path) -> None:
        self.fd: int | None = None
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows
            return
        self._fcntl = fcntl
        lock = db.with_name(LOCK_NAME)
        for flags in (os.O_RDWR | os.O_CREAT, os.O_RDONLY):
            try:
                self.fd = os.open(lock, flags, 0o644)
                return
            except OSError:
                continue

    def acquire(self, exclusive: bool, wait_s: float) -> bool:
        if self.fd is None:
            return True
        mode = self._fcntl.LOCK_EX if exclusive else self._fcntl.LOCK_SH
        deadline = time.monotonic() + wait_s
        while True:
            try:
                self._fcntl.flock(self.fd, mode | self._fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    return False
                time.sleep(0.02)
            except OSError:
                return True  # a filesystem without locks: carry on unlocked

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)  # releases the lock
            self.fd = None


# --- the store ------------------------------------------------------------------------------

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


class _NeedsMigration(Exception):
    """A read-only open met an older schema: open it for writing once to migrate."""


class Store:
    """An open progress database. Use as a context manager, or call `close()`.

    `readonly=True` (for `tutor stats`) opens the file with `mode=ro` and changes
    nothing, so it also works on a read-only disk; `empty` is then True for a store
    that has no tables yet.
    """

    def __init__(self, path: Path | None = None, *, create: bool = True,
                 readonly: bool = False) -> None:
        self.path = path or db_path()
        self.empty = False
        if not create and not self.path.exists():
            raise StoreError(f"no progress yet at {self.path}", "run `tutor quiz` first")
        if self.path.is_dir():
            raise StoreError(f"{self.path} is a directory, not a progress store",
                             "move it aside, or set TUTOR_HOME to another directory")
        if not readonly:
            _make_home(self.path.parent)
        self._lock = _FileLock(self.path)
        if not self._lock.acquire(exclusive=False, wait_s=BUSY_TIMEOUT_S):
            self._lock.close()
            raise StoreError(f"{self.path} is being reset by another tutor process",
                             "wait for it to finish and try again")
        try:
            if readonly:
                try:
                    self._open_readonly()
                    return
                except _NeedsMigration:
                    pass
            self._open_writable()
        except BaseException:
            self._lock.close()
            raise

    # opening

    def _connect(self, uri: str | None = None) -> None:
        try:
            # isolation_level=None: transactions are explicit (BEGIN IMMEDIATE below)
            self.db = sqlite3.connect(uri or self.path, timeout=BUSY_TIMEOUT_S,
                                      isolation_level=None, uri=uri is not None)
        except sqlite3.Error as e:
            raise store_error(self.path, e) from None

    def _open_writable(self) -> None:
        deadline = time.monotonic() + BUSY_TIMEOUT_S
        while True:
            self._connect()
            try:
                self._set_up()
                return
            except sqlite3.Error as e:
                self.db.close()
                if error_kind(e) == "locked" and time.monotonic() < deadline:
                    # another process is creating or migrating the store: wait for it
                    time.sleep(random.uniform(0.01, 0.05))
                    continue
                raise store_error(self.path, e) from None
            except BaseException:
                self.db.close()
                raise

    def _set_up(self) -> None:
        kind, version = self._classify()
        if kind == "ours":
            self._quick_check()
        if self.db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA foreign_keys=ON")
        app_id = self.db.execute("PRAGMA application_id").fetchone()[0]
        if kind == "fresh" or version < SCHEMA_VERSION or app_id != APPLICATION_ID:
            self._migrate()

    def _open_readonly(self) -> None:
        base = "file:" + quote(os.fsencode(self.path)) + "?mode=ro"
        for uri in (base, base + "&immutable=1"):
            self._connect(uri)
            try:
                kind, version = self._classify()
                if kind == "fresh":
                    self.empty = True
                elif version < SCHEMA_VERSION:
                    self.db.close()
                    raise _NeedsMigration
                else:
                    self._quick_check()
                return
            except sqlite3.Error as e:
                self.db.close()
                # a WAL file on a read-only disk can only be read as immutable
                if (error_kind(e) in ("cantopen", "readonly") and "immutable" not in uri
                        and not os.access(self.path.parent, os.W_OK)):
                    continue
                raise store_error(self.path, e) from None
            except BaseException:
                self.db.close()
                raise

    def _classify(self) -> tuple[str, int]:
        """('fresh' | 'ours', user_version), or StoreError for a file that is not ours."""
        app_id, version, tables = _header(self.db)
        if app_id == APPLICATION_ID:
            kind = "ours"
        elif app_id != 0:
            raise _foreign(self.path, f"its application id is {app_id:#x}")
        elif not tables and version == 0:
            kind = "fresh"
        elif tables >= _TABLES and version >= 1:
            kind = "ours"  # made before stores were stamped with the application id
        else:
            shown = ", ".join(sorted(tables)[:5]) or "no tables"
            raise _foreign(self.path, f"it holds {shown}")
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} was written by a newer version of tutor (store version "
                f"{version}; this one knows up to {SCHEMA_VERSION})",
                "upgrade tutor (pip install -U transformer-tutor); the file is left untouched")
        return kind, version

    def _quick_check(self) -> None:
        result = self.db.execute("PRAGMA quick_check(1)").fetchone()[0]
        if result != "ok":
            raise _damaged(self.path, f"quick_check: {result}")

    def _migrate(self) -> None:
        with self.transaction():
            _kind, version = self._classify()  # again, now that we hold the write lock
            for i in range(version, SCHEMA_VERSION):
                MIGRATIONS[i](self.db)
            self.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            self.db.execute(f"PRAGMA application_id = {APPLICATION_ID}")

    def transaction(self):
        return _Transaction(self.db)

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self.db.close()
        self._lock.close()

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
        (cram) the card is left as it is. Text of any kind is stored (see `storable`).
        """
        at = review.reviewed_at.isoformat()
        qid, topic = storable(review.question_id), storable(review.topic)
        values = (json.dumps(review.values, default=str)
                  if review.values is not None else None)
        with self.transaction():
            row = self.db.execute("SELECT card_json, state FROM cards WHERE question_id = ?",
                                  (qid,)).fetchone()
            state_before = row[1] if row else None
            before = self.db.execute(f"SELECT {_CARD_COLUMNS} FROM cards WHERE question_id = ?",
                                     (qid,)).fetchone()
            self.db.execute(
                "INSERT INTO reviews (question_id, topic, kind, rating, answer, correct, vals, "
                "elapsed_ms, reviewed_at, session_id, cram, state_before, card_before) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (qid, topic, storable(review.kind), review.rating, storable(review.answer),
                 None if review.correct is None else int(review.correct),
                 values, review.elapsed_ms, at, session_id, int(review.cram), state_before,
                 json.dumps(list(before)) if before else None))
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
                        (qid, topic, card_json, f["state"], f["due"],
                         f["stability"], f["difficulty"], f["last_review"], at))
                else:
                    self.db.execute(
                        "UPDATE cards SET topic = ?, card_json = ?, state = ?, due = ?, "
                        "stability = ?, difficulty = ?, last_review = ?, reps = reps + 1, "
                        "lapses = lapses + ? WHERE question_id = ?",
                        (topic, card_json, f["state"], f["due"], f["stability"],
                         f["difficulty"], f["last_review"], lapse, qid))
            out = self.db.execute(
                "SELECT question_id, card_json, state, due, stability, last_review, reps, lapses "
                "FROM cards WHERE question_id = ?", (qid,)).fetchone()
        return CardRow(*out) if out else None

    def undo_last(self, session_id: int) -> str | None:
        """Take back the session's last review: the card returns to its state before it
        (a card seen for the first time is forgotten again). Returns its question id."""
        with self.transaction():
            last = self.db.execute(
                "SELECT id, question_id, rating, correct, cram, card_before FROM reviews "
                "WHERE session_id = ? ORDER BY id DESC LIMIT 1", (session_id,)).fetchone()
            if last is None:
                return None
            rid, qid, rating, correct, cram, before = last
            if not cram:
                self.db.execute("DELETE FROM cards WHERE question_id = ?", (qid,))
                if before is not None:
                    cols = _CARD_COLUMNS.split(", ")
                    self.db.execute(
                        f"INSERT INTO cards ({_CARD_COLUMNS}) VALUES "
                        f"({', '.join('?' * len(cols))})", json.loads(before))
            self.db.execute("DELETE FROM reviews WHERE id = ?", (rid,))
            right = int(correct == 1 or (correct is None and rating > 1))
            self.db.execute("UPDATE sessions SET seen = seen - 1, correct = correct - ?, "
                            "wrong = wrong - ? WHERE id = ?", (right, 1 - right, session_id))
        return qid

    # --- suspended and buried cards --------------------------------------------------------

    def set_suspended(self, question_id: str, suspended: bool) -> None:
        with self.transaction():
            self.db.execute(
                "INSERT INTO card_flags (question_id, suspended) VALUES (?, ?) "
                "ON CONFLICT (question_id) DO UPDATE SET suspended = excluded.suspended",
                (storable(question_id), int(suspended)))

    def bury(self, question_id: str, until: datetime) -> None:
        with self.transaction():
            self.db.execute(
                "INSERT INTO card_flags (question_id, buried_until) VALUES (?, ?) "
                "ON CONFLICT (question_id) DO UPDATE SET buried_until = excluded.buried_until",
                (storable(question_id), until.isoformat()))

    def held_back(self, now: datetime) -> tuple[set[str], set[str]]:
        """(suspended ids, ids buried until after `now`): cards a session does not ask."""
        rows = self.db.execute("SELECT question_id, suspended, buried_until FROM card_flags"
                               ).fetchall()
        suspended = {q for q, s, _ in rows if s}
        buried = {q for q, _, b in rows if b and datetime.fromisoformat(b) > now}
        return suspended, buried

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
        if table not in _TABLES:
            raise ValueError(table)
        return self.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def _header(db: sqlite3.Connection) -> tuple[int, int, set[str]]:
    """(application_id, user_version, table names), read in one snapshot: a store that
    another process is creating right now is seen either before or after, never half."""
    own = not db.in_transaction
    if own:
        db.execute("BEGIN")
    try:
        app_id = db.execute("PRAGMA application_id").fetchone()[0]
        version = db.execute("PRAGMA user_version").fetchone()[0]
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master "
                                           "WHERE type = 'table'")}
    finally:
        if own and db.in_transaction:
            db.execute("COMMIT")
    return app_id, version, tables


def _make_home(home: Path) -> None:
    try:
        home.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise StoreError(f"{home} is not a directory",
                         "set TUTOR_HOME to a directory (or unset it)") from None
    except OSError as e:
        raise StoreError(f"cannot create {home}: {e.strerror or e}",
                         "set TUTOR_HOME to a directory you can write") from None


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
        elif self.db.in_transaction:  # SQLite may have rolled back already (disk full)
            with contextlib.suppress(sqlite3.Error):
                self.db.execute("ROLLBACK")


@contextlib.contextmanager
def exclusive_lock(path: Path, wait_s: float) -> Iterator[bool]:
    """Hold the store's lock exclusively (no session can have it open) if it can be had
    within `wait_s`; yields whether it was."""
    lock = _FileLock(path)
    try:
        yield lock.acquire(exclusive=True, wait_s=wait_s)
    finally:
        lock.close()


def is_tutor_store(path: Path) -> bool:
    """True for an existing progress store that tutor made (read only; never changes it)."""
    if not path.is_file():
        return False
    try:
        db = sqlite3.connect("file:" + quote(os.fsencode(path)) + "?mode=ro", uri=True)
    except sqlite3.Error:
        return False
    try:
        app_id, _version, tables = _header(db)
        return app_id == APPLICATION_ID or (app_id == 0 and tables >= _TABLES)
    except sqlite3.Error:
        return False
    finally:
        db.close()


def open_store(create: bool = True) -> Store:
    return Store(db_path(), create=create)


def reset(now: datetime, home: Path | None = None) -> Path | None:
    """Move the store aside to a timestamped backup and return the backup's path.

    Refuses (StoreError, nothing changed) while another tutor process has the store
    open, after waiting `RESET_WAIT_S` for a short command to finish: a running quiz
    would otherwise go on saving reviews into the file that was moved away. Works on a
    damaged file too: the bytes are copied as they are. The WAL is checkpointed first
    when the file is a readable database, so the backup is complete in one file.
    Returns None when there is no store.
    """
    path = db_path(home)
    if not path.exists() and not path.is_symlink():
        return None
    if path.is_dir():
        raise StoreError(f"{path} is a directory, not a progress store",
                         "nothing was changed; move it aside yourself")
    with exclusive_lock(path, RESET_WAIT_S) as free:
        if not free:
            raise StoreError(f"another tutor process (a quiz?) is using {path}",
                             "finish it (q at the prompt) and run `tutor reset` again; "
                             "nothing was changed")
        return _move_aside(path, now)


def _move_aside(path: Path, now: datetime) -> Path:
    try:
        db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S)
        try:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            db.close()
    except sqlite3.Error:
        pass  # damaged or read-only: copy the bytes, WAL and all, as they are
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    backup = path.with_name(f"{path.stem}.{stamp}.bak{path.suffix}")
    n = 1
    while backup.exists():
        n += 1
        backup = path.with_name(f"{path.stem}.{stamp}-{n}.bak{path.suffix}")
    try:
        shutil.copy2(path, backup)
        wal = path.with_name(path.name + "-wal")
        if wal.exists() and wal.stat().st_size:
            shutil.copy2(wal, backup.with_name(backup.name + "-wal"))
    except OSError as e:
        with contextlib.suppress(OSError):
            backup.unlink()
        raise StoreError(f"cannot write the backup {backup}: {e.strerror or e}",
                         "nothing was changed; free some space or make the directory "
                         "writable") from None
    try:
        for suffix in ("-wal", "-shm"):
            side = path.with_name(path.name + suffix)
            if side.exists():
                side.unlink()
        path.unlink()
    except OSError as e:
        raise StoreError(f"cannot remove {path}: {e.strerror or e}",
                         f"the backup {backup} is complete; remove the store yourself") from None
    return backup
