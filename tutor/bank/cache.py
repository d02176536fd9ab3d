"""The validated bank, cached: what `tutor quiz` needs to reach its first card quickly.

Parsing and validating every YAML file takes most of a quiz's start-up. The loaded
bank (its pydantic models, topics and problems) is pickled in TUTOR_HOME/cache,
keyed like the index (every question file's path, size, inode, mtime and ctime, the
code that parses and validates them, and the version). The models defer building
their validators (`defer_build`), so unpickling needs neither YAML nor a schema
build. The cache is written 0600 into the user's own home and read only when its key
matches; a damaged or foreign file is a miss, never an error.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
from pathlib import Path

from tutor.bank.core import Bank
from tutor.bank.index import _key, _roots

CACHE_VERSION = 1


def _cache_path(key: list) -> Path:
    from tutor.paths import tutor_home

    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:24]
    return tutor_home() / "cache" / f"bank-{CACHE_VERSION}-{digest}.pickle"


def load_bank_cached(extra_dirs: list[Path] | None = None) -> Bank:
    """`load_bank(extra_dirs)`, from the cache when every file is unchanged."""
    key = _key(_roots(extra_dirs))
    path = _cache_path(key)
    try:
        with open(path, "rb") as f:
            stored_key, bank = pickle.load(f)
        if stored_key == key and isinstance(bank, Bank):
            return bank
    except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError,
            TypeError, ValueError, IndexError, KeyError):
        pass  # missing, damaged or from other code: load afresh
    from tutor.bank.loader import load_bank

    bank = load_bank(extra_dirs)
    _store(path, key, bank)
    return bank


def _store(path: Path, key: list, bank: Bank) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        for old in path.parent.glob(f"bank-{CACHE_VERSION}-*.pickle"):
            if old != path:
                old.unlink(missing_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            pickle.dump((key, bank), f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except (OSError, pickle.PicklingError, TypeError, AttributeError):
        pass  # a read-only home, or a model that cannot be pickled, only costs speed
