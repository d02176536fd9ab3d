"""`tutor demo`: the command, and one Typer command built per demo from its typed spec."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tutor.cli.app import _BANK_DIRS, _complete_demo, app

if TYPE_CHECKING:
    from tutor.demos.registry import DemoInfo, Param


def run_demo_command(name: str | None, args: list[str], bank_dirs: list[Path]) -> None:
    if name is not None and name.startswith("-"):  # `tutor demo --json`: options, no name
        name, args = None, [name, *args]
    if name is None or name in ("--help", "-h"):
        from tutor.present.demo import list_demos

        list_demos(as_json="--json" in args)
        return
    from tutor.demos import find

    info = find(name, _topic_aliases(name, bank_dirs))
    sub = typer.Typer(add_completion=False, pretty_exceptions_enable=False,
                      rich_markup_mode=None,
                      context_settings={"help_option_names": ["-h", "--help"]})
    sub.command(name=info.name, help=_help(info))(_command(info))
    sub(args, prog_name=f"tutor demo {info.name}")


def _topic_aliases(name: str, bank_dirs: list[Path]) -> dict[str, tuple[str, ...]]:
    """Topic names and aliases from the bank, loaded only when `name` is no demo or alias."""
    from tutor.demos.registry import lookup

    if lookup(name) is not None:
        return {}
    from tutor.bank import load_bank

    bank = load_bank(bank_dirs)
    return {t.name: t.aliases for t in bank.topics.values()}


def _help(info: DemoInfo) -> str:
    return (f"{info.summary}.\n\nTopics: {', '.join(info.topics)}."
            + (f" Also called: {', '.join(info.aliases)}." if info.aliases else ""))


def _annotation(p: Param) -> Any:
    from tutor.demos.registry import _fmt

    default = p.default
    shown = ("none" if default is None else
             ", ".join(map(str, default)) if isinstance(default, list) else str(default))
    extra = f" One of: {', '.join(p.choices)}." if p.choices else ""
    if p.min is not None and p.max is not None and not p.choices and p.type is not bool:
        extra += f" Range {_fmt(p.min)}..{_fmt(p.max)}."
    help_text = f"{p.help}{extra} [default: {shown}]"
    if p.type is bool:
        dashed = p.name.replace("_", "-")
        return Annotated[bool | None, typer.Option(f"--{dashed}/--no-{dashed}", help=help_text,
                                                   show_default=False)]
    kind = list[p.type] if p.multiple else p.type
    return Annotated[kind | None, typer.Option(p.flag, help=help_text, show_default=False,
                                               metavar=_metavar(p))]


def _metavar(p: Param) -> str:
    if p.choices:
        return "[" + "|".join(p.choices) + "]"
    return {int: "INT", float: "NUM", str: "TEXT"}.get(p.type, "VALUE")


def _command(info: DemoInfo):
    from tutor.demos.registry import all_params

    params = [inspect.Parameter(p.name, inspect.Parameter.KEYWORD_ONLY, default=None,
                                annotation=_annotation(p)) for p in all_params(info)]
    params.append(inspect.Parameter(
        "as_json", inspect.Parameter.KEYWORD_ONLY, default=False,
        annotation=Annotated[bool, typer.Option("--json", help="Print one JSON object.")]))

    def run(**kwargs: Any) -> None:
        as_json = kwargs.pop("as_json")
        given = {k: v for k, v in kwargs.items() if v is not None}
        from tutor.present.demo import show_demo

        show_demo(info, given, as_json=as_json)

    run.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    run.__annotations__ = {p.name: p.annotation for p in params}
    run.__doc__ = _help(info)
    return run


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
    run_demo_command(name, list(ctx.args), _BANK_DIRS)
