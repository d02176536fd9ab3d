"""What every card kind shares: the common question fields, and what grading returns.

A kind module (recall.py, choice.py, ...) holds everything about one kind of
card: its schema model, how a card is presented (values drawn, options shuffled),
how an answer is graded, the feedback shown, its forms in `tutor show`, Markdown
and Anki, and the questions `tutor new` asks for it. This module holds the parts
they have in common, and the two ways a card is asked in a session: graded
automatically (choice, numeric, order) or rated by the user with the grader's
suggestion (recall, keypoints).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from tutor.scheduling import Grade

ID_PATTERN = r"^[a-z0-9]+(?:[-_][a-z0-9]+)*/[a-z0-9]+(?:[-_.][a-z0-9]+)*$"
TOPIC_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"

Scalar = int | float | str


class Strict(BaseModel):
    # YAML reads `accept: [2048]` as a number; text fields take it as the text it was
    # defer_build: a model's validator is built on first use, so a cached bank loads fast
    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True,
                              defer_build=True)

    @model_validator(mode="before")
    @classmethod
    def _visible(cls, data: Any) -> Any:
        """A shared bank is untrusted: its control characters are made visible here, once,
        so no escape sequence from a question file ever reaches a terminal or a log."""
        return _made_visible(data)


def _made_visible(value: Any) -> Any:
    from tutor.format import visible

    if isinstance(value, str):
        return visible(value)
    if isinstance(value, dict):
        return {_made_visible(k): _made_visible(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_made_visible(v) for v in value]
    return value


class DemoRef(Strict):
    """The live demo that backs an answer, with the arguments that show its point."""

    name: str = Field(description="A demo name from `tutor demo`.")
    args: dict[str, Any] = Field(default_factory=dict,
                                 description="Demo options, by option name (e.g. d_k). A value "
                                             "'{name}' takes a numeric card's drawn value.")


class Reject(Strict):
    """A wrong claim: an answer that states it is flagged with the correction."""

    claim: str = Field(description="The wrong claim, as shown to the user when it is flagged.")
    match: list[str] = Field(default_factory=list,
                             description="Phrasings that state the claim (the claim itself "
                                         "counts too); '(a|b)' lists alternatives.")
    correction: str | None = Field(default=None, description="What is true instead.")

    @property
    def phrasings(self) -> list[str]:
        return [self.claim, *self.match]


class KeyPoint(Strict):
    """A key point: a claim, with the phrasings that state it and the errors it corrects."""

    point: str = Field(description="The key point as shown to the user.")
    accept: list[str] = Field(
        default_factory=list,
        description="Phrasings that state the claim (word order, inflections, common synonyms "
                    "and negation are handled; '(a|b c)' lists alternatives). Name the claim, "
                    "not just its subject.")
    rejects: list[Reject] = Field(default_factory=list,
                                  description="Wrong claims about this point; an answer that "
                                              "states one does not cover the point.")

    @property
    def phrasings(self) -> list[str]:
        return [self.point, *self.accept]


class QuestionBase(Strict):
    id: str = Field(pattern=ID_PATTERN,
                    description="Stable id, `topic/slug`. Progress is keyed by it.")
    prompt: str = Field(min_length=1)
    answer: str = Field(min_length=1, description="The model answer: the core first, "
                                                  "then the detail.")
    key_points: list[str | KeyPoint] = Field(default_factory=list)
    rejects: list[Reject] = Field(default_factory=list,
                                  description="Wrong claims an answer may state; each is flagged "
                                              "with its correction.")
    hint: str | None = None
    misconception: str | None = Field(default=None, description="A common wrong belief, "
                                      "and why it is wrong.")
    difficulty: int = Field(default=2, ge=1, le=3)
    tags: list[str] = Field(default_factory=list)
    references: list[str] = Field(default_factory=list)
    asked_in: list[str] = Field(default_factory=list,
                                description="Keys of the sources that ask this question.")
    demo: DemoRef | None = None

    _topic: str = PrivateAttr(default="")
    _origin: tuple[str, int] = PrivateAttr(default=("", 0))

    @property
    def topic(self) -> str:
        return self._topic

    @property
    def origin(self) -> tuple[str, int]:
        """(path, line) where the question is defined."""
        return self._origin

    @property
    def points(self) -> list[KeyPoint]:
        return [KeyPoint(point=p) if isinstance(p, str) else p for p in self.key_points]

    def summary(self) -> dict[str, Any]:
        """The stable short JSON form used by `tutor list --json`."""
        return {
            "id": self.id, "topic": self.topic, "kind": self.kind, "prompt": self.prompt,
            "difficulty": self.difficulty, "tags": list(self.tags),
            "demo": self.demo.model_dump() if self.demo else None,
            "asked_in": list(self.asked_in),
        }

    def full(self) -> dict[str, Any]:
        """Every field, as `tutor show --json` prints it."""
        data = self.model_dump(mode="json")
        data["topic"] = self.topic
        data["source"] = {"path": self.origin[0], "line": self.origin[1]}
        return data


# --- a card as shown, and an answer as graded ------------------------------------------------

Line = tuple[str, str]   # (style, text): styles are ok, bad, flag, dim, bold, plain


@dataclass
class Presentation:
    """One showing of a card: the prompt with its drawn values, options or steps in the order
    shown, and what the answer line should look like."""

    prompt: str
    lines: list[str] = field(default_factory=list)   # options or steps, numbered as shown
    how: str = ""                                    # how to answer, one line
    input_prompt: str = "answer > "
    values: dict[str, Any] | None = None             # numeric: the drawn values
    fields: dict[str, Any] | None = None             # template fields (values + fixed args)
    order: list[int] | None = None                   # choice/order: shown position -> index
    data: dict[str, Any] = field(default_factory=dict)  # the kind's own (e.g. the true value)


@dataclass
class Graded:
    """What grading one answer gives. `correct` is None where the user is the judge."""

    correct: bool | None
    score: float | None                 # 0-1: share of points covered, or 1/0
    verdict: str                        # one line: "Right.", "Not quite: ..."
    notes: list[Line] = field(default_factory=list)    # what was right, missed, diagnosed
    covered: list[str] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)
    flags: list[dict[str, str]] = field(default_factory=list)  # {claim, correction}
    suggested: Grade | None = None      # the rating the grader suggests
    expected: Any = None
    extra: dict[str, Any] = field(default_factory=dict)   # kind-specific JSON fields

    def as_json(self, q, pres: Presentation) -> dict[str, Any]:
        data = {"id": q.id, "kind": q.kind, "correct": self.correct,
                "score": None if self.score is None else round(self.score, 4),
                "covered": self.covered, "missed": self.missed, "flags": self.flags,
                "rating": self.suggested.name if self.suggested else None,
                "expected": self.expected, "verdict": self.verdict}
        if pres.values is not None:
            data["values"] = pres.values
        data.update(self.extra)
        return data


def rating_for_coverage(score: float, flagged: bool) -> Grade:
    """The suggested rating of a free-text answer: it follows coverage, and a stated
    misconception keeps it below Good."""
    if flagged:
        return Grade.hard if score >= 0.6 else Grade.again
    if score >= 0.6:
        return Grade.good
    if score >= 1 / 3:
        return Grade.hard
    return Grade.again


def grade_free_text(q, answer: str) -> Graded:
    """Key points and rejects of a question against a free-text answer."""
    from tutor.grading.text import match_keypoints

    points = q.points
    result = match_keypoints(answer, points, q.rejects)
    flags = [{"claim": f.claim, "correction": f.correction} for f in result.flags]
    notes: list[Line] = []
    for f in result.flags:
        notes.append(("flag", f"✗ misconception: {f.claim}"))
        notes.append(("dim", f"    {f.correction}"))
    for p in result.covered:
        notes.append(("ok", f"✓ covered  {p}"))
    for p in result.missed:
        notes.append(("bad", f"✗ missed   {p}"))
    score = result.score if points else None
    if not answer.strip():
        verdict = "No answer typed: compare with the model answer."
    elif score is None:
        verdict = "Compare with the model answer."
    else:
        verdict = f"Covered {len(result.covered)} of {len(points)} key points" + (
            f"; {len(flags)} misconception{'s' if len(flags) > 1 else ''} spotted." if flags
            else ".")
    suggested = (rating_for_coverage(score, bool(flags)) if score is not None and answer.strip()
                 else Grade.again if flags else None)
    return Graded(None, score, verdict, notes, result.covered, result.missed, flags, suggested)


def shuffled(n: int, rng: random.Random, *, avoid_identity: bool) -> list[int]:
    order = list(range(n))
    rng.shuffle(order)
    while avoid_identity and n > 1 and order == sorted(order):
        rng.shuffle(order)
    return order
