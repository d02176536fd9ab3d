"""Commands about the bank: topics, list, show, validate, schema, formulas, new."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from tutor.cli.app import (
    _BANK_DIRS,
    JsonOpt,
    TagOpt,
    TopicOpt,
    _complete_id,
    _kinds,
    _load_bank,
    _load_index,
    app,
)
from tutor.errors import TutorError


@app.command()
def topics(as_json: JsonOpt = False) -> None:
    """List the topics with their question counts.

    \b
    Example:
        tutor topics
    """
    from tutor.present.bank import topics_view

    topics_view(_load_bank(), as_json)


@app.command("list")
def list_questions(
    topic: TopicOpt = None,
    tag: TagOpt = None,
    kind: Annotated[list[str] | None, typer.Option(
        "--kind", "-k", metavar="KIND",
        help="Only this kind: " + ", ".join(_kinds()) + ".")] = None,
    source: Annotated[list[str] | None, typer.Option(
        "--source", metavar="KEY",
        help="Only questions a source asks, e.g. topicwise or day24/q2.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List questions, filtered by topic, tag, kind or source.

    JSON: an array of objects with id, topic, kind, prompt, difficulty, tags, demo, asked_in.

    \b
    Example:
        tutor list --topic masks --kind choice
    """
    from tutor.present.bank import list_view

    list_view(_load_index(), topic or [], tag or [], kind or [], source or [], as_json)


@app.command()
def show(
    question_id: Annotated[str, typer.Argument(metavar="ID", help="A question id, e.g. "
                                               "scaling/why-sqrt-dk.",
                                               autocompletion=_complete_id)],
    as_json: JsonOpt = False,
) -> None:
    """Show one question with its answer, key points, misconception, demo and sources.

    \b
    Example:
        tutor show scaling/why-sqrt-dk
    """
    from tutor.present.bank import show_view

    show_view(_load_bank(), question_id, as_json)


@app.command()
def validate(
    paths: Annotated[list[Path] | None, typer.Argument(
        metavar="[PATH]...", help="Files or directories; none means everything tutor loads.")]
        = None,
    as_json: Annotated[bool, typer.Option(
        "--json", help='One object: {"ok", "files", "questions", "topics", "problems": '
                       '[{"path", "line", "column", "message"}]}.')] = False,
) -> None:
    """Check question files and report every problem as path:line:column: message.

    Exits 1 if there is any problem.

    \b
    Example:
        tutor validate my-questions/
    """
    from tutor.present.bank import validate_view

    raise typer.Exit(validate_view(paths or [], _BANK_DIRS, as_json))


@app.command()
def schema() -> None:
    """Print the JSON Schema of a question file (for editor completion).

    \b
    Example:
        tutor schema > tutor-schema.json
    """
    import json

    from tutor.bank.schema import json_schema

    sys.stdout.write(json.dumps(json_schema(), indent=2) + "\n")


@app.command()
def formulas(as_json: JsonOpt = False) -> None:
    """List the computations numeric questions can name in `answer_from`.

    \b
    Example:
        tutor formulas
    """
    from tutor.present.bank import formulas_view

    formulas_view(as_json)


@app.command()
def new(
    file: Annotated[Path | None, typer.Option("--file", "-f", help="Append to this YAML file "
                                              "(default: TUTOR_HOME/questions/TOPIC.yaml).")]
        = None,
    kind: Annotated[str | None, typer.Option("--kind", "-k", help="One of: "
                                             + ", ".join(_kinds()) + ".")] = None,
    topic: Annotated[str | None, typer.Option("--topic", "-t", help="Topic of the question.")]
        = None,
) -> None:
    """Write a new question with a wizard; it is validated before the file changes.

    The question is appended to the file; everything already there, comments
    included, is kept. Piped stdin answers the prompts one line each, and `\\n`
    in a line becomes a line break.

    \b
    Example:
        tutor new --kind choice --topic masks
    """
    from tutor.authoring import run_wizard

    bank = _load_bank()
    extra = [file.parent] if file else []

    def ask(text: str, default: str | None = None) -> str:
        try:
            return typer.prompt(text, default=default, show_default=bool(default))
        except typer.Abort:
            raise TutorError("input ended before the question was complete; "
                             "nothing was written") from None

    qid, path = run_wizard(ask, typer.echo, file=file, kind=kind, topic=topic,
                           interactive=sys.stdin.isatty(),
                           bank_ids=set(bank.questions))
    typer.echo(f"added {qid} to {path}")
    typer.echo(f"check it: tutor{''.join(f' --bank {d}' for d in extra)} show {qid}")
