"""Numeric cards: a number computed fresh by the engine from values drawn from `vary`.

The prompt is a template (`{d_model}`); each showing draws its values, and the
true value comes from a named computation (`answer_from`, see `tutor formulas`).
`traps:` name the usual wrong answers as formulas over the same values (n^2/2 for
the causal pair count): an answer that lands on a trap is wrong even inside the
tolerance, and the feedback names the mistake.
"""

from __future__ import annotations

import random
import string
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from tutor.kinds.base import Graded, Line, Presentation, QuestionBase, Scalar, Strict
from tutor.scheduling import Grade

NAME = "numeric"
SUMMARY = "A number computed by the engine from drawn values; traps name the usual mistakes."
SELF_RATED = False
FAST_MS = 20_000

# format specs a template may use: {x}, {x:,} and {x:.3g}-style precision
ALLOWED_SPECS = ("", ",", "_")


class VaryRange(Strict):
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


class AnswerFrom(Strict):
    """The computation that gives a numeric question's true value."""

    name: str = Field(description="A computation from `tutor formulas`.")
    args: dict[str, Any] = Field(default_factory=dict,
                                 description="Fixed arguments; the `vary` values are added.")


class Trap(Strict):
    """A usual wrong answer, as a formula over the template values."""

    name: str = Field(description="The mistake, as the feedback names it (e.g. 'n^2/2: the "
                                  "diagonal was left out').")
    value: str | None = Field(default=None, description="Arithmetic over the vary and "
                              "answer_from.args names, e.g. 'n^2 / 2'.")
    answer_from: AnswerFrom | None = Field(default=None, description="Or a computation.")
    explanation: str | None = Field(default=None, description="Why it is wrong.")

    @model_validator(mode="after")
    def _one_route(self) -> Trap:
        if (self.value is None) == (self.answer_from is None):
            raise ValueError("a trap needs exactly one of `value` and `answer_from`")
        return self


class NumericQuestion(QuestionBase):
    """A number computed fresh by the engine from values drawn from `vary`."""

    kind: Literal["numeric"]
    vary: dict[str, list[Scalar | list[Scalar]] | VaryRange] = Field(
        default_factory=dict,
        description="Template values: a list to choose from, or {min, max, step}.")
    answer_from: AnswerFrom
    tolerance: float = Field(default=0.02, gt=0, le=1,
                             description="Relative tolerance: 0.02 accepts answers within 2%.")
    units: str | None = Field(default=None, description="e.g. params, bytes, FLOPs, GiB, %")
    traps: list[Trap] = Field(default_factory=list,
                              description="Usual wrong answers; landing on one is wrong even "
                                          "inside the tolerance.")

    @field_validator("vary")
    @classmethod
    def _non_empty_lists(cls, vary: dict) -> dict:
        for key, values in vary.items():
            if isinstance(values, list) and not values:
                raise ValueError(f"vary.{key} is an empty list")
        return vary

    def choices(self) -> dict[str, list]:
        return {k: (v.values() if isinstance(v, VaryRange) else list(v))
                for k, v in self.vary.items()}


Model = NumericQuestion


def draw(q: NumericQuestion, rng: random.Random,
         fixed: dict[str, Any] | None = None) -> dict[str, Any]:
    """The values of one showing: drawn from `vary` (sorted by name), or as fixed."""
    fixed = fixed or {}
    return {k: fixed[k] if k in fixed else rng.choice(v) for k, v in sorted(q.choices().items())}


def instance(q: NumericQuestion, values: dict[str, Any]) -> dict[str, Any]:
    """Prompt, answer, value and working for these values."""
    import math

    from tutor.errors import TutorError
    from tutor.formulas import compute_answer

    fields = {**q.answer_from.args, **values}
    truth = compute_answer(q.answer_from.name, fields)
    if not math.isfinite(truth.value):
        raise TutorError(f"{q.id}: {q.answer_from.name} gives {truth.value} for {values}",
                         "a card needs a finite answer; run `tutor validate` on its file")
    return {"values": values, "fields": fields, "prompt": fill(q.prompt, fields),
            "answer": fill(q.answer, fields), "value": truth.value, "working": truth.working}


