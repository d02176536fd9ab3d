"""`tutor grade`: grade one answer exactly as the quiz would, and record nothing.

It is how an author checks a new question, how a user checks an answer outside
a session, and how the grader is measured (benchmarks/grading.py).
"""

from __future__ import annotations

import random
from typing import Any

from tutor.errors import UsageError


def parse_values(q, pairs: list[str]) -> dict[str, Any]:
    """--value KEY=VALUE for a numeric card's `vary` keys, or `order` for choice/order cards
    (the shown order, as item numbers: order=3,1,2)."""
    out: dict[str, Any] = {}
    choices = q.choices() if q.kind == "numeric" else {}
    n_items = len(q.options) if q.kind == "choice" else len(q.steps) if q.kind == "order" else 0
    for pair in pairs:
        if "=" not in pair:
            raise UsageError(f"--value {pair!r}: use KEY=VALUE, e.g. --value n=2048")
        key, text = (s.strip() for s in pair.split("=", 1))
        if key == "order" and n_items:
            try:
                order = [int(x) - 1 for x in text.replace(" ", ",").split(",") if x]
            except ValueError:
                order = []
            if sorted(order) != list(range(n_items)):
                raise UsageError(f"--value order={text}: give each of 1-{n_items} once, e.g. "
                                 f"order={','.join(str(i) for i in range(n_items, 0, -1))}")
            out["order"] = order
            continue
        if key not in choices:
            known = ", ".join(sorted(choices)) or "none"
            extra = " (or order)" if n_items else ""
            raise UsageError(f"--value {key}: {q.id} has no varied value {key!r}",
                             f"its keys are: {known}{extra}")
        out[key] = _typed(text, choices[key], key)
    return out


def _typed(text: str, options: list, key: str) -> Any:
    sample = options[0]
    if isinstance(sample, list):
        parts = [p for p in text.replace(" ", ",").split(",") if p]
        inner = sample[0] if sample else 0
        return [_scalar(p, inner, key) for p in parts]
    return _scalar(text, sample, key)


def _scalar(text: str, sample: Any, key: str) -> Any:
    if isinstance(sample, bool | str):
        return text
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"--value {key}={text}: expected a number like {sample}") from None
    if isinstance(sample, int) and value.is_integer():
        return int(value)
    return value


def grade_answer(bank, question_id: str, answer: str, pairs: list[str],
                 seed: int | None = None):
    """(question, presentation, graded) for one answer."""
    import difflib

    from tutor.kinds import kind

    q = bank.questions.get(question_id)
    if q is None:
        close = difflib.get_close_matches(question_id, list(bank.questions), n=1, cutoff=0.5)
        hint = f"did you mean {close[0]!r}?" if close else "see `tutor list`"
        raise UsageError(f"no question with id {question_id!r}", hint)
    module = kind(q.kind)
    fixed = parse_values(q, pairs)
    if q.kind == "choice" and "order" not in fixed:
        fixed["order"] = list(range(len(q.options)))   # the letters of `tutor show`
    pres = module.present(q, random.Random(seed), fixed)
    from tutor.grading.numbers import AnswerError

    try:
        graded = module.grade(q, pres, answer)
    except AnswerError as e:
        raise UsageError(f"the answer cannot be read: {e}") from None
    except (KeyError, TypeError, ValueError) as e:
        raise UsageError(f"--value: {e}", "check the values against `tutor show "
                                          f"{q.id}`") from None
    return q, pres, graded


def grade_view(bank, question_id: str, answer: str, pairs: list[str], as_json: bool,
               seed: int | None) -> None:
    from tutor.present.console import console, print_json

    q, pres, graded = grade_answer(bank, question_id, answer, pairs, seed)
    if as_json:
        print_json(graded.as_json(q, pres))
        return
    from rich.text import Text

    from tutor.kinds.numeric import fill
    from tutor.present.quiz import notes, reveal, verdict

    out = console()
    if pres.values:
        shown = ", ".join(f"{k}={v}" for k, v in pres.values.items())
        out.print(Text(f"values: {shown}", style="dim"))
    if pres.lines and q.kind == "order":
        out.print(Text("steps as shown:", style="dim"))
        for line in pres.lines:
            out.print(Text(f"  {line}", style="dim"))
    out.print(verdict(graded))
    if graded.notes:
        out.print(notes(graded.notes))
    if graded.suggested is not None:
        out.print(Text(f"suggested rating: {graded.suggested.name}", style="dim"))
    answer_text = fill(q.answer, pres.fields) if pres.fields is not None else q.answer
    out.print(reveal(q, answer_text, points=not (graded.covered or graded.missed)))
