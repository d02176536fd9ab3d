"""`tutor drill`: list the drills, write a stub, check it against the engine, show a solution."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from typer.core import TyperGroup

STUB_COMMAND = "start"


class _DrillGroup(TyperGroup):
    """`tutor drill NAME ...` means `tutor drill start NAME ...`."""

    def parse_args(self, ctx, args):
        if args and not args[0].startswith("-") and args[0] not in self.commands:
            args = [STUB_COMMAND, *args]
        return super().parse_args(ctx, args)


app = typer.Typer(cls=_DrillGroup, invoke_without_command=True, rich_markup_mode=None,
                  subcommand_metavar="[NAME | check NAME | show NAME]")

NameArg = Annotated[str, typer.Argument(metavar="NAME", help="A drill name, e.g. attention.")]
NowOpt = Annotated[str | None, typer.Option("--now", hidden=True,
                                            help="Pretend it is this ISO 8601 time.")]


@app.callback(invoke_without_command=True)
def drills(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print JSON: a list of {name, function, topic, difficulty, title, "
        "status, due}.")] = False,
    now: NowOpt = None,
) -> None:
    """Implement softmax, attention, RoPE and more yourself, graded against the engine.

    With no NAME, list the drills and their status (new, passed, due, failed).
    `tutor drill NAME` writes a stub to TUTOR_HOME/drills/NAME.py (kept if it
    exists; --fresh starts over, keeping a backup) and opens $EDITOR.
    `tutor drill check NAME` runs your file in a separate process with a time
    and memory limit, compares it with the engine on cases from small to
    adversarial, and shows the smallest failing case. A passed drill becomes a
    card that comes back on the spaced-repetition schedule.

    \b
    Example:
        tutor drill attention
        tutor drill check attention --watch
    """
    if ctx.invoked_subcommand is None:
        from tutor.drills.progress import now_utc
        from tutor.drills.views import list_view

        list_view(as_json, now_utc(now))


@app.command(STUB_COMMAND, hidden=True)
def start(
    name: NameArg,
    fresh: Annotated[bool, typer.Option(
        "--fresh", help="Start over: back up the existing file, then write a new stub.")] = False,
    file: Annotated[Path | None, typer.Option(
        "--file", "-f", metavar="PATH", help="Write the stub here instead.")] = None,
) -> None:
    """Write the stub for drill NAME and open it in $EDITOR."""
    from tutor.drills.views import start_view

    start_view(name, file, fresh)


@app.command()
def check(
    name: NameArg,
    file: Annotated[Path | None, typer.Option(
        "--file", "-f", metavar="PATH",
        help="Check this file (default: TUTOR_HOME/drills/NAME.py).")] = None,
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print one JSON object: passed, checks, failing_case, measurements, "
        "due.")] = False,
    watch: Annotated[bool, typer.Option(
        "--watch", "-w", help="Check again on every save; Ctrl-C stops.")] = False,
    time_limit: Annotated[float | None, typer.Option(
        "--time-limit", metavar="SECONDS", help="Wall-clock limit for one run (default 20).",
        min=0.5, max=600)] = None,
    now: NowOpt = None,
) -> None:
    """Grade your implementation of drill NAME against the engine.

    Exit code 0 when every check passes, 1 otherwise.

    \b
    Example:
        tutor drill check softmax
        tutor drill check rope --file my_rope.py --json
    """
    from tutor.drills.progress import now_utc
    from tutor.drills.registry import get_drill
    from tutor.drills.views import check_path, run_check
    from tutor.drills.views import watch as watch_loop

    drill = get_drill(name)
    path = check_path(drill, file)
    fixed = now_utc(now) if now else None
    if watch:
        raise typer.Exit(watch_loop(drill, path, as_json, True, fixed))
    passed = run_check(drill, path, as_json, True, fixed, time_limit)
    raise typer.Exit(0 if passed else 1)


@app.command()
def show(
    name: NameArg,
    spoil: Annotated[bool, typer.Option(
        "--spoil", help="Show it even though the drill has not passed yet.")] = False,
    now: NowOpt = None,
) -> None:
    """Show the reference solution of drill NAME (once your drill has passed).

    \b
    Example:
        tutor drill show softmax
    """
    from tutor.drills.progress import now_utc
    from tutor.drills.views import show_view

    show_view(name, spoil, now_utc(now))
