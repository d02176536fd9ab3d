"""Recall cards: answer in your head or in words, reveal the model answer, rate yourself.

When the answer was typed and the question has key points, they are shown as a
checklist with the grader's guess, as on a keypoints card.
"""

from __future__ import annotations

import random
from typing import Any, Literal

from tutor.kinds import keypoints
from tutor.kinds.base import Graded, Line, Presentation, QuestionBase, grade_free_text

NAME = "recall"
SUMMARY = "Answer in your head or in words, reveal the model answer, rate yourself 1-4."
SELF_RATED = True
FAST_MS = None


class RecallQuestion(QuestionBase):
    """Answer in your head or in words, reveal the model answer, rate yourself 1-4."""

    kind: Literal["recall"]


Model = RecallQuestion


def present(q: RecallQuestion, rng: random.Random,
            fixed: dict[str, Any] | None = None) -> Presentation:
    return Presentation(q.prompt, [], "Think or type your answer; Enter reveals the model "
                        "answer.", "answer > ")


def grade(q: RecallQuestion, pres: Presentation, text: str) -> Graded:
    graded = grade_free_text(q, text)
    if not text.strip():
        graded.verdict = "Compare with the model answer."
        graded.notes = []
        graded.covered, graded.missed, graded.score = [], [p.point for p in q.points], None
    return graded


REVEAL = "full"


def detail(q: RecallQuestion) -> list[Line]:
    return []


def markdown(q: RecallQuestion) -> list[str]:
    return []


ANKI_FIELDS = keypoints.ANKI_FIELDS
ANKI_FRONT = keypoints.ANKI_FRONT
ANKI_BACK = keypoints.ANKI_BACK
ANKI_NOTE_TYPE = "basic"   # the same note type as keypoints cards
anki = keypoints.anki


def wizard(ask, say) -> dict[str, Any]:
    return keypoints.wizard(ask, say, required=False)


def checks(q: RecallQuestion) -> list[tuple[tuple, str]]:
    return []
