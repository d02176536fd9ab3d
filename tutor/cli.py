"""The command line: thin commands that parse options, call the package, and print.

This is the only module that turns exceptions into exit codes and stderr lines.
Heavy imports (numpy, yaml, pydantic, the bank) happen inside the commands
that need them, so `tutor --help` starts fast.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from typer.core import TyperGroup

from tutor import __version__
from tutor.errors import TutorError


class _Group(TyperGroup):
    """Turns domain errors anywhere below into one stderr line and an exit code."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except TutorError as e:
            message = str(e).replace("\n", " ")
            sys.stderr.write(f"error: {message}\n")
            raise typer.Exit(e.exit_code) from None
        except (typer.Exit, typer.Abort, KeyboardInterrupt, EOFError):
            raise
        except Exception as e:  # a bug, not bad input: one line, unless debugging
            if os.environ.get("TUTOR_DEBUG") or _is_click_error(e):
                raise
            sys.stderr.write(f"error: internal error ({type(e).__name__}: {e}); "
                             "rerun with TUTOR_DEBUG=1 for the traceback and report it\n")
            raise typer.Exit(1) from None


def _is_click_error(e: Exception) -> bool:
    # usage errors from the bundled click are shown by click itself (exit 2)
    return type(e).__module__.startswith("typer")


app = typer.Typer(
    cls=_Group,
    name="tutor",
    help="A terminal tutor for transformer and LLM interviews, with live demos that prove "
         "every answer.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

_BANK_DIRS: list[Path] = []


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"tutor {__version__}\n")
        raise typer.Exit()


@app.callback()
def _main(
    bank: Annotated[list[Path] | None, typer.Option(
        "--bank", metavar="DIR", help="Also load questions from DIR (repeatable; "
        "TUTOR_BANK adds more, separated by ':').")] = None,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Show the version and exit.")] = False,
) -> None:
    """A terminal tutor for transformer and LLM interviews.

    Start with `tutor quiz`, prove an answer with `tutor demo scaling`, and
    check your own questions with `tutor validate DIR`.
    """
    _BANK_DIRS[:] = list(bank or [])


def _load_bank():
    """The bank, with problems in broken files reported on stderr (those files are skipped)."""
    from tutor.bank import load_bank
    from tutor.ui import warn

    bank = load_bank(_BANK_DIRS)
    for problem in bank.problems:
        warn(f"{problem} (file skipped)")
    return bank


def _load_index():
    """Question ids, topics, kinds and tags only: cached, for commands that need no more."""
    from tutor.bank.index import load_index
    from tutor.ui import warn

    bank = load_index(_BANK_DIRS)
    for problem in bank.problems:
        warn(f"{problem} (file skipped)")
    return bank


def _kinds() -> tuple[str, ...]:
    from tutor.kinds import KINDS  # module names only: no pydantic

    return KINDS


def _complete_topic(incomplete: str) -> list[str]:
    from tutor.completion import topics

    return topics(incomplete)


def _complete_id(incomplete: str) -> list[str]:
    from tutor.completion import question_ids

    return question_ids(incomplete)


def _complete_demo(incomplete: str) -> list[str]:
    from tutor.completion import demo_names

    return demo_names(incomplete)


TopicOpt = Annotated[list[str] | None, typer.Option(
    "--topic", "-t", metavar="TOPIC", help="Only this topic (repeatable).",
    autocompletion=_complete_topic)]
TagOpt = Annotated[list[str] | None, typer.Option("--tag", metavar="TAG",
                                                  help="Only this tag (repeatable).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


@app.command()
def topics(as_json: JsonOpt = False) -> None:
    """List the topics with their question counts.

    \b
    Example:
        tutor topics
    """
    from tutor.views import topics_view

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
    from tutor.views import list_view

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
    from tutor.views import show_view

    show_view(_load_bank(), question_id, as_json)


@app.command()
def validate(
    paths: Annotated[list[Path] | None, typer.Argument(
        metavar="[PATH]...", help="Files or directories; none means everything tutor loads.")]
        = None,
) -> None:
    """Check question files and report every problem as path:line:column: message.

    Exits 1 if there is any problem.

    \b
    Example:
        tutor validate my-questions/
    """
    from tutor.views import validate_view

    raise typer.Exit(validate_view(paths or [], _BANK_DIRS))


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
    from tutor.views import formulas_view

    formulas_view(as_json)


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True,
                               "help_option_names": []})