def fill(template: str, fields: dict[str, Any]) -> str:
    """A template with its fields filled in; only plain fields and the allowed specs."""
    out = []
    for literal, name, spec, _ in string.Formatter().parse(template):
        out.append(literal)
        if name is None:
            continue
        value = fields[name]
        if spec == "," and isinstance(value, int | float) and not isinstance(value, bool):
            out.append(f"{value:,}")
        else:
            out.append(str(value))
    return "".join(out)


def present(q: NumericQuestion, rng: random.Random,
            fixed: dict[str, Any] | None = None) -> Presentation:
    inst = instance(q, draw(q, rng, fixed))
    units = f" ({q.units})" if q.units else ""
    how = (f"Type a number{units}: 124M, 1.2e8, 2^30, 2 GiB and 4096*4097/2 all work; "
           f"within {q.tolerance * 100:.3g}% counts.")
    return Presentation(inst["prompt"], [], how, "number > ", values=inst["values"],
                        fields=inst["fields"], data={"expected": inst["value"], **inst})


def trap_values(q: NumericQuestion, fields: dict[str, Any]) -> list[tuple[Trap, float]]:
    from tutor.formulas import compute_answer
    from tutor.grading.numbers import evaluate

    out = []
    for trap in q.traps:
        if trap.value is not None:
            out.append((trap, evaluate(trap.value, fields)))
        else:
            out.append((trap, compute_answer(trap.answer_from.name,
                                             {**fields, **trap.answer_from.args}).value))
    return out


def grade(q: NumericQuestion, pres: Presentation, text: str) -> Graded:
    from tutor.format import format_number
    from tutor.grading.numbers import parse_number, relative_error, within

    given = parse_number(text, q.units)
    truth = pres.data["value"]
    units = f" {q.units}" if q.units else ""
    error = relative_error(given, truth)
    correct = within(given, truth, q.tolerance)
    notes: list[Line] = [("dim", f"working: {pres.data['working']}")]
    trapped = None
    for trap, value in trap_values(q, pres.fields or {}):
        if value == truth:
            continue
        trap_error = relative_error(given, value)
        if trap_error < error and within(given, value, q.tolerance):
            trapped = trap
            notes.insert(0, ("flag", f"✗ {trap.name} gives {format_number(value)}"
                                     f"{units}" + (f": {trap.explanation}" if trap.explanation
                                                   else "")))
            break
    if trapped is not None:
        correct = False
    if correct:
        verdict = "Right." + ("" if error < 1e-9 else
                              f" (the exact value is {format_number(truth)}{units})")
    else:
        verdict = f"Not quite: the answer is {format_number(truth)}{units}"
        if trapped is None and given:
            ratio = given / truth if truth else float("inf")
            notes.insert(0, ("bad", f"yours is {format_number(given)}{units}, "
                                    f"{_ratio(ratio)} the answer"))
    flags = [{"claim": trapped.name, "correction": trapped.explanation or
              f"the answer is {format_number(truth)}{units}"}] if trapped else []
    return Graded(correct, 1.0 if correct else 0.0, verdict, notes, flags=flags,
                  suggested=Grade.good if correct else Grade.again,
                  expected=truth, extra={"given": given, "trap": trapped.name if trapped
                                         else None})


def _ratio(r: float) -> str:
    if r <= 0:
        return "of the wrong sign from" if r < 0 else "zero, against"
    if r >= 1:
        return f"{r:.3g}x"
    return f"1/{1 / r:.3g} of"


REVEAL = "answer"


