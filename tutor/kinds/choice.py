"""Choice cards: pick one or several options; graded automatically.

Options are shuffled for every showing (the letters follow the shuffle), so an
answer cannot be learned by position; `shuffle: false` keeps the written order,
for options such as "both of the above". A multi-select answer is told which
right options it missed and which picks were wrong.
"""

from __future__ import annotations

import random
import string
from typing import Any, Literal

from pydantic import Field, field_validator

from tutor.kinds.base import Graded, Line, Presentation, QuestionBase, Strict, shuffled
from tutor.scheduling import Grade

NAME = "choice"
SUMMARY = "Pick one or several options; graded automatically."
SELF_RATED = False
FAST_MS = 10_000


class Option(Strict):
    """One option of a choice question."""

    text: str
    correct: bool = False
    explanation: str = Field(description="Why this option is right or wrong.")


class ChoiceQuestion(QuestionBase):
    """Pick one or several options; graded automatically."""

    kind: Literal["choice"]
    options: list[Option] = Field(min_length=2, max_length=26)
    shuffle: bool = Field(default=True, description="Shuffle the options for every showing "
                                                    "(false keeps this order).")

    @field_validator("options")
    @classmethod
    def _some_correct(cls, options: list[Option]) -> list[Option]:
        if not any(o.correct for o in options):
            raise ValueError("no option is marked `correct: true`")
        return options

    @property
    def correct_letters(self) -> str:
        return "".join(string.ascii_uppercase[i] for i, o in enumerate(self.options) if o.correct)


Model = ChoiceQuestion


def present(q: Model, rng: random.Random, fixed: dict[str, Any] | None = None) -> Presentation:
    """The options in the order shown: shuffled unless `shuffle: false` or `fixed['order']`."""
    n = len(q.options)
    if fixed and "order" in fixed:
        order = list(fixed["order"])
    elif q.shuffle:
        order = shuffled(n, rng, avoid_identity=False)
    else:
        order = list(range(n))
    letters = string.ascii_uppercase[:n]
    lines = [f"{letters[pos]}. {q.options[i].text}" for pos, i in enumerate(order)]
    multi = sum(o.correct for o in q.options) > 1
    expected = "".join(letters[pos] for pos, i in enumerate(order) if q.options[i].correct)
    return Presentation(q.prompt, lines, "Type the letter(s) of every right option, e.g. "
                        + ("A,C" if multi else "B") + ".", "letters > ", order=order,
                        data={"expected": expected, "letters": letters})


def grade(q: Model, pres: Presentation, text: str) -> Graded:
    from tutor.grading import parse_letters

    letters = pres.data["letters"]
    chosen = parse_letters(text, len(q.options))
    right = set(pres.data["expected"])
    missed = sorted(right - chosen)
    wrong = sorted(chosen - right)
    correct = not missed and not wrong
    notes: list[Line] = []
    if not correct and len(right) > 1:
        if missed:
            notes.append(("bad", f"Missed right option{'s' if len(missed) > 1 else ''}: "
                                 f"{', '.join(missed)}."))
        if wrong:
            notes.append(("bad", f"Wrong pick{'s' if len(wrong) > 1 else ''}: "
                                 f"{', '.join(wrong)}."))
    for pos, i in enumerate(pres.order or range(len(q.options))):
        o = q.options[i]
        mark = "ok" if o.correct else "bad"
        yours = " (yours)" if letters[pos] in chosen else ""
        notes.append((mark, f"{'✓' if o.correct else '✗'} {letters[pos]}. {o.explanation}"
                            f"{yours}"))
    verdict = "Right." if correct else f"Not quite: the answer is {', '.join(sorted(right))}"
    return Graded(correct, 1.0 if correct else 0.0, verdict, notes,
                  suggested=Grade.good if correct else Grade.again, expected=pres.data["expected"],
                  extra={"missed_options": missed, "wrong_picks": wrong,
                         "shown_order": [i + 1 for i in pres.order or []]})


REVEAL = "answer"   # after grading: the model answer and the misconception


def detail(q: Model) -> list[Line]:
    out: list[Line] = []
    for letter, opt in zip(string.ascii_uppercase, q.options, strict=False):
        out.append(("plain", f"{letter}. {opt.text}  {'✓' if opt.correct else '✗'}"))
        out.append(("dim", f"   {opt.explanation}"))
    if not q.shuffle:
        out.append(("dim", "(options are always shown in this order)"))
    return out


def markdown(q: Model) -> list[str]:
    out = []
    for letter, opt in zip(string.ascii_uppercase, q.options, strict=False):
        mark = "**(correct)**" if opt.correct else "(wrong)"
        out.append(f"- {letter}. {opt.text} {mark}: {opt.explanation}")
    return out + [""]


ANKI_FIELDS = ("Id", "Question", "Options", "Correct", "Explanations", "Answer", "Demo")
ANKI_FRONT = "{{Question}}<br>{{Options}}"
ANKI_BACK = ("{{FrontSide}}<hr id=answer><b>{{Correct}}</b><br>{{Explanations}}<br>{{Answer}}"
             "<div class=figure>{{Demo}}</div>")


def anki(q: Model, html) -> dict[str, str]:
    pairs = list(zip(string.ascii_uppercase, q.options, strict=False))
    return {"Question": html(q.prompt),
            "Options": "<br>".join(f"{ltr}. {html(o.text)}" for ltr, o in pairs),
            "Correct": q.correct_letters,
            "Explanations": "<br>".join(f"{ltr}. {html(o.explanation)}" for ltr, o in pairs),
            "Answer": html(q.answer)}


def wizard(ask, say) -> dict[str, Any]:
    options = []
    letters = iter(string.ascii_uppercase)
    while True:
        text = ask(f"Option {next(letters)} (blank line ends)", default="")
        if not text:
            break
        correct = ask("Is it correct? (y/n)", default="n").strip().lower() in ("y", "yes")
        explanation = ask("Why is it right or wrong?")
        options.append({"text": text, "correct": correct, "explanation": explanation})
    return {"options": options}


def checks(q: Model) -> list[tuple[tuple, str]]:
    """Options that refer to other options by letter cannot be shuffled."""
    import re

    out = []
    if q.shuffle:
        for i, o in enumerate(q.options):
            if re.search(r"\b(?i:both|all|none|neither) of the (?i:above|others)\b"
                         r"|\b(?:[Oo]ptions?|[Aa]nswers?) [A-Z]\b", o.text):
                out.append((("options", i, "text"), "this option refers to other options by "
                            "position; add `shuffle: false` to the question"))
    return out
