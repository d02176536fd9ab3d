"""Where things live: one function each, with an environment variable override."""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

APP_NAME = "transformer-tutor"
# The data directory of releases up to 0.1, which is also Open edX Tutor's: a store
# found there is moved once (see `_move_old_store`).
OLD_APP_NAME = "tutor"
# What tutor itself keeps in its data directory; nothing else is ever moved.
_OURS = ("progress.db", "progress.db-wal", "progress.db-shm", "settings.toml", "questions")


def tutor_home() -> Path:
    """The data directory: $TUTOR_HOME, else the platform's user data directory
    (`~/.local/share/transformer-tutor` on Linux)."""
    env = os.environ.get("TUTOR_HOME")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_data_path

    home = user_data_path(APP_NAME, appauthor=False)
    _move_old_store(user_data_path(OLD_APP_NAME, appauthor=False), home)
    return home


def _move_old_store(old: Path, new: Path) -> None:
    """Move a progress store (with its settings, questions and backups) from the old
    default directory to the new one, once, with a notice on stderr.

    Only when `old` holds a store that is tutor's own (checked by its application id or
    its tables) and `new` holds none yet; anything else in `old` is left where it is.
    """
    if (new / "progress.db").exists() or not (old / "progress.db").is_file():
        return
    from tutor.store.db import exclusive_lock, is_tutor_store

    if not is_tutor_store(old / "progress.db"):
        return
    with exclusive_lock(old / "progress.db", wait_s=0) as free:
        if not free:
            return  # a session is using it there: try again next time
        try:
            new.mkdir(parents=True, exist_ok=True)
        except OSError:
            return
        names = [*_OURS, *sorted(p.name for p in old.glob("progress.*.bak.db*"))]
        moved = []
        for name in names:
            src, dst = old / name, new / name
            if (src.exists() or src.is_symlink()) and not dst.exists():
                try:
                    os.rename(src, dst)
                    moved.append(name)
                except OSError:
                    continue  # another process moved it first, or another filesystem
    if "progress.db" not in moved:
        return
    (old / "progress.lock").unlink(missing_ok=True)  # the store it guarded has moved
    for stale in old.glob("cache/bank-index-*.json"):  # rebuilt on demand
        stale.unlink(missing_ok=True)
    for leftover in (old / "cache", old):
        with contextlib.suppress(OSError):  # not empty: it holds something not ours
            leftover.rmdir()
    sys.stderr.write(f"note: moved your tutor progress from {old} to {new} "
                     f"(the data directory is now named {APP_NAME})\n")


def builtin_questions_dir() -> Path:
    """The built-in bank: packaged inside the wheel, or `questions/` in a source checkout."""
    here = Path(__file__).resolve().parent
    packaged = here / "_builtin_questions"
    if packaged.is_dir():
        return packaged
    return here.parent / "questions"


def user_bank_dirs(cli_dirs: list[Path] | None = None) -> list[Path]:
    """Extra bank directories: every --bank DIR, every entry of $TUTOR_BANK, then
    TUTOR_HOME/questions (where `tutor new` writes) when it exists."""
    dirs = [_expand(Path(d)) for d in (cli_dirs or [])]
    env = os.environ.get("TUTOR_BANK", "")
    dirs += [_expand(Path(p)) for p in env.split(os.pathsep) if p.strip()]
    own = default_user_bank()
    if own.is_dir() and own not in dirs:
        dirs.append(own)  # where `tutor new` writes
    return dirs


def _expand(path: Path) -> Path:
    """~ and ~user expanded; a ~user that does not exist stays as written (and is then
    reported as a bank directory that does not exist)."""
    try:
        return path.expanduser()
    except RuntimeError:
        return path


def default_user_bank() -> Path:
    """Where `tutor new` writes when no --file is given."""
    return tutor_home() / "questions"
