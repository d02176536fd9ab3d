"""`tutor export ...`: select questions, compute demo figures, and write the file."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tutor.errors import TutorError


def export(fmt: str, bank, output: Path | None, topics: list[str], tags: list[str]) -> None:
    from tutor import export as ex
    from tutor.views import _check_filters

    _check_filters(bank, topics, [])
    questions = bank.select(topics=topics, tags=tags)
    if not questions:
        raise TutorError("no questions match the filters", "check --topic and --tag")
    if fmt == "json":
        text = json.dumps(ex.to_json(bank, questions), indent=2, ensure_ascii=False) + "\n"
        if output is None:
            sys.stdout.write(text)
            return
        _write(output, text)
    elif fmt == "markdown":
        _write(output, ex.to_markdown(bank, questions, ex.demo_figures(questions)))
    else:
        try:
            import genanki  # noqa: F401
        except ImportError:
            raise TutorError("Anki export needs genanki",
                             "install it with: pip install 'transformer-tutor[anki]'") from None
        figures = ex.demo_figures(questions)
        if output.suffix != ".apkg":
            raise TutorError(f"--output: {output} should end in .apkg", "Anki imports .apkg files")
        ex.to_anki(bank, questions, figures, str(output))
    sys.stderr.write(f"wrote {len(questions)} questions to {output}\n")


def _write(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as e:
        raise TutorError(f"--output: cannot write {path}: {e.strerror}") from None
