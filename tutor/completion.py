"""Shell completion for topics, demo names and question ids.

Completion runs on every key press, so it scans the YAML files for `topic:` and
`id:` lines with a regular expression instead of loading and validating the bank.
"""

from __future__ import annotations

import re
from pathlib import Path

_TOPIC = re.compile(r"^topic:\s*['\"]?([a-z0-9-]+)", re.M)
_ID = re.compile(r"^\s*-?\s*id:\s*['\"]?([a-z0-9_./-]+)", re.M)


def _files() -> list[Path]:
    from tutor.bank.core import question_files
    from tutor.paths import builtin_questions_dir, user_bank_dirs

    out: list[Path] = []
    for root in [builtin_questions_dir(), *user_bank_dirs()]:
        if root.exists():
            out += question_files(root)
    return out


def _scan(pattern: re.Pattern[str]) -> list[str]:
    found: set[str] = set()
    for path in _files():
        try:
            found.update(pattern.findall(path.read_text(encoding="utf-8", errors="replace")))
        except OSError:
            continue
    return sorted(found)


def topics(incomplete: str) -> list[str]:
    return [t for t in _scan(_TOPIC) if t.startswith(incomplete)]


def question_ids(incomplete: str) -> list[str]:
    return [i for i in _scan(_ID) if i.startswith(incomplete)]


def demo_names(incomplete: str) -> list[str]:
    from tutor.demos.registry import DEMOS

    names = sorted(set(DEMOS) | {a for d in DEMOS.values() for a in d.aliases})
    return [n for n in names if n.startswith(incomplete)]
