"""Keypoints cards: a free-text answer checked against claims, then rated by the user.

Each key point is a claim with phrasings that state it, and may list `rejects`:
wrong claims that are flagged with their correction. After the reveal the points
are shown as a checklist with the grader's guess; the user can toggle them, and
the suggested rating follows the coverage.
"""

from __future__ import annotations

import random
from typing import Any, Literal

from pydantic import Field

from tutor.kinds.base import (
    Graded,
    KeyPoint,
    Line,
    Presentation,
    QuestionBase,
    grade_free_text,
)

NAME = "keypoints"
SUMMARY = "A free-text answer checked against key points and known wrong claims, then rated."
SELF_RATED = True
FAST_MS = None


class KeypointsQuestion(QuestionBase):
    """A free-text answer checked against `key_points`, then self-rated."""

    kind: Literal["keypoints"]
    key_points: list[str | KeyPoint] = Field(min_length=1)


Model = KeypointsQuestion


def present(q: KeypointsQuestion, rng: random.Random,
            fixed: dict[str, Any] | None = None) -> Presentation:
    return Presentation(q.prompt, [], "Type your answer; it is checked against the key points, "
                        "then you rate yourself.", "answer > ")


def grade(q: KeypointsQuestion, pres: Presentation, text: str) -> Graded:
    return grade_free_text(q, text)


REVEAL = "full"


def detail(q: KeypointsQuestion) -> list[Line]:
    return []


def markdown(q: KeypointsQuestion) -> list[str]:
    return []


ANKI_NOTE_TYPE = "basic"
ANKI_FIELDS = ("Id", "Question", "Answer", "KeyPoints", "Misconception", "Demo", "Sources")
ANKI_FRONT = "{{Question}}"
ANKI_BACK = ("{{FrontSide}}<hr id=answer>{{Answer}}<br>{{KeyPoints}}<div class=mis>"
             "{{Misconception}}</div><div class=figure>{{Demo}}</div><small>{{Sources}}</small>")


def anki(q: QuestionBase, html) -> dict[str, str]:
    return {"Question": html(q.prompt), "Answer": html(q.answer),
            "KeyPoints": "<br>".join(f"• {html(kp.point)}" for kp in q.points),
            "Misconception": html(q.misconception or ""),
            "Sources": html(", ".join(q.asked_in))}


def wizard(ask, say, *, required: bool = True) -> dict[str, Any]:
    points = []
    label = ("Key point (a claim), then | and phrasings that state it (blank line ends)"
             if required else "Key point (optional; blank line ends)")
    while True:
        line = ask(label, default="")
        if not line:
            break
        point, *accept = [p.strip() for p in line.split("|")]
        points.append({"point": point, "accept": accept} if accept else point)
    return {"key_points": points} if points else {}


def checks(q: QuestionBase) -> list[tuple[tuple, str]]:
    return []
