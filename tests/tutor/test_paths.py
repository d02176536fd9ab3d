"""The default data directory: `transformer-tutor`, and the one-time move from `tutor`."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tutor.paths import tutor_home
from tutor.store import Store


@pytest.fixture
def data_home(tmp_path, monkeypatch) -> Path:
    monkeypatch.delenv("TUTOR_HOME", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    return tmp_path / "share"


def test_default_is_transformer_tutor_and_tutor_home_overrides(data_home, monkeypatch, tmp_path):
    assert tutor_home() == data_home / "transformer-tutor"
    monkeypatch.setenv("TUTOR_HOME", str(tmp_path / "mine"))
    assert tutor_home() == tmp_path / "mine"


def test_our_store_moves_once_from_the_old_directory(data_home, capsys):
    old = data_home / "tutor"
    with Store(old / "progress.db") as store:
        store.start_session(__import__("datetime").datetime(2025, 1, 1), "review")
    (old / "settings.toml").write_text("new_per_day = 3\n")
    (old / "questions").mkdir()
    (old / "questions" / "mine.yaml").write_text("topic: mine\n")
    (old / "progress.20250101T000000Z.bak.db").write_bytes(b"backup")
    (old / "config.yml").write_text("open edx: yes\n")  # another program's file stays
    home = tutor_home()
    new = data_home / "transformer-tutor"
    assert home == new
    assert sorted(p.name for p in new.iterdir() if not p.name.endswith(("-wal", "-shm"))) == [
        "progress.20250101T000000Z.bak.db", "progress.db", "questions", "settings.toml"]
    assert (new / "questions" / "mine.yaml").read_text() == "topic: mine\n"
    assert sorted(p.name for p in old.iterdir()) == ["config.yml"]
    db = sqlite3.connect(new / "progress.db")
    assert db.execute("SELECT count(*) FROM sessions").fetchone()[0] == 1
    db.close()
    err = capsys.readouterr().err
    assert err == f"note: moved your tutor progress from {old} to {new} " \
                  "(the data directory is now named transformer-tutor)\n"
    assert tutor_home() == new and capsys.readouterr().err == ""  # once


def test_an_old_directory_that_is_not_ours_is_left_alone(data_home, capsys):
    old = data_home / "tutor"
    old.mkdir(parents=True)
    db = sqlite3.connect(old / "progress.db")  # some other program's progress.db
    db.execute("CREATE TABLE courses (name TEXT)")
    db.commit()
    db.close()
    before = (old / "progress.db").read_bytes()
    (old / "settings.toml").write_text("theirs\n")
    assert tutor_home() == data_home / "transformer-tutor"
    assert (old / "progress.db").read_bytes() == before
    assert (old / "settings.toml").read_text() == "theirs\n"
    assert not (data_home / "transformer-tutor").exists()
    assert capsys.readouterr().err == ""


def test_a_store_in_use_in_the_old_directory_is_not_moved(data_home):
    old = data_home / "tutor"
    with Store(old / "progress.db"):
        assert tutor_home() == data_home / "transformer-tutor"
        assert (old / "progress.db").exists()
    tutor_home()
    assert not (old / "progress.db").exists()


def test_a_bank_under_an_unknown_users_home_is_reported_not_a_crash(monkeypatch):
    from tutor.bank import load_bank

    monkeypatch.setenv("TUTOR_BANK", "~nosuchuser-tutor/q")
    bank = load_bank()
    assert [p.message for p in bank.problems if p.path == "~nosuchuser-tutor/q"] == [
        "bank directory does not exist; check --bank and TUTOR_BANK"]
    assert bank.questions  # the built-in bank still loads
