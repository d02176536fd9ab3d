"""An Anki deck (.apkg): one subdeck per topic, a note type per kind, GUIDs from ids.

Every field is HTML-escaped; formulas written as `x^2`, `sqrt(d_k)` or `O(n^2)`
become Anki's MathJax `\\( ... \\)`. Note fields depend only on the bank, so
re-importing an unchanged bank changes nothing, and a changed question updates
its note in place.
"""

from __future__ import annotations

import html as _html
import re
import zlib
from typing import Any

SUFFIX = ".apkg"
CSS = (".card { font-family: sans-serif; font-size: 18px; text-align: left; }"
       " .figure { color: #2a7; } .mis { color: #a52; }")
# Fixed ids: Anki keys note types and decks by them, so re-imports update instead of duplicating.
MODEL_IDS = {"basic": 1_607_392_319, "choice": 1_607_392_320, "numeric": 1_607_392_321}
DECK_ROOT = 2_059_400_110

_POWER = re.compile(r"(?<![\w\\])((?:\w+|\))\^(?:\{[^}]*\}|\([^()]{1,12}\)|[-\w.]{1,12}))")
_SQRT = re.compile(r"\bsqrt\(([^()]{1,24})\)")
_BIG_O = re.compile(r"\bO\(([^()]{1,24})\)")


def mathjax(text: str) -> str:
    """Escaped text with its formulas as MathJax: n^2 -> \\(n^{2}\\), sqrt(d_k) -> ..."""
    escaped = _html.escape(text, quote=True)

    def power(m: re.Match) -> str:
        base, _, exp = m[1].partition("^")
        exp = exp.strip("{}")
        if exp.startswith("(") and exp.endswith(")"):
            exp = exp[1:-1]
        return rf"\({base}^{{{exp}}}\)"

    out = _SQRT.sub(lambda m: rf"\(\sqrt{{{m[1]}}}\)", escaped)
    out = _BIG_O.sub(lambda m: rf"\(O({m[1]})\)", out)
    # powers, outside the formulas already made
    pieces = re.split(r"(\\\(.*?\\\))", out)
    return "".join(p if p.startswith(r"\(") else _POWER.sub(power, p) for p in pieces)


def html(text: str) -> str:
    from tutor.present.question import reflow

    return mathjax(reflow(text)).replace("\n", "<br>")


def _note_type(module) -> str:
    return getattr(module, "ANKI_NOTE_TYPE", module.NAME)


def write(bank, questions: list) -> bytes:
    import os
    import tempfile

    import genanki

    from tutor.export import demo_line, instance
    from tutor.kinds import kind

    models: dict[str, Any] = {}
    decks: dict[str, Any] = {}
    for q in questions:
        mod = kind(q.kind)
        note_type = _note_type(mod)
        if note_type not in models:
            model_id = MODEL_IDS.get(note_type, 1_607_392_400 + zlib.crc32(note_type.encode())
                                     % 10_000)
            models[note_type] = genanki.Model(
                model_id, f"tutor: {note_type}", fields=[{"name": n} for n in mod.ANKI_FIELDS],
                templates=[{"name": "Card", "qfmt": mod.ANKI_FRONT, "afmt": mod.ANKI_BACK}],
                css=CSS)
        title = bank.topics[q.topic].title
        if q.topic not in decks:
            deck_id = DECK_ROOT + zlib.crc32(q.topic.encode())
            decks[q.topic] = genanki.Deck(deck_id, f"Transformer interviews::{title}")
        inst = instance(q)
        parts = mod.anki(q, html, inst) if q.kind == "numeric" else mod.anki(q, html)
        parts = {"Id": _html.escape(q.id), "Demo": html(demo_line(q)), **parts}
        fields = [parts.get(name, "") for name in mod.ANKI_FIELDS]
        decks[q.topic].add_note(genanki.Note(
            model=models[note_type], fields=fields, guid=genanki.guid_for("tutor", q.id),
            tags=[re.sub(r"\s+", "_", t) for t in q.tags]))
    fd, tmp = tempfile.mkstemp(suffix=".apkg")
    os.close(fd)
    try:
        genanki.Package(list(decks.values())).write_to_file(tmp, timestamp=0)
        with open(tmp, "rb") as f:
            return f.read()
    finally:
        os.unlink(tmp)
