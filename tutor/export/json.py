"""The bank as question files, one per topic, valid against `tutor schema`."""

from __future__ import annotations

import json
from typing import Any

SUFFIX = ".json"


def to_json(bank, questions: list) -> dict[str, Any]:
    files = []
    for topic in sorted({q.topic for q in questions}):
        info = bank.topics[topic]
        qs = [q.model_dump(mode="json", exclude_defaults=True) for q in questions
              if q.topic == topic]
        entry: dict[str, Any] = {"topic": topic, "title": info.title}
        if info.description:
            entry["description"] = info.description
        if info.aliases:
            entry["aliases"] = list(info.aliases)
        entry["questions"] = qs
        files.append(entry)
    return {"files": files}


def write(bank, questions: list) -> str:
    return json.dumps(to_json(bank, questions), indent=2, ensure_ascii=False) + "\n"
