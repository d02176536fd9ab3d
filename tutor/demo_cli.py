"""`tutor demo`: list the demos, or build one demo's typed options and run it."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Annotated, Any

import typer

from tutor.demos.registry import DEMOS, DemoInfo, Param, _fmt, all_params
from tutor.errors import UsageError


def run_demo_command(name: str | None, args: list[str], bank_dirs: list[Path]) -> None:
    if name is None or name in ("--help", "-h"):
        list_demos(as_json="--json" in args)
        return
    from tutor.demos import find

    info = find(name, _topic_aliases(name, bank_dirs))
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False,
                      rich_markup_mode=None,
                      context_settings={"help_option_names": ["-h", "--help"]})
    app.command(name=info.name, help=_help(info))(_command(info))
    app(args, prog_name=f"tutor demo {info.name}")


def _topic_aliases(name: str, bank_dirs: list[Path]) -> dict[str, tuple[str, ...]]:
    """Topic names and aliases from the bank, loaded only when `name` is no demo or alias."""
    from tutor.demos.registry import lookup

    if lookup(name) is not None:
        return {}
    from tutor.bank import load_bank

    bank = load_bank(bank_dirs)
    return {t.name: t.aliases for t in bank.topics.values()}


def list_demos(as_json: bool = False) -> None:
    rows = [{"name": d.name, "summary": d.summary, "topics": list(d.topics),
             "aliases": list(d.aliases)} for d in DEMOS.values()]
    if as_json:
        from tutor.ui import print_json

        print_json(rows)
        return
    from rich.table import Table

    from tutor.ui import console

    table = Table(title="Demos: tutor demo NAME [--help]", title_justify="left")
    table.add_column("name", no_wrap=True)
    table.add_column("what it proves", ratio=1)
    table.add_column("topics")
    for r in rows:
        table.add_row(r["name"], r["summary"], ", ".join(r["topics"]))
    console().print(table)


def _help(info: DemoInfo) -> str:
    return (f"{info.summary}.\n\nTopics: {', '.join(info.topics)}."
            + (f" Also called: {', '.join(info.aliases)}." if info.aliases else ""))


def _annotation(p: Param) -> Any:
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
    params = [inspect.Parameter(p.name, inspect.Parameter.KEYWORD_ONLY, default=None,
                                annotation=_annotation(p)) for p in all_params(info)]
    params.append(inspect.Parameter(
        "as_json", inspect.Parameter.KEYWORD_ONLY, default=False,
        annotation=Annotated[bool, typer.Option("--json", help="Print one JSON object.")]))

    def run(**kwargs: Any) -> None:
        as_json = kwargs.pop("as_json")
        given = {k: v for k, v in kwargs.items() if v is not None}
        show_demo(info, given, as_json=as_json)

    run.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    run.__annotations__ = {p.name: p.annotation for p in params}
    run.__doc__ = _help(info)
    return run


def show_demo(info: DemoInfo, args: dict[str, Any], *, as_json: bool = False, out=None) -> dict:
    """Check the options, compute, and print (rich or JSON). Returns the result."""
    from tutor import demos
    from tutor.ui import console, print_json, rich_progress

    params = demos.prepare(info, args)
    result = demos.compute(info, params, progress=rich_progress())
    if as_json:
        print_json(result)
    else:
        (out or console()).print(demos.render(info, result))
    return result


__all__ = ["run_demo_command", "show_demo", "list_demos", "UsageError"]
