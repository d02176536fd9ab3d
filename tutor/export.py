"""Exports: the bank as JSON, a Markdown study guide, and an Anki deck.

Numeric questions are exported with one fixed instance (drawn with a fixed seed)
and its worked answer. Demo figures are computed at export time and written as
static text (the demo's takeaway, which is built from its computed numbers).
"""

from __future__ import annotations

import json
import random
import string
import zlib
from collections.abc import Iterable
from typing import Any

from tutor.present.question import demo_command, reflow

EXPORT_SEED = 0


def numeric_instance(q, seed: int = EXPORT_SEED) -> dict[str, Any]:
    """One fixed instance of a numeric question: values, filled prompt, value and working."""
    from tutor.formulas import compute_answer

    rng = random.Random(f"{seed}:{q.id}")
    values = {name: rng.choice(options) for name, options in q.choices().items()}
    fields = {**q.answer_from.args, **values}
    result = compute_answer(q.answer_from.name, fields)
    return {"values": values, "prompt": q.prompt.format_map(fields),
            "answer": q.answer.format_map(fields), "value": result.value,
            "working": result.working}


def demo_figures(questions: Iterable, seed: int = EXPORT_SEED) -> dict[str, str]:
    """Each linked demo's takeaway, computed once per distinct (name, args)."""
    from tutor import demos
    from tutor.demos.registry import DEMOS

    cache: dict[str, str] = {}
    out: dict[str, str] = {}
    for q in questions:
        if not q.demo:
            continue
        key = json.dumps([q.demo.name, q.demo.args], sort_keys=True)
        if key not in cache:
            info = DEMOS[q.demo.name]
            params = demos.prepare(info, {**q.demo.args, "seed": seed})
            cache[key] = demos.compute(info, params)["takeaway"]
        out[q.id] = cache[key]
    return out


def to_json(bank, questions: list) -> dict[str, Any]:
    """The bank as question files, one per topic, valid against `tutor schema`."""
    files = []
    for topic in sorted({q.topic for q in questions}):
        info = bank.topics[topic]
        qs = [q.model_dump(mode="json", exclude_defaults=True) for q in questions
              if q.topic == topic]
        entry: dict[str, Any] = {"topic": topic, "title": info.title}
        if info.description:
            entry["description"] = info.description
        if info.aliases:
            entry["aliases"] = list(info.aliases)
        entry["questions"] = qs
        files.append(entry)
    return {"files": files}


def to_markdown(bank, questions: list, figures: dict[str, str]) -> str:
    """A printable study guide, by topic."""
    lines = ["# Transformer interview study guide", ""]
    topics = sorted({q.topic for q in questions})
    lines += [f"- [{bank.topics[t].title}](#{_anchor(bank.topics[t].title)})" for t in topics]
    for topic in topics:
        lines += ["", f"## {bank.topics[topic].title}", ""]
        for q in (q for q in questions if q.topic == topic):
            lines += _question_markdown(q, figures.get(q.id))
    return "\n".join(lines).rstrip() + "\n"


def _anchor(title: str) -> str:
    keep = "".join(c for c in title.lower() if c.isalnum() or c in " -")
    return keep.replace(" ", "-")


def _question_markdown(q, figure: str | None) -> list[str]:
    out = []
    if q.kind == "numeric":
        inst = numeric_instance(q)
        out += [f"### {inst['prompt'].strip()}", "", f"`{q.id}` · {q.kind} · difficulty "
                f"{q.difficulty}", "", f"**Answer:** {_num(inst['value'])}"
                f"{' ' + q.units if q.units else ''}", "", f"Working: `{inst['working']}`",
                "", reflow(inst["answer"]), ""]
    else:
        out += [f"### {reflow(q.prompt)}", "", f"`{q.id}` · {q.kind} · difficulty "
                f"{q.difficulty}", ""]
        if q.kind == "choice":
            for letter, opt in zip(string.ascii_uppercase, q.options, strict=False):
                mark = "**(correct)**" if opt.correct else "(wrong)"
                out.append(f"- {letter}. {opt.text} {mark}: {opt.explanation}")
            out.append("")
        if q.kind == "order":
            out += [f"{i}. {s}" for i, s in enumerate(q.steps, 1)] + [""]
        out += [reflow(q.answer), ""]
    if q.points:
        out += ["Key points:", ""] + [f"- {kp.point}" for kp in q.points] + [""]
    if q.misconception:
        out += [f"> **Misconception:** {reflow(q.misconception)}", ""]
    if figure:
        out += [f"Demo (`{demo_command(q.demo.name, q.demo.args)}`): {figure}", ""]
    if q.asked_in:
        out += [f"Asked in: {', '.join(q.asked_in)}", ""]
    return out


