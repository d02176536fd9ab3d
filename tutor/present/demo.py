"""Demos on screen: the list of demos, and one demo computed and shown (rich or JSON)."""

from __future__ import annotations

from typing import Any

from tutor.demos.registry import DEMOS, DemoInfo


def list_demos(as_json: bool = False) -> None:
    rows = [{"name": d.name, "summary": d.summary, "topics": list(d.topics),
             "aliases": list(d.aliases)} for d in DEMOS.values()]
    if as_json:
        from tutor.present.console import print_json

        print_json(rows)
        return
    from rich.table import Table

    from tutor.present.console import console

    table = Table(title="Demos: tutor demo NAME [--help]", title_justify="left")
    table.add_column("name", no_wrap=True)
    table.add_column("what it proves", ratio=1)
    table.add_column("topics")
    for r in rows:
        table.add_row(r["name"], r["summary"], ", ".join(r["topics"]))
    console().print(table)


def show_demo(info: DemoInfo, args: dict[str, Any], *, as_json: bool = False, out=None) -> dict:
    """Check the options, compute, and print (rich or JSON). Returns the result."""
    from tutor import demos
    from tutor.present.console import console, print_json, rich_progress

    params = demos.prepare(info, args)
    result = demos.compute(info, params, progress=rich_progress())
    if as_json:
        print_json(result)
    else:
        (out or console()).print(demos.render(info, result))
    return result
