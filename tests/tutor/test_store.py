"""The progress store: migrations, damage, foreign files, newer versions, reset, SIGKILL,
two writers, two sessions racing to create the store, and error messages by cause."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.tutor.test_quiz import NOW, quiz, recall_bank
from tutor.cli import app
from tutor.errors import StoreError
from tutor.store import (
    APPLICATION_ID,
    LOCK_NAME,
    MIGRATIONS,
    SCHEMA_VERSION,
    Review,
    Store,
    db_path,
    store_error,
)

ROOT = Path(__file__).resolve().parents[2]


def home() -> Path:
    return Path(os.environ["TUTOR_HOME"])


def test_fresh_store_is_migrated_and_in_wal_mode():
    with Store() as store:
        assert store.db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert store.db.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
        tables = {r[0] for r in store.db.execute("SELECT name FROM sqlite_master "
                                                 "WHERE type = 'table'")}
        assert {"cards", "reviews", "sessions"} <= tables
    with Store() as store:  # reopening applies nothing twice
        assert store.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_a_review_is_committed_before_the_call_returns():
    with Store() as store:
        review = Review("t/a", "t", "choice", 3, "A", True, None, 1200, NOW)
        store.record_review(review, None, lambda _: ("{}", {
            "state": 1, "due": NOW.isoformat(), "stability": 1.0, "difficulty": 5.0,
            "last_review": NOW.isoformat()}))
        # a second connection sees it at once
        other = sqlite3.connect(db_path())
        assert other.execute("SELECT question_id, rating, correct, elapsed_ms FROM reviews"
                             ).fetchall() == [("t/a", 3, 1, 1200)]
        other.close()


def test_a_failed_reschedule_rolls_the_review_back():
    def boom(_):
        raise KeyboardInterrupt

    with Store() as store:
        with pytest.raises(KeyboardInterrupt):
            store.record_review(Review("t/a", "t", "recall", 3, "x", None, None, 5, NOW),
                                None, boom)
        assert store.count("reviews") == 0 and store.count("cards") == 0


def test_garbage_file_gives_advice_and_is_left_untouched():
    home().mkdir(parents=True)
    garbage = bytes(range(256)) * 64
    db_path().write_bytes(garbage)
    with pytest.raises(StoreError, match="not a valid progress database"):
        Store()
    for command in (["quiz"], ["stats"]):
        result = CliRunner().invoke(app, command, input="q\n")
        assert result.exit_code == 1, result.output
        error = result.stderr.splitlines()[-1]
        assert error.startswith("error: ") and "tutor reset" in error
        assert "Traceback" not in result.stderr
    assert db_path().read_bytes() == garbage
    # nothing beside the store was written but the bank-index cache and the lock file
    assert sorted(p.name for p in home().iterdir() if p.name != "cache") == [
        "progress.db", LOCK_NAME]


def test_store_from_a_newer_version_is_refused_and_untouched():
    home().mkdir(parents=True)
    db = sqlite3.connect(db_path())
    db.execute("CREATE TABLE future (x)")
    db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 7}")
    db.commit()
    db.close()
    before = db_path().read_bytes()
    with pytest.raises(StoreError, match="newer version of tutor") as err:
        Store()
    assert "upgrade" in str(err.value)
    result = CliRunner().invoke(app, ["stats"])
    assert result.exit_code == 1 and "newer version" in result.stderr
    assert db_path().read_bytes() == before


def test_reset_asks_and_keeps_a_backup(tmp_path):
    bank = recall_bank(tmp_path / "bank", 2)
    quiz(bank, ["-t", "q-many"], "a\n3\nb\n3\n")
    result = CliRunner().invoke(app, ["reset"], input="n\n")
    assert result.exit_code == 0 and "Nothing changed" in result.stdout
    assert db_path().exists()
    result = CliRunner().invoke(app, ["reset"], input="y\n")
    assert result.exit_code == 0, result.stderr
    backups = list(home().glob("progress.*.bak.db"))
    assert len(backups) == 1 and not db_path().exists()
    kept = sqlite3.connect(backups[0])
    assert kept.execute("SELECT count(*) FROM reviews").fetchone()[0] == 2
    kept.close()
    result = CliRunner().invoke(app, ["reset", "--yes"])
    assert "nothing to reset" in result.stdout


def test_reset_of_a_damaged_store_copies_its_bytes():
    home().mkdir(parents=True)
    db_path().write_bytes(b"not sqlite at all" * 100)
    result = CliRunner().invoke(app, ["reset", "--yes"])
    assert result.exit_code == 0, result.stderr
    (backup,) = home().glob("progress.*.bak.db")
    assert backup.read_bytes() == b"not sqlite at all" * 100
    with Store() as store:  # a fresh store can be made now
        assert store.count("reviews") == 0


def _quiz_process(bank: Path, *args: str, now: datetime = NOW) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TUTOR_NOW": now.isoformat()}
    return subprocess.Popen([sys.executable, "-m", "tutor", "--bank", str(bank), "quiz",
                             "--json", *args], cwd=ROOT, env=env, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_sigkill_mid_session_keeps_every_answered_card(tmp_path):
    bank = recall_bank(tmp_path / "bank", 5)
    proc = _quiz_process(bank, "-t", "q-many", "--seed", "2")
    try:
        proc.stdin.write("first\n3\nsecond\n1\n")
        proc.stdin.flush()
        graded = [proc.stdout.readline() for _ in range(2)]  # both answers are saved
        proc.stdin.write("third, typed but not yet rated\n")
        proc.stdin.flush()
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        proc.kill()
        proc.stdin.close()
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    assert all('"rating"' in line for line in graded)
    db = sqlite3.connect(db_path())
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert db.execute("SELECT answer, rating FROM reviews ORDER BY id").fetchall() == [
        ("first", 3), ("second", 1)]
    assert db.execute("SELECT count(*) FROM cards").fetchone()[0] == 2
    assert db.execute("SELECT seen, ended FROM sessions").fetchall() == [(2, None)]
    db.close()
    # the next session carries on from there
    result, graded_next, _ = quiz(bank, ["-t", "q-many"], "x\n3\n" * 3)
    assert len(graded_next) == 3


def test_two_quiz_processes_at_once_lose_nothing(tmp_path):
    n = 25
    bank = recall_bank(tmp_path / "bank", n)
    home().mkdir(parents=True)
    (home() / "settings.toml").write_text(f"new_per_day = {n}\n")
    Store().close()  # created up front, so both processes only write
    lines = "x\n3\n" * n
    # a day apart, so that every card is either new or due for both of them
    procs = [_quiz_process(bank, "-t", "q-many", "--new-limit", str(n), "--seed", str(day),
                           now=NOW + timedelta(days=day)) for day in (0, 1)]
    outs = [p.communicate(lines, timeout=120) for p in procs]
    for p, (out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err
        assert out.count('"rating": "good"') == n
    db = sqlite3.connect(db_path())
    assert db.execute("SELECT count(*) FROM reviews").fetchone()[0] == 2 * n
    assert db.execute("SELECT count(*) FROM cards").fetchone()[0] == n
    # each card was reviewed twice, and each review built on the other's
    assert db.execute("SELECT min(reps), max(reps) FROM cards").fetchone() == (2, 2)
    assert db.execute("SELECT sum(seen) FROM sessions").fetchone()[0] == 2 * n
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.close()


def test_times_are_stored_in_utc():
    with Store() as store:
        at = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
        sid = store.start_session(at, "review")
        assert store.db.execute("SELECT started FROM sessions WHERE id = ?", (sid,)
                                ).fetchone()[0] == "2025-01-02T03:04:05+00:00"


def test_ctrl_c_saves_and_exits_130(tmp_path):
    bank = recall_bank(tmp_path / "bank", 3)
    proc = _quiz_process(bank, "-t", "q-many")
    try:
        proc.stdin.write("first\n3\n")
        proc.stdin.flush()
        assert '"rating": "good"' in proc.stdout.readline()
        proc.send_signal(signal.SIGINT)
        out, _err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 130
    assert '"summary"' in out
    db = sqlite3.connect(db_path())
    assert db.execute("SELECT count(*) FROM reviews").fetchone()[0] == 1
    assert db.execute("SELECT seen, ended IS NOT NULL FROM sessions").fetchall() == [(1, 1)]
    db.close()


# --- two sessions on a fresh store (D26) ----------------------------------------------------

def _hold_migration(path: Path, journal_mode: str) -> sqlite3.Connection:
    """Another process half-way through creating the store: tables made, not committed."""
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    if journal_mode == "wal":
        other.execute("PRAGMA journal_mode=WAL")
    other.execute("BEGIN IMMEDIATE")
    MIGRATIONS[0](other)
    other.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    other.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    return other


@pytest.mark.parametrize("journal_mode", ["delete", "wal"])
def test_opening_while_another_process_creates_the_store_waits_for_it(journal_mode):
    home().mkdir(parents=True)
    other = _hold_migration(db_path(), journal_mode)
    timer = threading.Timer(0.4, other.execute, ("COMMIT",))
    timer.start()
    try:
        with Store() as store:  # waits for the other migration instead of failing
            assert store.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
            assert store.count("reviews") == 0
    finally:
        timer.join()
        other.close()


def test_a_store_committed_between_two_reads_is_not_seen_half_made(monkeypatch):
    home().mkdir(parents=True)
    other = _hold_migration(db_path(), "wal")
    connect = sqlite3.connect

    def commit_the_other_one_midway(*args, **kwargs):
        db = connect(*args, **kwargs)

        def trace(sql: str) -> None:
            if "sqlite_master" in sql and other.in_transaction:
                other.execute("COMMIT")  # lands between reading the header and the tables
        db.set_trace_callback(trace)
        return db

    monkeypatch.setattr(sqlite3, "connect", commit_the_other_one_midway)
    try:
        with Store() as store:
            assert store.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    finally:
        other.close()


def _open_and_review(home_dir: str, qid: str, results) -> None:
    os.environ["TUTOR_HOME"] = home_dir
    try:
        with Store() as store:
            sid = store.start_session(NOW, "review")
            store.record_review(Review(qid, "t", "recall", 3, "x", None, None, 5, NOW), sid, None)
        results.put("ok")
    except Exception as e:  # reported to the parent, which fails the test
        results.put(f"{type(e).__name__}: {e}")


def test_two_sessions_started_together_on_fresh_stores_never_fail(tmp_path):
    ctx = multiprocessing.get_context("fork")
    outcomes = []
    for i in range(12):
        fresh = tmp_path / f"home-{i}"
        results = ctx.Queue()
        procs = [ctx.Process(target=_open_and_review, args=(str(fresh), f"t/{j}", results))
                 for j in range(2)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(timeout=60)
        outcomes += [results.get(timeout=5) for _ in procs]
        db = sqlite3.connect(fresh / "progress.db")
        assert db.execute("SELECT count(*) FROM reviews").fetchone()[0] == 2
        db.close()
    assert outcomes == ["ok"] * len(outcomes)


# --- files that are not ours (D18) ---------------------------------------------------------

FOREIGN = {
    "notes": ["CREATE TABLE notes (body TEXT)", "INSERT INTO notes VALUES ('precious')"],
    "cards": ["CREATE TABLE cards (x)", "INSERT INTO cards VALUES ('precious')"],
    "versioned": ["CREATE TABLE t (x)", "PRAGMA user_version = 3"],
    "stamped": ["CREATE TABLE t (x)", "PRAGMA application_id = 1234"],
}


@pytest.mark.parametrize("name", sorted(FOREIGN))
def test_another_programs_database_is_refused_and_left_byte_for_byte(name, tmp_path):
    home().mkdir(parents=True)
    db = sqlite3.connect(db_path())
    for sql in FOREIGN[name]:
        db.execute(sql)
    db.commit()
    db.close()
    before = db_path().read_bytes()
    bank = recall_bank(tmp_path / "bank", 1)
    for command in (["stats"], ["--bank", str(bank), "quiz", "-t", "q-many"]):
        result = CliRunner().invoke(app, command, input="x\n3\n")
        assert result.exit_code == 1, result.output
        assert "is not a tutor progress store" in result.stderr
        assert "newer version" not in result.stderr and "tutor reset" not in result.stderr
    assert db_path().read_bytes() == before
    assert not db_path().with_name("progress.db-wal").exists()


def test_a_store_made_before_the_application_id_is_still_ours():
    home().mkdir(parents=True)
    db = sqlite3.connect(db_path())
    MIGRATIONS[0](db)
    db.execute("INSERT INTO sessions (started) VALUES ('2025-01-01T00:00:00+00:00')")
    db.execute("PRAGMA user_version = 1")
    db.commit()
    db.close()
    with Store() as store:
        assert store.count("sessions") == 1
        assert store.db.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID


# --- damage found at open (D25) -------------------------------------------------------------

def _store_with_reviews(n: int) -> None:
    with Store() as store, store.transaction() as db:
        db.executemany("INSERT INTO reviews (question_id, topic, kind, rating, answer, "
                       "reviewed_at) VALUES (?, 't', 'recall', 3, ?, ?)",
                       [(f"t/{i}", "answer " * 20, NOW.isoformat()) for i in range(n)])
    db = sqlite3.connect(db_path())
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()


def test_stats_refuses_a_store_with_a_damaged_page():
    _store_with_reviews(2000)
    with open(db_path(), "r+b") as f:  # page 3 of 4096 bytes: part of the review log
        f.seek(2 * 4096)
        f.write(bytes(range(256)) * 16)
    before = db_path().read_bytes()
    result = CliRunner().invoke(app, ["stats", "--json"])
    assert result.exit_code == 1, result.output
    assert "not a valid progress database" in result.stderr and "tutor reset" in result.stderr
    assert db_path().read_bytes() == before


# --- errors by cause (D14, D16) -------------------------------------------------------------

def _real_error(setup: str, sql: str, uri: str = "") -> sqlite3.Error:
    home().mkdir(parents=True, exist_ok=True)
    with Store():
        pass
    db = sqlite3.connect(uri or db_path(), uri=bool(uri), timeout=0)
    try:
        if setup:
            db.execute(setup)
        db.execute(sql)
    except sqlite3.Error as e:
        return e
    finally:
        db.close()
    raise AssertionError("no error")


def test_a_read_only_or_full_store_is_not_called_damaged():
    readonly = _real_error("", "INSERT INTO sessions (started) VALUES ('x')",
                           uri=f"file:{db_path()}?mode=ro")
    full = _real_error("PRAGMA max_page_count = 1",
                       "CREATE TABLE big AS SELECT zeroblob(100000) AS b")
    for e, words in ((readonly, "read-only"), (full, "disk is full")):
        message = str(store_error(db_path(), e))
        assert words in message
        assert "not a valid" not in message and "tutor reset" not in message


def test_a_locked_store_is_reported_as_locked_never_as_damaged():
    with Store():
        pass
    holder = sqlite3.connect(db_path(), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        e = _real_error("", "BEGIN IMMEDIATE")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    message = str(store_error(db_path(), e))
    assert "locked by another tutor process" in message
    assert "not a valid" not in message and "tutor reset" not in message


def test_stats_on_a_store_opened_read_only_changes_nothing(tmp_path):
    _store_with_reviews(3)
    before = db_path().read_bytes()
    result = CliRunner().invoke(app, ["stats", "--json"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["total_reviews"] == 3
    assert db_path().read_bytes() == before


def test_tutor_home_that_is_a_file_gives_one_line(tmp_path, monkeypatch):
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    monkeypatch.setenv("TUTOR_HOME", str(not_a_dir))
    bank = recall_bank(tmp_path / "bank", 1)
    result = CliRunner().invoke(app, ["--bank", str(bank), "quiz", "-t", "q-many"],
                                input="x\n3\n")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == f"error: {not_a_dir} is not a directory; set " \
                                             "TUTOR_HOME to a directory (or unset it)"


def test_reset_of_a_directory_named_like_the_store_is_refused():
    db_path().mkdir(parents=True)
    result = CliRunner().invoke(app, ["reset", "--yes"])
    assert result.exit_code == 1
    assert "is a directory, not a progress store" in result.stderr
    assert db_path().is_dir()


# --- answers of any bytes (D4) --------------------------------------------------------------

def test_an_answer_with_undecodable_bytes_is_stored():
    typed = b"caf\xe9 \xff".decode("utf-8", "surrogateescape")
    with Store() as store:
        store.record_review(Review("t/a", "t", "recall", 3, typed, None, None, 5, NOW), None,
                            None)
        store.record_review(Review("t/b", "t", "recall", 3, "\ud800 lone", None,
                                   {"x": "\udcff"}, 5, NOW), None, None)
        assert store.db.execute("SELECT answer, vals FROM reviews ORDER BY id").fetchall() == [
            ("caf\\xe9 \\xff", None), ("\\ud800 lone", '{"x": "\\udcff"}')]


def test_a_scripted_answer_with_a_latin1_byte_is_saved(tmp_path):
    bank = recall_bank(tmp_path / "bank", 2)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TUTOR_NOW": NOW.isoformat(),
           "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
    result = subprocess.run([sys.executable, "-m", "tutor", "--bank", str(bank), "quiz",
                             "--json", "-t", "q-many"], input=b"caf\xe9\n3\nsecond\n3\n",
                            cwd=ROOT, env=env, capture_output=True, timeout=120)
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    db = sqlite3.connect(db_path())
    answers = [a for (a,) in db.execute("SELECT answer FROM reviews ORDER BY id")]
    db.close()
    assert len(answers) == 2 and answers[0].startswith("caf") and answers[1] == "second"


# --- reset while a session runs (D5) --------------------------------------------------------

def test_reset_refuses_while_a_store_is_open_and_works_after():
    with Store() as store:
        store.start_session(NOW, "review")
        result = CliRunner().invoke(app, ["reset", "--yes"])
        assert result.exit_code == 1
        assert "is using" in result.stderr and "nothing was changed" in result.stderr
        assert db_path().exists() and not list(home().glob("*.bak.db"))
        store.start_session(NOW, "review")  # the session carries on, into the real file
    result = CliRunner().invoke(app, ["reset", "--yes"])
    assert result.exit_code == 0, result.stderr
    (backup,) = home().glob("progress.*.bak.db")
    kept = sqlite3.connect(backup)
    assert kept.execute("SELECT count(*) FROM sessions").fetchone()[0] == 2
    kept.close()


def test_reset_during_a_running_quiz_loses_no_acknowledged_review(tmp_path):
    bank = recall_bank(tmp_path / "bank", 4)
    proc = _quiz_process(bank, "-t", "q-many", "--seed", "1")
    try:
        proc.stdin.write("a\n3\n")
        proc.stdin.flush()
        acks = [proc.stdout.readline()]
        result = CliRunner().invoke(app, ["reset", "--yes"])
        assert result.exit_code == 1 and "is using" in result.stderr
        out, err = proc.communicate("b\n3\nc\n3\nq\n", timeout=60)
    finally:
        proc.kill()
    acks += [line for line in out.splitlines() if '"rating"' in line]
    assert proc.returncode == 0, err
    db = sqlite3.connect(db_path())
    assert db.execute("SELECT count(*) FROM reviews").fetchone()[0] == len(acks) == 3
    db.close()


def test_reset_that_cannot_write_its_backup_changes_nothing(monkeypatch):
    import errno
    import shutil

    with Store() as store:
        store.start_session(NOW, "review")
    before = db_path().read_bytes()

    def full(*_args, **_kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(shutil, "copy2", full)
    result = CliRunner().invoke(app, ["reset", "--yes"])
    assert result.exit_code == 1
    assert "cannot write the backup" in result.stderr and "nothing was changed" in result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    assert db_path().read_bytes() == before and not list(home().glob("*.bak.db"))
