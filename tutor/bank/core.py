"""The bank's plain data: problems, topics, and the Bank with its filters (no pydantic)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

KINDS = ("recall", "choice", "numeric", "keypoints", "order")


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


def question_files(root: Path) -> list[Path]:
    """YAML files in a directory (recursively, sorted), or the file itself."""
    if root.is_file():
        return [root]
    return sorted(p for p in root.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())


