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
    """The question-file schema, with the demo and formula names and each one's arguments,
    so an editor completes them and flags typos."""
    schema = QuestionFile.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    defs = schema.get("$defs", {})
    if "DemoRef" in defs:
        _name_and_args(defs["DemoRef"], _demo_args())
    if "AnswerFrom" in defs:
        _name_and_args(defs["AnswerFrom"], _formula_args())
    return _standard(schema)


def _standard(node: Any) -> Any:
    """Drop OpenAPI's `discriminator` (not JSON Schema; strict validators refuse it): the
    `kind` const of each branch already tells them apart."""
    if isinstance(node, dict):
        return {k: _standard(v) for k, v in node.items() if k != "discriminator"}
    if isinstance(node, list):
        return [_standard(v) for v in node]
    return node


# a numeric card may pass one of its drawn values to its demo: "{d_model}"
_FIELD = {"type": "string", "pattern": "^\\{[A-Za-z_][A-Za-z0-9_]*\\}$"}


def _name_and_args(model: dict, table: dict[str, dict[str, Any]]) -> None:
    model["properties"]["name"]["enum"] = sorted(table)
    model["allOf"] = [
        {"if": {"properties": {"name": {"const": name}}, "required": ["name"]},
         "then": {"properties": {"args": {"type": "object", "properties": args,
                                          "additionalProperties": False}}}}
        for name, args in sorted(table.items())]


def _demo_args() -> dict[str, dict[str, Any]]:
    from tutor.demos.registry import DEMOS, all_params

    out: dict[str, dict[str, Any]] = {}
    for name, info in DEMOS.items():
        props: dict[str, Any] = {}
        for p in all_params(info):
            one: dict[str, Any] = {"description": p.help}
            if p.choices:
                one["enum"] = list(p.choices)
            else:
                one["type"] = {int: "integer", float: "number", bool: "boolean"}.get(
                    p.type, "string")
                if p.type in (int, float):
                    if p.min is not None:
                        one["minimum"] = p.min
                    if p.max is not None:
                        one["maximum"] = p.max
            value = {"anyOf": [one, _FIELD]} if p.type is not bool else one
            props[p.name] = ({"anyOf": [value, {"type": "array", "items": value,
                                                 "maxItems": p.max_items}]}
                             if p.multiple else value)
        out[name] = props
    return out


def _formula_args() -> dict[str, dict[str, Any]]:
    from tutor.formulas import FORMULAS

    return {name: {arg: {} for arg in f.parameters} for name, f in FORMULAS.items()}
