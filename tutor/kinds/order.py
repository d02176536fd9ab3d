"""Order cards: put the steps in order. The file lists them in the right order.

`also:` lists other orders that are just as right (step numbers as listed, for
steps that may swap). A wrong order gets partial credit by Kendall distance (the
pairs out of order): one swap of neighbours is Hard, more is Again, and the
feedback says which positions were wrong.
"""

from __future__ import annotations

import random
from typing import Any, Literal

from pydantic import Field, model_validator

from tutor.kinds.base import Graded, Line, Presentation, QuestionBase, shuffled
from tutor.scheduling import Grade

NAME = "order"
SUMMARY = "Put the steps in order; partial credit by the pairs out of order."
SELF_RATED = False
FAST_MS = 10_000


class OrderQuestion(QuestionBase):
    """Put the steps in order; they are listed here in the right order."""

    kind: Literal["order"]
    steps: list[str] = Field(min_length=2, max_length=20)
    also: list[list[int]] = Field(default_factory=list,
                                  description="Other right orders, as step numbers of the list "
                                              "above, e.g. [1, 3, 2, 4] when steps 2 and 3 may "
                                              "swap.")

    @model_validator(mode="after")
    def _permutations(self) -> OrderQuestion:
        n = len(self.steps)
        for order in self.also:
            if sorted(order) != list(range(1, n + 1)):
                raise ValueError(f"also: {order} is not an order of the steps 1-{n}")
        return self

    def right_orders(self) -> list[list[int]]:
        """Every accepted order, as 0-based step indexes."""
        return [list(range(len(self.steps)))] + [[i - 1 for i in o] for o in self.also]


Model = OrderQuestion


def present(q: OrderQuestion, rng: random.Random,
            fixed: dict[str, Any] | None = None) -> Presentation:
    """The steps shuffled (never already in order), numbered as shown."""
    n = len(q.steps)
    if fixed and "order" in fixed:
        order = list(fixed["order"])
    else:
        order = shuffled(n, rng, avoid_identity=True)
    lines = [f"{pos}. {q.steps[i]}" for pos, i in enumerate(order, 1)]
    expected = " ".join(str(order.index(j) + 1) for j in range(n))
    return Presentation(q.prompt, lines, "Type the step numbers in the right order, e.g. "
                        + " ".join(str(i) for i in range(n, 0, -1)) + ".", "order > ",
                        order=order, data={"expected": expected})


def grade(q: OrderQuestion, pres: Presentation, text: str) -> Graded:
    from tutor.grading import kendall_distance, parse_order

    n = len(q.steps)
    numbers = parse_order(text, n)
    order = pres.order or list(range(n))
    given = [order[i - 1] for i in numbers]          # step indexes in the user's order
    rights = q.right_orders()
    distances = [kendall_distance(given, r) for r in rights]
    best = min(range(len(rights)), key=lambda k: distances[k])
    distance, target = distances[best], rights[best]
    pairs = n * (n - 1) // 2
    score = 1 - distance / pairs
    correct = distance == 0
    notes: list[Line] = []
    if not correct:
        wrong = [p + 1 for p in range(n) if given[p] != target[p]]
        notes.append(("bad", f"{distance} of {pairs} pairs out of order; wrong at position"
                             f"{'s' if len(wrong) > 1 else ''} {', '.join(map(str, wrong))}."))
    for pos, j in enumerate(target, 1):
        shown = order.index(j) + 1
        mark = "ok" if correct or given[pos - 1] == j else "bad"
        notes.append((mark, f"{pos}. {q.steps[j]}  (shown as {shown})"))
    if len(rights) > 1:
        notes.append(("dim", f"{len(rights) - 1} other order{'s' if len(rights) > 2 else ''} "
                             "also count as right."))
    expected = " ".join(str(order.index(j) + 1) for j in target)
    suggested = Grade.good if correct else Grade.hard if distance == 1 else Grade.again
    verdict = "Right." if correct else (
        f"Nearly: the order is {expected}" if distance == 1 else f"Not quite: the order is "
                                                                 f"{expected}")
    return Graded(correct, round(score, 4), verdict, notes, suggested=suggested,
                  expected=pres.data["expected"],
                  extra={"kendall_distance": distance, "shown_order": [i + 1 for i in order]})


REVEAL = "misconception"   # the steps were listed in the feedback; add only the misconception


def detail(q: OrderQuestion) -> list[Line]:
    out: list[Line] = [("bold", "Steps in order:")]
    out += [("plain", f"{i}. {s}") for i, s in enumerate(q.steps, 1)]
    for o in q.also:
        out.append(("dim", f"Also right: {' '.join(map(str, o))}"))
    return out


def markdown(q: OrderQuestion) -> list[str]:
    out = [f"{i}. {s}" for i, s in enumerate(q.steps, 1)] + [""]
    for o in q.also:
        out += [f"Also right: {' '.join(map(str, o))}", ""]
    return out


ANKI_FIELDS = ("Id", "Question", "Steps", "Order", "Answer", "Misconception", "Demo")
ANKI_FRONT = "{{Question}}<br>{{Steps}}"
ANKI_BACK = ("{{FrontSide}}<hr id=answer><b>{{Order}}</b><br>{{Answer}}<div class=mis>"
             "{{Misconception}}</div><div class=figure>{{Demo}}</div>")


def anki(q: OrderQuestion, html) -> dict[str, str]:
    """Steps on the front in a fixed scrambled order, the right order on the back."""
    order = _scramble(len(q.steps), q.id)
    steps = "<br>".join(f"{pos}. {html(q.steps[i])}" for pos, i in enumerate(order, 1))
    right = " ".join(str(order.index(j) + 1) for j in range(len(q.steps)))
    listed = "<br>".join(f"{i}. {html(s)}" for i, s in enumerate(q.steps, 1))
    return {"Question": html(q.prompt), "Steps": steps,
            "Order": f"{right}<br>{listed}", "Answer": html(q.answer),
            "Misconception": html(q.misconception or "")}


def _scramble(n: int, key: str) -> list[int]:
    return shuffled(n, random.Random(f"anki:{key}"), avoid_identity=True)


def wizard(ask, say) -> dict[str, Any]:
    steps = []
    while True:
        line = ask("Step, in the right order (blank line ends)", default="")
        if not line:
            break
        steps.append(line)
    return {"steps": steps}


def checks(q: OrderQuestion) -> list[tuple[tuple, str]]:
    return []
