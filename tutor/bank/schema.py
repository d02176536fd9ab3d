"""The question-file schema, declared once: it validates YAML and is exported as JSON Schema.

A question file is a mapping with `topic`, `title` and `questions`. Each question
has a `kind`; each kind's own fields are declared in its module in tutor.kinds,
and the union of all kinds is built from there.
"""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field

from tutor.kinds import models, question_union
from tutor.kinds.base import (  # noqa: F401  (the names the loader and callers use)
    ID_PATTERN,
    TOPIC_PATTERN,
    DemoRef,
    KeyPoint,
    QuestionBase,
    Reject,
    Scalar,
    Strict,
)
from tutor.kinds.choice import ChoiceQuestion, Option  # noqa: F401
from tutor.kinds.keypoints import KeypointsQuestion  # noqa: F401
from tutor.kinds.numeric import AnswerFrom, NumericQuestion, Trap, VaryRange  # noqa: F401
from tutor.kinds.numeric import template_fields as template_fields
from tutor.kinds.order import OrderQuestion  # noqa: F401
from tutor.kinds.recall import RecallQuestion

MODELS_BY_KIND: dict[str, type[QuestionBase]] = models()
Question = question_union()
AnyQuestion = QuestionBase
_QuestionBase = QuestionBase
RecallQuestion = RecallQuestion


class QuestionFile(Strict):
    """One topic's file: `topic`, `title`, and its `questions`."""

    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True,
                              title="tutor question file")

    topic: str = Field(pattern=TOPIC_PATTERN, description="Topic name, e.g. masks.")
    title: str = Field(min_length=1)
    description: str | None = None
    aliases: list[str] = Field(default_factory=list,
                               description="Other names `tutor demo` and --topic accept.")
    questions: list[Question] = Field(min_length=1)


def json_schema() -> dict[str, Any]:
    schema = QuestionFile.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema
