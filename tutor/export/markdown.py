"""A printable study guide, by topic; each kind adds its own part (options, steps)."""

from __future__ import annotations

from tutor.export import demo_parts, instance
from tutor.present.question import reflow

SUFFIX = ".md"


def write(bank, questions: list) -> str:
    lines = ["# Transformer interview study guide", ""]
    topics = sorted({q.topic for q in questions})
    lines += [f"- [{bank.topics[t].title}](#{_anchor(bank.topics[t].title)})" for t in topics]
    for topic in topics:
        lines += ["", f"## {bank.topics[topic].title}", ""]
        for q in (q for q in questions if q.topic == topic):
            lines += question(q)
    return "\n".join(lines).rstrip() + "\n"


def _anchor(title: str) -> str:
    keep = "".join(c for c in title.lower() if c.isalnum() or c in " -")
    return keep.replace(" ", "-")


def question(q) -> list[str]:
    from tutor.kinds import kind

    inst = instance(q)
    out = [f"### {reflow(inst['prompt'])}", "", f"`{q.id}` · {q.kind} · difficulty "
           f"{q.difficulty}", ""]
    if q.kind == "numeric":
        from tutor.format import plain_number

        out += [f"**Answer:** {plain_number(inst['value'])}"
                f"{' ' + q.units if q.units else ''}", "", f"Working: `{inst['working']}`", ""]
    out += kind(q.kind).markdown(q)
    out += [reflow(inst["answer"]), ""]
    if q.points:
        out += ["Key points:", ""] + [f"- {kp.point}" for kp in q.points] + [""]
    if q.misconception:
        out += [f"> **Misconception:** {reflow(q.misconception)}", ""]
    if q.demo:
        what, command = demo_parts(q)
        out += [f"Demo: {what} Run `{command}`", ""]
    if q.asked_in:
        out += [f"Asked in: {', '.join(q.asked_in)}", ""]
    return out
