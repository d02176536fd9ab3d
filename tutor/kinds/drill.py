"""Drill cards: implement a function yourself; the engine's own function grades it.

A drill card names a drill (`tutor drill` lists them). In a session it writes a
fresh stub into the workspace (`TUTOR_HOME/drills/NAME.py`, keeping a backup of
what was there), waits for Enter, and checks the file in a separate, limited
process against the engine on generated cases. A pass is Good, a failure Again;
the report shows the smallest failing case. From a pipe, the answer line is the
path of the file to check (empty: the workspace stub).
"""

from __future__ import annotations

import random
from typing import Any, Literal

from pydantic import Field, field_validator

from tutor.kinds.base import Graded, Line, Presentation, QuestionBase
from tutor.scheduling import Grade

NAME = "drill"
SUMMARY = "Implement a function; it is checked against the engine's own on generated cases."
SELF_RATED = False
FAST_MS = None


class DrillQuestion(QuestionBase):
    """Implement the drill's function; graded against the engine."""

    kind: Literal["drill"]
    drill: str = Field(description="A drill name from `tutor drill`.")

    @field_validator("drill")
    @classmethod
    def _known(cls, name: str) -> str:
        from tutor.drills.registry import DRILLS

        if name not in DRILLS:
            import difflib

            close = difflib.get_close_matches(name, list(DRILLS), n=1)
            raise ValueError(f"no drill {name!r}" + (f"; did you mean {close[0]!r}?" if close
                                                     else "; `tutor drill` lists them"))
        return name


Model = DrillQuestion


def workspace(q: DrillQuestion):
    from tutor.paths import tutor_home

    return tutor_home() / "drills" / f"{q.drill}.py"


def present(q: DrillQuestion, rng: random.Random,
            fixed: dict[str, Any] | None = None) -> Presentation:
    from tutor.drills import get_drill

    d = get_drill(q.drill)
    return Presentation(q.prompt, [f"def {d.function}(...): {d.title}"],
                        f"A fresh stub goes to {workspace(q)}; implement it, then press Enter "
                        "to check it (or type the path of another file).", "file > ",
                        data={"expected": "passed"})


def grade(q: DrillQuestion, pres: Presentation, text: str) -> Graded:
    from pathlib import Path

    from tutor.drills import check

    path = Path(text.strip()).expanduser() if text.strip() else workspace(q)
    result = check(q.drill, path)
    passed = sum(c.passed for c in result.checks)
    total = len(result.checks)
    notes: list[Line] = [("ok" if c.passed else "bad", f"{'ok  ' if c.passed else 'FAIL'} "
                                                       f"{c.name}: {c.result}")
                         for c in result.checks]
    if result.problem:
        notes.insert(0, ("bad", result.problem))
    if result.failing_case is not None:
        notes += [("dim", line) for line in failing_case_lines(result.failing_case)]
    verdict = (f"Passed: {passed} of {total} checks." if result.passed else
               f"Not yet: {passed} of {total} checks passed.")
    return Graded(result.passed, passed / total if total else 0.0, verdict, notes,
                  suggested=Grade.good if result.passed else Grade.again, expected="passed",
                  extra={"checks": [{"name": c.name, "passed": c.passed} for c in
                                    result.checks], "path": str(path)})


def failing_case_lines(fc) -> list[str]:
    """The smallest failing case, as lines: inputs, expected, received, first difference."""
    from tutor.drills.compare import show

    out = [f"smallest failing case ({fc.check}):"] if fc.inputs else []
    for name, value in (fc.inputs or {}).items():
        out.append(f"  {name} = {show(value)}")
    if fc.inputs:
        out.append(f"  expected: {show(fc.expected)}")
        out.append(f"  received: {fc.error}" if fc.error is not None
                   else f"  received: {show(fc.received)}")
    if fc.index is not None:
        out.append(f"  first difference at index {list(fc.index)}: expected "
                   f"{fc.expected_value!r}, received {fc.received_value!r}")
    if getattr(fc, "message", None):
        out.append(f"  {fc.message}")
    out += [f"  hint: {h}" for h in fc.hints]
    return out


def ask(card):
    """Write a fresh stub, wait for the user, check the file."""
    from tutor.drills import write_stub
    from tutor.kinds.base import Graded
    from tutor.session.loop import Asked

    q = card.q
    pres = present(q, card.rng)
    card.pres = pres
    if card.interactive:
        path, backup, _ = write_stub(q.drill, workspace(q), fresh=True)
        if backup:
            pres.how += f" Your previous file is kept as {backup.name}."
    card.s.show(card, pres)
    answer = card.read(pres.input_prompt)
    try:
        graded = grade(q, pres, answer)
    except Exception as e:  # the check itself never takes the session down
        from tutor.errors import TutorError

        if not isinstance(e, TutorError | OSError):
            raise
        graded = Graded(False, 0.0, f"Not checked: {e}", expected="passed",
                        suggested=Grade.again)
    card.s.feedback(q, pres, graded, points=False)
    grade_ = Grade.good if graded.correct else Grade.again
    return Asked(answer, graded.correct, grade_, expected="passed", graded=graded)


def detail(q: DrillQuestion) -> list[Line]:
    from tutor.drills import get_drill

    d = get_drill(q.drill)
    return [("plain", f"Drill {d.name}: def {d.function}(...), {d.title}"),
            ("dim", f"tutor drill {d.name} writes the stub; tutor drill check {d.name} "
                    "grades it")]


def markdown(q: DrillQuestion) -> list[str]:
    return [f"Drill: `tutor drill {q.drill}`, then `tutor drill check {q.drill}`.", ""]


ANKI_FIELDS = ("Id", "Question", "Drill", "Answer", "Demo")
ANKI_FRONT = "{{Question}}<br><code>{{Drill}}</code>"
ANKI_BACK = "{{FrontSide}}<hr id=answer>{{Answer}}<div class=figure>{{Demo}}</div>"


def anki(q: DrillQuestion, html) -> dict[str, str]:
    return {"Question": html(q.prompt), "Drill": html(f"tutor drill {q.drill}"),
            "Answer": html(q.answer)}


def wizard(ask, say) -> dict[str, Any]:
    from tutor.drills.registry import DRILLS

    def known(name: str) -> str:
        if name not in DRILLS:
            raise ValueError(f"no drill {name!r}; `tutor drill` lists them")
        return name

    say("Drills: " + ", ".join(DRILLS))
    return {"drill": ask("Drill", check=known)}


def checks(q: DrillQuestion) -> list[tuple[tuple, str]]:
    return []
