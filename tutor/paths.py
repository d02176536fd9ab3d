"""Where things live: one function each, with an environment variable override."""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "tutor"


def tutor_home() -> Path:
    """The data directory: $TUTOR_HOME, else the platform's user data directory."""
    env = os.environ.get("TUTOR_HOME")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_data_path

    return user_data_path(APP_NAME, appauthor=False)


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
    dirs = [Path(d).expanduser() for d in (cli_dirs or [])]
    env = os.environ.get("TUTOR_BANK", "")
    dirs += [Path(p).expanduser() for p in env.split(os.pathsep) if p.strip()]
    own = default_user_bank()
    if own.is_dir() and own not in dirs:
        dirs.append(own)  # where `tutor new` writes
    return dirs


def default_user_bank() -> Path:
    """Where `tutor new` writes when no --file is given."""
    return tutor_home() / "questions"