def _num(x: float) -> str:
    return f"{int(x):,}" if float(x).is_integer() and abs(x) < 1e15 else f"{x:.4g}"


# --- Anki -------------------------------------------------------------------------------------

_CSS = ".card { font-family: sans-serif; font-size: 18px; text-align: left; }" \
       " .figure { color: #2a7; } .mis { color: #a52; }"
# Fixed ids: Anki keys note types and decks by them, so re-imports update instead of duplicating.
_MODEL_IDS = {"basic": 1_607_392_319, "choice": 1_607_392_320, "numeric": 1_607_392_321}
_DECK_ROOT = 2_059_400_110
# note type -> (fields, front template, back template)
_NOTE_TYPES = {
    "basic": (("Id", "Question", "Answer", "KeyPoints", "Misconception", "Demo", "Sources"),
              "{{Question}}",
              "{{FrontSide}}<hr id=answer>{{Answer}}<br>{{KeyPoints}}<div class=mis>"
              "{{Misconception}}</div><div class=figure>{{Demo}}</div><small>{{Sources}}</small>"),
    "choice": (("Id", "Question", "Options", "Correct", "Explanations", "Answer", "Demo"),
               "{{Question}}<br>{{Options}}",
               "{{FrontSide}}<hr id=answer><b>{{Correct}}</b><br>{{Explanations}}<br>{{Answer}}"
               "<div class=figure>{{Demo}}</div>"),
    "numeric": (("Id", "Question", "Value", "Working", "Answer", "Demo"),
                "{{Question}}",
                "{{FrontSide}}<hr id=answer><b>{{Value}}</b><br><code>{{Working}}</code><br>"
                "{{Answer}}<div class=figure>{{Demo}}</div>"),
}


def _html(text: str) -> str:
    import html

    return html.escape(reflow(text)).replace("\n", "<br>")


def to_anki(bank, questions: list, figures: dict[str, str], path: str) -> int:
    """Write an .apkg: one subdeck per topic, note types by kind, GUIDs from question ids."""
    import genanki

    models = {kind: genanki.Model(_MODEL_IDS[kind], f"tutor: {kind}",
                                  fields=[{"name": n} for n in fields],
                                  templates=[{"name": "Card", "qfmt": front, "afmt": back}],
                                  css=_CSS)
              for kind, (fields, front, back) in _NOTE_TYPES.items()}
    decks: dict[str, Any] = {}
    for q in questions:
        title = bank.topics[q.topic].title
        if q.topic not in decks:
            deck_id = _DECK_ROOT + zlib.crc32(q.topic.encode())
            decks[q.topic] = genanki.Deck(deck_id, f"Transformer interviews::{title}")
        figure = figures.get(q.id, "")
        demo = f"{demo_command(q.demo.name, q.demo.args)}: {figure}" if figure else ""
        guid = genanki.guid_for("tutor", q.id)
        if q.kind == "choice":
            options = "<br>".join(f"{l}. {_html(o.text)}"
                                  for l, o in zip(string.ascii_uppercase, q.options, strict=False))
            expl = "<br>".join(f"{l}. {_html(o.explanation)}"
                               for l, o in zip(string.ascii_uppercase, q.options, strict=False))
            fields = [q.id, _html(q.prompt), options, q.correct_letters, expl, _html(q.answer),
                      _html(demo)]
            model = models["choice"]
        elif q.kind == "numeric":
            inst = numeric_instance(q)
            value = f"{_num(inst['value'])}{' ' + q.units if q.units else ''}"
            fields = [q.id, _html(inst["prompt"]), value, _html(inst["working"]),
                      _html(inst["answer"]), _html(demo)]
            model = models["numeric"]
        else:
            answer = q.answer
            if q.kind == "order":
                answer = "\n".join(f"{i}. {s}" for i, s in enumerate(q.steps, 1)) + "\n\n" + answer
            points = "<br>".join(f"• {_html(kp.point)}" for kp in q.points)
            fields = [q.id, _html(q.prompt), _html(answer), points,
                      _html(q.misconception or ""), _html(demo), ", ".join(q.asked_in)]
            model = models["basic"]
        decks[q.topic].add_note(genanki.Note(model=model, fields=fields, guid=guid,
                                             tags=[t.replace(" ", "_") for t in q.tags]))
    genanki.Package(list(decks.values())).write_to_file(path)
    return len(questions)
