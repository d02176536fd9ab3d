"""`tutor export FORMAT`: one command per format listed in tutor.export.FORMATS."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tutor.cli.app import (
    TagOpt,
    TopicOpt,
    _Group,
    _load_bank,
    app,
)
from tutor.drills.cli import app as drill_app

export_app = typer.Typer(cls=_Group, no_args_is_help=True, rich_markup_mode=None,
                         help="Export the bank: an Anki deck, a Markdown study guide, or JSON.")
app.add_typer(export_app, name="export")
app.add_typer(drill_app, name="drill")


def _export_command(fmt: str, summary: str):
    example = {"anki": "tutor export anki -o transformers.apkg --topic masks",
               "markdown": "tutor export markdown -o study-guide.md",
               "json": "tutor export json --topic masks > masks.json"}[fmt]
    help_text = "File to write." + (" Default: stdout." if fmt == "json" else "")

    def command(output=None, topic=None, tag=None) -> None:
        from tutor.export import export

        export(fmt, _load_bank(), output, topic or [], tag or [])

    # real objects, not strings: the annotations depend on the format
    command.__annotations__ = {
        "output": Annotated[Path | None, typer.Option("--output", "-o", help=help_text)],
        "topic": TopicOpt, "tag": TagOpt, "return": None}
    command.__doc__ = f"{summary}\n\n\b\nExample:\n    {example}\n"
    export_app.command(fmt)(command)


def _register_exports() -> None:
    # the format list is plain data in tutor/export/__init__.py; no exporter is imported here
    import importlib

    formats = importlib.import_module("tutor.export").FORMATS
    for fmt, summary in formats.items():
        _export_command(fmt, summary)


_register_exports()
