"""The question-file schema, declared once: it validates YAML and is exported as JSON Schema.

A question file is a mapping with `topic`, `title` and `questions`. Each question
has a `kind`, and each kind adds its own fields (see the classes below and
docs/authoring.md).
"""

from __future__ import annotations

import string
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

ID_PATTERN = r"^[a-z0-9]+(?:[-_][a-z0-9]+)*/[a-z0-9]+(?:[-_.][a-z0-9]+)*$"
TOPIC_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"

Scalar = int | float | str


class _Strict(BaseModel):
    # YAML reads `accept: [2048]` as a number; text fields take it as the text it was
    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)


class DemoRef(_Strict):
    """The live demo that backs an answer, with the arguments that show its point."""

    name: str = Field(description="A demo name from `tutor demo`.")
    args: dict[str, Any] = Field(default_factory=dict,
                                 description="Demo options, by option name (e.g. d_k).")


class KeyPoint(_Strict):
    """A key point with the phrasings that count as covering it."""

    point: str = Field(description="The key point as shown to the user.")
    accept: list[str] = Field(default_factory=list,
                              description="Phrasings that count as covering it "
                                          "(case, punctuation and plurals are ignored).")

    @property
    def phrasings(self) -> list[str]:
        return [self.point, *self.accept]


class Option(_Strict):
    """One option of a choice question."""

    text: str
    correct: bool = False
    explanation: str = Field(description="Why this option is right or wrong.")


class VaryRange(_Strict):
    """An inclusive integer range of values: min, min+step, ..., max."""

    min: int
    max: int
    step: int = Field(default=1, ge=1)

    @model_validator(mode="after")
    def _ordered(self) -> VaryRange:
        if self.max < self.min:
            raise ValueError(f"max={self.max} is below min={self.min}")
        if (self.max - self.min) // self.step > 10_000:
            raise ValueError("range has more than 10,000 values; raise step")
        return self

    def values(self) -> list[int]:
        return list(range(self.min, self.max + 1, self.step))


class AnswerFrom(_Strict):
    """The computation that gives a numeric question's true value."""

    name: str = Field(description="A computation from `tutor formulas`.")
    args: dict[str, Any] = Field(default_factory=dict,
                                 description="Fixed arguments; the `vary` values are added.")


class _QuestionBase(_Strict):
    id: str = Field(pattern=ID_PATTERN,
                    description="Stable id, `topic/slug`. Progress is keyed by it.")
    prompt: str = Field(min_length=1)
    answer: str = Field(min_length=1, description="The model answer: the core first, "
                                                  "then the detail.")
    key_points: list[str | KeyPoint] = Field(default_factory=list)
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


class RecallQuestion(_QuestionBase):
    """Answer in your head or in words, reveal the model answer, rate yourself 1-4."""

    kind: Literal["recall"]


class ChoiceQuestion(_QuestionBase):
    """Pick one or several options; graded automatically."""

    kind: Literal["choice"]
    options: list[Option] = Field(min_length=2, max_length=26)

    @field_validator("options")
    @classmethod
    def _some_correct(cls, options: list[Option]) -> list[Option]:
        if not any(o.correct for o in options):
            raise ValueError("no option is marked `correct: true`")
        return options

    @property
    def correct_letters(self) -> str:
        return "".join(string.ascii_uppercase[i] for i, o in enumerate(self.options) if o.correct)


class NumericQuestion(_QuestionBase):
    """A number computed fresh by the engine from values drawn from `vary`."""

    kind: Literal["numeric"]
    vary: dict[str, list[Scalar] | VaryRange] = Field(
        default_factory=dict,
        description="Template values: a list to choose from, or {min, max, step}.")
    answer_from: AnswerFrom
    tolerance: float = Field(default=0.02, gt=0, le=1,
                             description="Relative tolerance: 0.02 accepts answers within 2%.")
    units: str | None = Field(default=None, description="e.g. params, bytes, FLOPs, GiB")

    @field_validator("vary")
    @classmethod
    def _non_empty_lists(cls, vary: dict) -> dict:
        for key, values in vary.items():
            if isinstance(values, list) and not values:
                raise ValueError(f"vary.{key} is an empty list")
        return vary

    def choices(self) -> dict[str, list[Scalar]]:
        return {k: (v.values() if isinstance(v, VaryRange) else list(v))
                for k, v in self.vary.items()}


class KeypointsQuestion(_QuestionBase):
    """A free-text answer checked against `key_points`, then self-rated."""

    kind: Literal["keypoints"]
    key_points: list[str | KeyPoint] = Field(min_length=1)


class OrderQuestion(_QuestionBase):
    """Put the steps in order; they are listed here in the right order."""

    kind: Literal["order"]
    steps: list[str] = Field(min_length=2, max_length=20)


Question = Annotated[
    RecallQuestion | ChoiceQuestion | NumericQuestion | KeypointsQuestion | OrderQuestion,
    Field(discriminator="kind"),
]
AnyQuestion = RecallQuestion | ChoiceQuestion | NumericQuestion | KeypointsQuestion | OrderQuestion

MODELS_BY_KIND: dict[str, type[_QuestionBase]] = {
    "recall": RecallQuestion, "choice": ChoiceQuestion, "numeric": NumericQuestion,
    "keypoints": KeypointsQuestion, "order": OrderQuestion,
}


class QuestionFile(_Strict):
    """One topic's file: `topic`, `title`, and its `questions`."""

    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True,
                              title="tutor question file")

    topic: str = Field(pattern=TOPIC_PATTERN, description="Topic name, e.g. masks.")
    title: str = Field(min_length=1)
    description: str | None = None
    aliases: list[str] = Field(default_factory=list,
                               description="Other names `tutor demo` and --topic accept.")
    questions: list[Question] = Field(min_length=1)


def template_fields(template: str) -> set[str]:
    """The `{name}` fields a prompt template uses; raises ValueError on a broken template."""
    names = set()
    for _, field, _, _ in string.Formatter().parse(template):
        if field is not None:
            if not field.isidentifier():
                raise ValueError(f"template field {{{field}}} is not a plain name")
            names.add(field)
    return names


def json_schema() -> dict[str, Any]:
    schema = QuestionFile.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema
