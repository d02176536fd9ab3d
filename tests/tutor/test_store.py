"""The progress store: migrations, damage, newer versions, reset, SIGKILL and two writers."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.tutor.test_quiz import NOW, quiz, recall_bank
from tutor.cli import app
from tutor.errors import StoreError
from tutor.store import MIGRATIONS, SCHEMA_VERSION, Review, Store, db_path

ROOT = Path(__file__).resolve().parents[2]


def home() -> Path:
    return Path(os.environ["TUTOR_HOME"])


def test_fresh_store_is_migrated_and_in_wal_mode():
    with Store() as store:
        assert store.db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
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
        assert result.stderr.startswith("error: ")
        assert "tutor reset" in result.stderr and "Traceback" not in result.stderr
    assert db_path().read_bytes() == garbage
    # nothing beside the store was written but the bank-index cache
    assert sorted(p.name for p in home().iterdir() if p.name != "cache") == ["progress.db"]


def test_store_from_a_newer_version_is_refused_and_untouched():
    home().mkdir(parents=True)
    db = sqlite3.connect(db_path())
    db.execute("CREATE TABLE future (x)")
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
