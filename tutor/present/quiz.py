"""The quiz on screen: the card panel, the feedback after grading, the reveal, the summary.

Bank text is always put in `Text` objects, never parsed as markup.
"""

from __future__ import annotations

from rich.console import Group
from rich.panel import Panel
from rich.text import Text

STYLES = {"ok": "green", "bad": "red", "flag": "bold yellow", "dim": "dim", "bold": "bold",
          "plain": ""}


def card_panel(q, pres, number: int, total: int, keys: str) -> Panel:
    from tutor.present.question import header, reflow

    parts: list = [Text(reflow(pres.prompt), style="bold")]
    if pres.lines:
        parts += [Text("")] + [Text(line) for line in pres.lines]
    parts += [Text(""), Text(pres.how, style="dim"), Text(keys, style="dim")]
    return Panel(Group(*parts), title=Text(f"[{number}/{total}] {q.id}"),
                 subtitle=Text(header(q)), title_align="left", subtitle_align="left")


def verdict(graded) -> Text:
    if graded.correct is True:
        return Text(graded.verdict, style="bold green")
    if graded.correct is False:
        return Text(graded.verdict, style="bold red")
    return Text(graded.verdict, style="bold")


def notes(lines) -> Group:
    return Group(*(Text("  " + text, style=STYLES.get(style, "")) for style, text in lines))


def reveal(q, answer: str, *, points: bool) -> Group:
    from tutor.present.question import reflow

    parts: list = [Text("Answer", style="bold"), Text(reflow(answer))]
    if points and q.points:
        parts.append(Text("Key points", style="bold"))
        parts += [Text(f"  • {kp.point}") for kp in q.points]
    if q.misconception:
        parts.append(Text.assemble(("Misconception ", "bold"), reflow(q.misconception)))
    return Group(*parts)


def checklist(points: list[str], ticked: set[int]) -> Group:
    rows = [Text(f"  {i}. [{'x' if i in ticked else ' '}] {p}",
                 style="green" if i in ticked else "") for i, p in enumerate(points, 1)]
    return Group(Text("Your answer covers (the grader's guess):", style="bold"), *rows)


def readiness_table(ready: dict):
    """Readiness for the interview day, as `tutor stats --interview-date` shows it."""
    from tutor.present.stats import readiness_view

    return readiness_view(ready)
