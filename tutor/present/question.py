"""Rich renderings of questions, shared by `tutor show` and the quiz.

Each kind adds its own part (options, steps, traps) through its `detail(q)`."""

from __future__ import annotations

from rich.console import Group
from rich.panel import Panel
from rich.text import Text


def reflow(text: str) -> str:
    """Join hard-wrapped lines into paragraphs; keep blank lines, lists and indented code."""
    out: list[str] = []
    for line in text.strip().splitlines():
        stripped = line.strip()
        starts_block = (not stripped or stripped[:2] in ("- ", "* ", "• ")
                        or stripped[:1].isdigit() and stripped[1:3] in (". ", ") ")
                        or line.startswith("    "))
        if out and out[-1] and not starts_block and not out[-1].startswith("    "):
            out[-1] = f"{out[-1]} {stripped}"
        else:
            out.append(line.rstrip() if line.startswith("    ") else stripped)
    return "\n".join(out)


def header(q) -> str:
    sources = f" · asked in {', '.join(q.asked_in)}" if q.asked_in else ""
    return f"{q.topic} · {q.kind} · difficulty {q.difficulty}{sources}"


def question_detail(q) -> Panel:
    from tutor.kinds import kind
    from tutor.present.quiz import STYLES

    parts: list = [Text(reflow(q.prompt), style="bold"), Text("")]
    extra = kind(q.kind).detail(q)
    if extra:
        parts += [Text(text, style=STYLES.get(style, "")) for style, text in extra]
        parts.append(Text(""))
    parts += [Text("Answer", style="bold underline"), Text(reflow(q.answer))]
    if q.points:
        parts += [Text(""), Text("Key points", style="bold underline")]
        parts += [Text(f"• {kp.point}") for kp in q.points]
    wrong = [r for kp in q.points for r in kp.rejects] + list(q.rejects)
    if wrong:
        parts += [Text(""), Text("Wrong claims it flags", style="bold underline")]
        parts += [Text(f"✗ {r.claim}" + (f" -> {r.correction}" if r.correction else ""))
                  for r in wrong]
    if q.misconception:
        parts += [Text(""), Text("Misconception", style="bold underline"),
                  Text(reflow(q.misconception))]
    if q.hint:
        parts += [Text(""), Text(f"Hint: {q.hint.strip()}", style="dim")]
    if q.demo:
        parts += [Text(""), Text(f"Prove it: {demo_command(q.demo.name, q.demo.args)}",
                                 style="cyan")]
    if q.references:
        parts += [Text(""), Text("References", style="bold underline")]
        parts += [Text(f"• {r}") for r in q.references]
    return Panel(Group(*parts), title=Text(q.id), subtitle=Text(header(q)),
                 title_align="left", subtitle_align="left")


def demo_command(name: str, args: dict) -> str:
    """The shell command that runs a demo with these arguments."""
    words = ["tutor", "demo", name]
    for key, value in args.items():
        flag = "--" + str(key).replace("_", "-")
        for v in value if isinstance(value, list) else [value]:
            if isinstance(v, bool):
                words.append(flag if v else "--no-" + flag[2:])
            else:
                words += [flag, str(v)]
    return " ".join(words)
