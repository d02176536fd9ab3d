"""Exports: the bank as JSON, a Markdown study guide, and an Anki deck.

Each format is one module with `SUFFIX`, `HELP` and `write(bank, questions) -> bytes
or str`; the command line builds one `tutor export FORMAT` command per entry of
FORMATS. An export is deterministic: numeric questions show one instance drawn with
a fixed seed per question, and a demo is named with what it shows and the command
that runs it (measured figures stay in the terminal). Files are written atomically
(a temporary file, then a rename), and the output path is checked before any work.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

from tutor.errors import TutorError, UsageError

FORMATS = {
    "anki": "Write an Anki deck (.apkg): one subdeck per topic; re-imports update notes.",
    "markdown": "Write a printable Markdown study guide with answers and demo commands.",
    "json": 'Print the bank as JSON: {"files": [question files valid against `tutor schema`]}.',
}
EXPORT_SEED = 0


def module(fmt: str):
    return importlib.import_module(f"tutor.export.{fmt}")


def check_output(fmt: str, output: Path | None) -> None:
    """Refuse a bad --output before any work is done."""
    suffix = module(fmt).SUFFIX
    if output is None:
        if fmt != "json":
            raise UsageError("--output is required", f"e.g. -o deck{suffix}")
        return
    if output.suffix != suffix:
        raise UsageError(f"--output: {output} should end in {suffix}",
                         "Anki imports .apkg files" if fmt == "anki" else f"e.g. guide{suffix}")
    if output.is_dir():
        raise UsageError(f"--output: {output} is a directory", "give a file name")
    parent = output.parent if str(output.parent) else Path(".")
    if not parent.is_dir():
        raise UsageError(f"--output: directory {parent} does not exist", "create it first")
    if not os.access(parent, os.W_OK):
        raise UsageError(f"--output: cannot write in {parent}", "choose another directory")


def export(fmt: str, bank, output: Path | None, topics: list[str], tags: list[str]) -> None:
    from tutor.present.bank import _check_filters

    check_output(fmt, output)
    _check_filters(bank, topics, [])
    questions = bank.select(topics=topics, tags=tags)
    if not questions:
        raise TutorError("no questions match the filters", "check --topic and --tag")
    if sys.stderr.isatty():  # progress on a terminal; nothing extra in pipes and logs
        from tutor.present.console import console

        with console(stderr=True).status(f"exporting {len(questions)} questions as {fmt}"):
            data = module(fmt).write(bank, questions)
    else:
        data = module(fmt).write(bank, questions)
    if output is None:
        sys.stdout.write(data)
        return
    write_atomically(output, data.encode("utf-8") if isinstance(data, str) else data)
    sys.stderr.write(f"wrote {len(questions)} questions to {output}\n")
    if fmt == "anki":
        for line in changes_since_last_export(output, questions):
            sys.stderr.write(f"note: {line}\n")


def changes_since_last_export(output: Path, questions: list) -> list[str]:
    """What Anki will see as moved or retyped since the last export to this file.

    Anki moves the cards of updated notes into their new deck on import (unless "Do not
    move existing cards" is ticked), so a renamed topic moves its cards; a note whose
    kind changed has a new note type, which Anki asks to merge.
    """
    import hashlib
    import json

    from tutor.paths import tutor_home

    key = hashlib.sha256(str(output.resolve()).encode()).hexdigest()[:16]
    path = tutor_home() / "cache" / f"anki-export-{key}.json"
    now = {q.id: [q.topic, q.kind] for q in questions}
    try:
        before = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        before = {}
    moved = sorted(q for q, (topic, _) in now.items() if q in before and before[q][0] != topic)
    retyped = sorted(q for q, (_, kind) in now.items() if q in before and before[q][1] != kind)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(now), encoding="utf-8")
    except OSError:
        pass
    out = []
    if moved:
        out.append(f"{len(moved)} question(s) changed topic ({', '.join(moved[:3])}"
                   f"{', ...' if len(moved) > 3 else ''}); importing moves their cards to the "
                   "new deck unless 'Do not move existing cards' is ticked")
    if retyped:
        out.append(f"{len(retyped)} question(s) changed kind ({', '.join(retyped[:3])}"
                   f"{', ...' if len(retyped) > 3 else ''}), so their note type changed; "
                   "tick 'Merge note types' when importing")
    return out


def write_atomically(path: Path, data: bytes) -> None:
    """Write to a temporary file beside `path`, then rename it over `path`."""
    import tempfile

    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as e:
        raise TutorError(f"--output: cannot write {path}: {e.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        os.unlink(tmp)
        raise TutorError(f"--output: cannot write {path}: {e.strerror}") from None
    except BaseException:
        os.unlink(tmp)
        raise


def instance(q) -> dict:
    """The fixed form of a question in an export: a numeric one with values drawn from
    a seed of its id, so two exports of an unchanged bank are identical."""
    import random

    if q.kind != "numeric":
        return {"prompt": q.prompt, "answer": q.answer}
    from tutor.kinds.numeric import draw
    from tutor.kinds.numeric import instance as numeric_instance

    return numeric_instance(q, draw(q, random.Random(f"{EXPORT_SEED}:{q.id}")))


def demo_parts(q) -> tuple[str, str]:
    """(what the linked demo shows, the command that runs it): no measured figures."""
    from tutor.demos.registry import DEMOS
    from tutor.present.question import demo_command

    info = DEMOS.get(q.demo.name)
    what = info.summary.rstrip(".") + "." if info else ""
    return what, demo_command(q.demo.name, q.demo.args)


def demo_line(q) -> str:
    if not q.demo:
        return ""
    what, command = demo_parts(q)
    return f"{what} Run: {command}"