def demo(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(
        metavar="[NAME]", help="A demo name, topic or alias; none lists the demos.",
        autocompletion=_complete_demo)] = None,
) -> None:
    """Run a live demo that proves an answer; with no name, list the demos.

    Every demo takes --seed and --json; `tutor demo NAME --help` lists its options.

    \b
    Example:
        tutor demo scaling --d-k 64 --d-k 1024
    """
    from tutor.demo_cli import run_demo_command

    run_demo_command(name, list(ctx.args), _BANK_DIRS)


@app.command()
def quiz(
    topic: TopicOpt = None,
    tag: TagOpt = None,
    count: Annotated[int | None, typer.Option("--count", "-n", help="At most N cards.")] = None,
    new: Annotated[bool, typer.Option("--new", help="Only cards never seen before.")] = False,
    cram: Annotated[bool, typer.Option("--cram", help="Review ahead, weakest first, without "
                                       "changing the schedule (logged as cram).")] = False,
    interview_date: Annotated[str | None, typer.Option(
        "--interview-date", metavar="YYYY-MM-DD", help="Order cards by predicted recall on "
        "that day (lowest first) and report readiness by topic.")] = None,
    seed: Annotated[int | None, typer.Option(
        "--seed", help="Reproducible card order and numeric values.")] = None,
    new_limit: Annotated[int | None, typer.Option(
        "--new-limit", metavar="N", help="New cards in this run (default: new_per_day in "
        "settings.toml, 10, less those started today).")] = None,
    as_json: Annotated[bool, typer.Option(
        "--json", help="One JSON line per graded card on stdout, then a summary line; "
                       "prompts go to stderr.")] = False,
    now: Annotated[str | None, typer.Option("--now", hidden=True,
                                            help="Pretend it is this ISO 8601 time.")] = None,
) -> None:
    """Spaced-repetition quiz: due reviews first, then new cards; every answer is saved at once.

    Keys while a card is open: d proves the answer with its live demo, h shows the hint,
    s skips, q quits. Recall cards: Enter reveals the answer, then rate 1-4 (again, hard,
    good, easy). Choice: letters (A,C). Order: step numbers (3 1 2). Numeric: 124M, 1.2e8,
    2^30, 2 GiB. When a choice card has an option D, H, S or Q, type :d, :h, :s or :q.

    Scripted use (stdin is not a terminal), one line at a time:

    \b
      - each card's prompt is printed, then one line is read as the answer;
      - recall and keypoints cards then read one more line, the rating:
        1-4 or again/hard/good/easy;
      - a line `q` ends the session; end of input ends it cleanly;
      - everything answered is saved; scripted answers are never rated Easy;
      - with --json, stdout has one JSON object per graded card (id, kind,
        correct (null when self-rated), rating, due (ISO UTC), answer, expected,
        values for numeric cards), then {"summary": {...}}.

    Settings live in TUTOR_HOME/settings.toml (new_per_day = 10,
    desired_retention = 0.9). TUTOR_NOW=ISO8601 fixes the clock, for testing.

    \b
    Example:
        tutor quiz --topic masks -n 5
        printf 'B\\n3\\nq\\n' | tutor quiz --seed 1 --json
    """
    from datetime import date

    from tutor.clock import parse_now
    from tutor.errors import UsageError
    from tutor.session.loop import QuizOptions, run_quiz

    when = None
    if interview_date is not None:
        try:
            when = date.fromisoformat(interview_date)
        except ValueError:
            raise UsageError(f"--interview-date: {interview_date!r} is not YYYY-MM-DD") from None
    env_now = os.environ.get("TUTOR_NOW")
    clock = (parse_now(now, "--now") if now else
             parse_now(env_now, "TUTOR_NOW") if env_now else None)
    options = QuizOptions(topic or [], tag or [], count, new, cram, when, seed, new_limit,
                          as_json, clock)
    try:
        code = run_quiz(_load_bank(), options)
    except KeyboardInterrupt:
        code = 130  # before the first card: nothing to save
    raise typer.Exit(code)