def detail(q: NumericQuestion) -> list[Line]:
    vary = ", ".join(f"{k} in {v}" for k, v in q.choices().items())
    out: list[Line] = [("dim", f"Computed by {q.answer_from.name}; tolerance "
                               f"{q.tolerance:.1%}{'; ' + vary if vary else ''}")]
    for trap in q.traps:
        route = trap.value or trap.answer_from.name
        out.append(("dim", f"Trap: {trap.name} ({route})"))
    return out


def markdown(q: NumericQuestion) -> list[str]:
    return []   # the whole numeric entry is written by the exporter from `instance`


ANKI_FIELDS = ("Id", "Question", "Value", "Working", "Answer", "Demo")
ANKI_FRONT = "{{Question}}"
ANKI_BACK = ("{{FrontSide}}<hr id=answer><b>{{Value}}</b><br><code>{{Working}}</code><br>"
             "{{Answer}}<div class=figure>{{Demo}}</div>")


def anki(q: NumericQuestion, html, inst: dict[str, Any]) -> dict[str, str]:
    from tutor.format import plain_number

    return {"Question": html(inst["prompt"]),
            "Value": html(f"{plain_number(inst['value'])}{' ' + q.units if q.units else ''}"),
            "Working": html(inst["working"]), "Answer": html(inst["answer"])}


def wizard(ask, say) -> dict[str, Any]:
    from tutor.authoring import pairs_checked
    from tutor.formulas import FORMULAS

    def formula(name: str) -> str:
        if name not in FORMULAS:
            import difflib

            close = difflib.get_close_matches(name, list(FORMULAS), n=1)
            raise ValueError(f"no computation {name!r}" + (
                f"; did you mean {close[0]!r}?" if close else "; `tutor formulas` lists them"))
        return name

    def tolerance(text: str) -> float:
        value = float(text)  # ValueError: asked again
        if not 0 < value <= 1:
            raise ValueError("the tolerance is relative: a number above 0 and at most 1")
        return value

    say("Computations: " + ", ".join(sorted(FORMULAS)))
    name = ask("Computation that gives the answer (answer_from)", check=formula)
    say(f"{name} takes: {', '.join(FORMULAS[name].parameters)}")
    out: dict[str, Any] = {}
    vary = ask("Values to vary as name=v1 v2 v3, separated by ; (optional)", default="",
               check=lambda line: pairs_checked(line, sep=";", multi=True))
    out["vary"] = {k: v if isinstance(v, list) else [v] for k, v in vary.items()}
    out["answer_from"] = {"name": name, "args": ask(
        "Fixed arguments as name=value, comma-separated (optional)", default="",
        check=pairs_checked)}
    out["tolerance"] = ask("Relative tolerance", default="0.02", check=tolerance)
    units = ask("Units (optional)", default="")
    if units:
        out["units"] = units
    return out


def demo_arg_samples(q: NumericQuestion) -> list[dict[str, Any]]:
    """The demo's arguments with each '{name}' replaced by the smallest and the largest
    value the card can draw (for checking them against the demo's bounds)."""
    from tutor.session.loop import demo_args

    if q.demo is None:
        return []
    choices = {**{k: [v] for k, v in q.answer_from.args.items()}, **q.choices()}
    ends = []
    for pick in (min, max):
        fields = {}
        for k, v in choices.items():
            try:
                fields[k] = pick(v)
            except TypeError:  # values that do not compare: the first
                fields[k] = v[0]
        ends.append(fields)
    unknown = {a[1:-1] for a in q.demo.args.values() if isinstance(a, str)
               and a.startswith("{") and a.endswith("}")} - set(choices)
    if unknown:
        return [q.demo.args]  # the demo check reports the value as it is written
    return [demo_args(q.demo.args, fields) for fields in ends]


def template_fields(template: str) -> set[str]:
    """The `{name}` fields a template uses; ValueError for anything but plain fields."""
    names = set()
    for _, name, spec, conversion in string.Formatter().parse(template):
        if name is None:
            continue
        if not name.isidentifier():
            raise ValueError(f"template field {{{name}}} is not a plain name")
        if conversion:
            raise ValueError(f"template field {{{name}!{conversion}}}: conversions are not "
                             "allowed")
        if spec not in ALLOWED_SPECS:
            raise ValueError(f"template field {{{name}:{spec}}}: only {{{name}}} and "
                             f"{{{name}:,}} are allowed")
        names.add(name)
    return names


