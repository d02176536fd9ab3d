"""The root Typer app, the error edge, and what every command shares (options, the bank).

`_Group` is the only place that turns exceptions into exit codes and stderr lines.
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
            from tutor.format import visible

            message = visible(str(e).replace("\n", " "))
            sys.stderr.write(f"error: {message}\n")
            raise typer.Exit(e.exit_code) from None
        except (typer.Exit, typer.Abort, KeyboardInterrupt, EOFError):
            raise
        except Exception as e:  # a bug, not bad input: one line, unless debugging
            if os.environ.get("TUTOR_DEBUG") or _is_click_error(e):
                raise
            from tutor.format import visible

            sys.stderr.write(f"error: internal error ({type(e).__name__}: {visible(str(e))}); "
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


# commands whose output can be taller than the terminal: paged on a terminal
_PAGED = {"show", "list", "stats", "demo", "formulas"}


@app.callback()
def _main(
    ctx: typer.Context,
    bank: Annotated[list[Path] | None, typer.Option(
        "--bank", metavar="DIR", help="Also load questions from DIR (repeatable; "
        "TUTOR_BANK adds more, separated by ':').")] = None,
    no_pager: Annotated[bool, typer.Option(
        "--no-pager", help="Print output taller than the terminal straight out instead of "
        "through $PAGER or less (also TUTOR_PAGER=0). Output that is not a terminal is "
        "never paged.")] = False,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Show the version and exit.")] = False,
) -> None:
    """A terminal tutor for transformer and LLM interviews.

    Start with `tutor quiz`, prove an answer with `tutor demo scaling`, and
    check your own questions with `tutor validate DIR`.
    """
    _BANK_DIRS[:] = list(bank or [])
    if ctx.invoked_subcommand in _PAGED and not no_pager:
        from tutor.present.console import paged

        ctx.with_resource(paged())


def _load_bank():
    """The bank, with problems in broken files reported on stderr (those files are skipped);
    from the validated-bank cache when no file has changed."""
    from tutor.bank.cache import load_bank_cached
    from tutor.present.console import warn

    bank = load_bank_cached(_BANK_DIRS)
    for problem in bank.problems:
        warn(f"{problem} (file skipped)")
    return bank


def _load_index():
    """Question ids, topics, kinds and tags only: cached, for commands that need no more."""
    from tutor.bank.index import load_index
    from tutor.present.console import warn

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