@app.command()
def grade(
    question_id: Annotated[str, typer.Argument(metavar="ID", help="A question id, e.g. "
                                               "masks/causal-pair-count.",
                                               autocompletion=_complete_id)],
    value: Annotated[list[str] | None, typer.Option(
        "--value", metavar="KEY=VALUE", help="Fix a varied value (repeatable), e.g. "
        "--value n=2048 or --value lengths=1000,40,40,40; order=3,1,2 fixes the shown "
        "order of an order card.")] = None,
    seed: Annotated[int | None, typer.Option(
        "--seed", help="Draw the values not fixed by --value reproducibly.")] = None,
    as_json: Annotated[bool, typer.Option(
        "--json", help="One JSON object: id, kind, correct, score, covered, missed, flags, "
                       "rating, expected, and values for numeric cards.")] = False,
) -> None:
    """Grade one answer (read from stdin) exactly as the quiz would; nothing is recorded.

    Choice letters are those of `tutor show`. Numeric values not fixed with --value
    are drawn as the quiz would, and printed. `correct` is null where the user is
    the judge (recall, keypoints); `score` is the share of key points covered (1 or 0
    for the other kinds); `flags` are the wrong claims the answer states.

    \b
    Example:
        echo "2^21" | tutor grade masks/causal-pair-count --value n=2048
        echo "A,C" | tutor grade architecture/encoder-vs-decoder --json
    """
    from tutor.grade import grade_view

    if sys.stdin.isatty():
        sys.stderr.write("Type the answer, then Ctrl-D:\n")
    answer = sys.stdin.read()
    grade_view(_load_bank(), question_id, answer.strip("\n"), value or [], as_json, seed)


@app.command()
def stats(
    topic: TopicOpt = None,
    as_json: JsonOpt = False,
    now: Annotated[str | None, typer.Option("--now", hidden=True,
                                            help="Pretend it is this ISO 8601 time.")] = None,
) -> None:
    """What is mastered, what is slipping, and what is due.

    Per topic: cards seen of those in the bank, mean predicted recall, lapses and
    true retention over 30 days. Overall: due today, a 7-day forecast, the streak,
    study time, the ten weakest questions and reviews per day.

    \b
    Example:
        tutor stats --json
    """
    from tutor.clock import parse_now
    from tutor.stats import stats_view

    env_now = os.environ.get("TUTOR_NOW")
    clock = (parse_now(now, "--now") if now else
             parse_now(env_now, "TUTOR_NOW") if env_now else None)
    stats_view(_load_index(), topic or [], as_json, clock)


@app.command()
def reset(
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask first.")] = False,
) -> None:
    """Start afresh: move the progress store to a timestamped backup.

    \b
    Example:
        tutor reset --yes
    """
    from tutor.stats import reset_view

    reset_view(yes)


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
                           bank_ids=set(bank.questions))
    typer.echo(f"added {qid} to {path}")
    typer.echo(f"check it: tutor{''.join(f' --bank {d}' for d in extra)} show {qid}")


export_app = typer.Typer(cls=_Group, no_args_is_help=True, rich_markup_mode=None,
                         help="Export the bank: an Anki deck, a Markdown study guide, or JSON.")
app.add_typer(export_app, name="export")


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


def main() -> None:
    try:
        app(prog_name="tutor")
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)