def checks(q: NumericQuestion) -> list[tuple[tuple, str]]:
    from tutor.formulas import check_answer_from
    from tutor.grading.numbers import expression_names

    out: list[tuple[tuple, str]] = []
    names = set(q.vary) | set(q.answer_from.args)
    for fld in ("prompt", "answer"):
        try:
            unknown = template_fields(getattr(q, fld)) - names
        except ValueError as e:
            out.append(((fld,), f"{e}; write literal braces as {{{{ and }}}}"))
            continue
        out += [((fld,), f"template field {{{name}}} is not in vary or answer_from.args")
                for name in sorted(unknown)]
    try:
        used = template_fields(q.prompt)
    except ValueError:
        used = set(q.vary)
    out += [(("vary", key), f"vary.{key} is not used in the prompt, so the card would ask "
                            "the same question with different answers")
            for key in sorted(set(q.vary) - used)]
    out += [(("answer_from", *p), msg) for p, msg in
            check_answer_from(q.answer_from.name, q.answer_from.args, set(q.vary))]
    for i, trap in enumerate(q.traps):
        if trap.value is not None:
            for name in sorted(expression_names(trap.value) - names):
                out.append((("traps", i, "value"), f"trap formula uses {name!r}, which is not "
                            "in vary or answer_from.args"))
        else:
            out += [(("traps", i, "answer_from", *p), msg) for p, msg in check_answer_from(
                trap.answer_from.name, {**q.answer_from.args, **trap.answer_from.args},
                set(q.vary))]
    return out


CORNERS = 64   # combinations test-computed by `tutor validate`; larger grids test the corners


def _combinations(q: NumericQuestion) -> list[dict[str, Any]]:
    import itertools

    choices = q.choices()
    names = sorted(choices)
    grid = 1
    for n in names:
        grid *= len(choices[n])
    if grid <= CORNERS:
        picks = [choices[n] for n in names]
    else:
        picks = [sorted({0, len(choices[n]) - 1}) for n in names]
        picks = [[choices[n][i] for i in idx] for n, idx in zip(names, picks, strict=True)]
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*picks)]


def deep_checks(q: NumericQuestion) -> list[tuple[tuple, str]]:
    """`tutor validate` only: compute the answer (and every trap) for the values a card can
    draw, so an argument that breaks the computation, or a value that is not finite, is
    reported there rather than when the card is first shown."""
    import math

    for values in _combinations(q):
        shown = ", ".join(f"{k}={v}" for k, v in values.items())
        where = f" (with {shown})" if shown else ""
        bad = [k for k, v in {**q.answer_from.args, **values}.items() if isinstance(v, bool)]
        if bad:
            return [(("answer_from",), f"{bad[0]} is true/false; give a number")]
        from tutor.errors import TutorError

        try:
            inst = instance(q, values)
            fields = inst["fields"]
            fill(q.prompt, fields)
            fill(q.answer, fields)
            traps = trap_values(q, fields)
        except TutorError:
            return [(("answer_from",), f"{q.answer_from.name} gives a value that is not finite"
                                       f"{where}; a card needs a finite answer")]
        except Exception as e:  # the formula's own message says which argument is wrong
            return [(("answer_from",), f"{q.answer_from.name} fails{where}: "
                                       f"{type(e).__name__}: {e}")]
        if not math.isfinite(inst["value"]):
            return [(("answer_from",), f"{q.answer_from.name} gives {inst['value']}{where}; "
                                       "a card needs a finite answer")]
        for trap, value in traps:
            if not math.isfinite(value):
                return [(("traps",), f"trap {trap.name!r} gives {value}{where}")]
    return []
