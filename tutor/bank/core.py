"""The bank's plain data: problems, topics, and the Bank with its filters (no pydantic)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tutor.kinds import KINDS  # noqa: E402, F401  (found from the kind modules)


@dataclass(frozen=True, order=True)
class Problem:
    path: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}: {self.message}"


@dataclass(frozen=True)
class Topic:
    name: str
    title: str
    description: str | None
    aliases: tuple[str, ...]
    files: tuple[str, ...]


@dataclass
class Bank:
    questions: dict[str, Any] = field(default_factory=dict)
    topics: dict[str, Topic] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)

    def select(self, topics=(), tags=(), kinds=(), sources=()) -> list[Any]:
        """Questions matching every given filter (each filter matches any of its values)."""
        wanted_topics = {self.resolve_topic(t) for t in topics}
        out = []
        for q in self.questions.values():
            if wanted_topics and q.topic not in wanted_topics:
                continue
            if tags and not set(tags) & set(q.tags):
                continue
            if kinds and q.kind not in kinds:
                continue
            if sources and not any(_source_matches(s, q.asked_in) for s in sources):
                continue
            out.append(q)
        return out

    def resolve_topic(self, name: str) -> str:
        """A topic name or alias -> the topic name; the name itself when unknown."""
        if name in self.topics:
            return name
        for topic in self.topics.values():
            if name in topic.aliases:
                return topic.name
        return name


def _source_matches(wanted: str, asked_in: list[str]) -> bool:
    # `--source topicwise` matches every question of that source; `topicwise/q06` one key
    return any(key == wanted or key.startswith(wanted.rstrip("/") + "/") for key in asked_in)


SUFFIXES = (".yaml", ".yml")  # in any case: Q.YAML is a question file too
MAX_ENTRIES = 20_000          # directory entries one bank root may hold
MAX_DIR_DEPTH = 16


def question_files(root: Path) -> list[Path]:
    """YAML files in a directory (recursively, sorted), or the file itself."""
    return scan(root)[0]


def scan(root: Path) -> tuple[list[Path], list[Problem]]:
    """The question files under `root` (sorted), and what was skipped and why.

    Hidden entries (a leading `.`: `.git`, editor and `tutor new` temporary files) are
    left out. Symbolic links are followed, each directory once. An unreadable directory,
    a `.yaml` entry that is not a regular file, and a tree of more than MAX_ENTRIES
    entries (`TUTOR_BANK=/`) are reported instead of being skipped without a word.
    """
    if not root.is_dir():
        return [root], []
    files: list[Path] = []
    problems: list[Problem] = []
    seen: set[tuple[int, int]] = set()
    pending = [(root, 0)]
    entries = 0
    while pending:
        folder, depth = pending.pop()
        try:
            st = folder.stat()
            if (st.st_dev, st.st_ino) in seen:
                continue  # a symbolic link back into the tree
            seen.add((st.st_dev, st.st_ino))
            with os.scandir(folder) as it:
                children = sorted(it, key=lambda e: e.name)
        except OSError as e:
            problems.append(Problem(str(folder), 0, 0, f"cannot read this directory "
                                    f"({e.strerror or e}); the questions in it are skipped"))
            continue
        for entry in children:
            entries += 1
            if entries > MAX_ENTRIES:
                problems.append(Problem(str(root), 0, 0, f"more than {MAX_ENTRIES:,} entries "
                                        "under this directory, the rest are skipped; point "
                                        "--bank or TUTOR_BANK at the folder of question files"))
                return sorted(files), problems
            if entry.name.startswith("."):
                continue
            path = Path(entry.path)
            try:
                is_dir = entry.is_dir()
                is_file = not is_dir and entry.is_file()
            except OSError:
                is_dir = is_file = False
            if is_dir:
                if depth + 1 > MAX_DIR_DEPTH:
                    problems.append(Problem(str(path), 0, 0, f"more than {MAX_DIR_DEPTH} "
                                            "directory levels deep; skipped"))
                else:
                    pending.append((path, depth + 1))
            elif path.suffix.lower() in SUFFIXES:
                if is_file:
                    files.append(path)
                else:
                    problems.append(Problem(str(path), 1, 1, "not a regular file (a FIFO, "
                                            "socket, device or broken link); skipped"))
    return sorted(files), problems


