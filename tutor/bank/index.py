"""A cached index of the bank (each question's summary) for commands that need no more.

`tutor list` and `tutor stats` only need each question's id, topic, kind, prompt
and tags. Loading
and validating every YAML file costs far more than the store queries, so the
index is cached as JSON in TUTOR_HOME/cache, keyed by every question file's path,
size, inode, modification time and change time (and the code's version). Any change
to a file (even one that keeps its size and has its modification time set back: the
change time cannot be set), or a new or removed file, rebuilds it with a full load.
A cache file that is damaged or not an index is a miss, never an error.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from tutor.bank.core import Bank, Problem, Topic, question_files

CACHE_NAME = "bank-index-v3.json"


@dataclass(frozen=True)
class QuestionStub:
    """A question's `summary()` (what `tutor list` shows), without the model behind it."""

    id: str
    topic: str
    kind: str
    prompt: str
    difficulty: int
    tags: tuple[str, ...]
    demo: dict | None
    asked_in: tuple[str, ...]

    def summary(self) -> dict:
        data = asdict(self)
        data["tags"], data["asked_in"] = list(self.tags), list(self.asked_in)
        return data


def _roots(extra_dirs: list[Path] | None) -> list[Path]:
    from tutor.paths import builtin_questions_dir, user_bank_dirs

    return [builtin_questions_dir(), *user_bank_dirs(extra_dirs)]


def _key(roots: list[Path]) -> list:
    from tutor import __version__

    code = Path(__file__).resolve().parent
    files = [code / "schema.py", code / "loader.py", code / "yamlsafe.py", code / "cache.py",
             *sorted((code.parent / "kinds").glob("*.py")),
             *sorted((code.parent / "demos").glob("*.py")),
             *sorted((code.parent / "formulas").glob("*.py"))]
    for root in roots:
        if root.exists():
            files += question_files(root)
        else:
            files.append(root)
    key: list = [__version__]
    for path in files:
        try:
            st = path.stat()
            key.append([str(path), st.st_size, st.st_ino, st.st_mtime_ns, st.st_ctime_ns])
        except OSError:
            key.append([str(path), None, None, None, None])
    return key


def load_index(extra_dirs: list[Path] | None = None) -> Bank:
    """A Bank whose questions are `QuestionStub`s: from the cache when it is fresh."""
    from tutor.paths import tutor_home

    roots = _roots(extra_dirs)
    key = _key(roots)
    cache = tutor_home() / "cache" / CACHE_NAME
    try:
        data = json.loads(cache.read_text(encoding="utf-8"))
        if isinstance(data, dict) and data.get("key") == key:
            return _from_json(data)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        pass  # missing, damaged or from another version: rebuild it
    from tutor.bank.loader import load_bank

    bank = load_bank(extra_dirs)
    data = _to_json(bank, key)
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data), encoding="utf-8")
        os.replace(tmp, cache)
    except OSError:
        pass  # a read-only home only costs speed
    return _from_json(data)


def _to_json(bank: Bank, key: list) -> dict:
    return {
        "key": key,
        "topics": [asdict(t) for t in bank.topics.values()],
        "questions": [q.summary() for q in bank.questions.values()],
        "problems": [asdict(p) for p in bank.problems],
    }


def _from_json(data: dict) -> Bank:
    bank = Bank()
    for t in data["topics"]:
        bank.topics[t["name"]] = Topic(t["name"], t["title"], t["description"],
                                       tuple(t["aliases"]), tuple(t["files"]))
    for q in data["questions"]:
        bank.questions[q["id"]] = QuestionStub(**{**q, "tags": tuple(q["tags"]),
                                                  "asked_in": tuple(q["asked_in"])})
    bank.problems = [Problem(**p) for p in data["problems"]]
    return bank
