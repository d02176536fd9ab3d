"""What the drill commands print: the list, a check's report, the solution."""

from __future__ import annotations

import sys
import time
from datetime import datetime
from pathlib import Path

from tutor.drills import progress
from tutor.drills.registry import Drill, get_drill, list_drills
from tutor.errors import TutorError

MARKS = {"passed": "ok", "failed": "FAIL", "not run": "--"}


def _console():
    from tutor.present.console import console

    return console()


def _esc(text: str) -> str:
    from rich.markup import escape

    return escape(text)


# ----------------------------------------------------------------------------- list

def list_rows(now: datetime) -> list[dict]:
    rows = progress.card_rows()
    out = []
    for d in list_drills():
        row = rows.get(d.question_id)
        out.append({"name": d.name, "function": d.function, "topic": d.topic,
                    "difficulty": d.difficulty, "title": d.title,
                    "status": progress.status(d.name, rows, now),
                    "due": row.due if row is not None else None})
    return out


def list_view(as_json: bool, now: datetime) -> None:
    rows = list_rows(now)
    if as_json:
        from tutor.present.console import print_json

        print_json(rows)
        return
    from rich.table import Table

    table = Table(title="Drills: `tutor drill NAME` writes a stub, `tutor drill check NAME` "
                  "grades it", title_justify="left")
    for col in ("name", "status", "level"):
        table.add_column(col, no_wrap=True)
    table.add_column("implement", ratio=1)
    style = {"passed": "green", "failed": "red", "due": "yellow", "new": ""}
    for r in rows:
        st = r["status"]
        table.add_row(r["name"], f"[{style[st]}]{st}[/]" if style[st] else st, r["difficulty"],
                      _esc(r["title"]))
    _console().print(table)


# ----------------------------------------------------------------------------- stub

def start_view(name: str, file: Path | None, fresh: bool) -> None:
    from tutor.drills.stubs import default_path, write_stub

    drill = get_drill(name)
    path = file or default_path(drill)
    path, backup, written = write_stub(drill, path, fresh)
    out = sys.stdout
    if backup is not None:
        out.write(f"kept your previous file as {backup}\n")
    if written:
        out.write(f"wrote the stub for {drill.name} to {path}\n")
    else:
        out.write(f"{path} already exists; kept it as it is (--fresh starts over, keeping a "
                  "backup)\n")
    out.write(f"implement {drill.function}(), then run: tutor drill check {drill.name}"
              f"{'' if file is None else f' --file {path}'}\n")
    out.flush()
    _open_editor(path)


def _open_editor(path: Path) -> None:
    import os
    import shlex
    import subprocess

    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR")
    if not editor or not (sys.stdin.isatty() and sys.stdout.isatty()):
        return
    try:
        subprocess.call([*shlex.split(editor), str(path)])
    except OSError as e:
        sys.stderr.write(f"warning: could not start the editor {editor!r}: {e.strerror}\n")


# ----------------------------------------------------------------------------- check

def check_path(drill: Drill, file: Path | None) -> Path:
    from tutor.drills.stubs import default_path

    path = file.expanduser() if file is not None else default_path(drill)
    if not path.is_file():
        hint = (f"run `tutor drill {drill.name}` to write the stub there" if file is None
                else "check the path")
        raise TutorError(f"{path}: no such file", hint)
    return path


def run_check(drill: Drill, path: Path, as_json: bool, record: bool, now: datetime | None,
              time_limit: float | None = None) -> bool:
    from tutor.drills.grading import check

    start = time.perf_counter()
    result = check(drill.name, path, time_limit=time_limit)
    due = None
    if record:
        from tutor.errors import StoreError

        when = now or progress.now_utc()
        try:
            row = progress.record(drill, result.passed, when,
                                  elapsed_ms=int((time.perf_counter() - start) * 1000),
                                  summary={"checks": len(result.checks),
                                           "failed": [c.name for c in result.checks
                                                      if not c.passed]})
            due = row.due if row is not None else None
        except StoreError as e:   # the result is still worth showing
            sys.stderr.write(f"warning: the result was not saved: {e}\n")
    if as_json:
        from tutor.present.console import print_json

        data = result.to_json()
        data["due"] = due
        print_json(data)
    else:
        render_result(result, due, now)
    return result.passed


def render_result(result, due: str | None, now: datetime | None) -> None:
    from tutor.drills.compare import show

    con = _console()
    con.print(f"[bold]drill {result.drill}[/]: {_esc(result.path)}")
    width = max((len(c.name) for c in result.checks), default=0)
    fc = result.failing_case
    for c in result.checks:
        if c.result == "passed":
            con.print(f"  [green]ok[/]   {_esc(c.name):<{width}}  [dim]{_esc(c.message)}[/]")
            continue
        colour = "red" if c.result == "failed" else "dim"
        con.print(f"  [{colour}]{MARKS[c.result]:<4}[/] {_esc(c.name)}")
        con.print(f"       {_esc(c.message)}")
        if c.hint and not (fc is not None and fc.check == c.name and fc.inputs):
            con.print(f"       [dim]hint: {_esc(c.hint)}[/]")   # else shown with the case
    for line in result.traceback:
        con.print(f"    {_esc(line)}", highlight=False)
    fc = result.failing_case
    if fc is not None and fc.inputs:
        con.print(f"\n[bold]smallest failing case[/] ({_esc(fc.check)}):")
        for name, value in fc.inputs.items():
            _print_block(con, f"{name} = ", show(value))
        _print_block(con, "expected: ", show(fc.expected))
        if fc.error is not None:
            con.print(f"  received: [red]{_esc(fc.error)}[/]")
            for line in fc.traceback:
                con.print(f"    {_esc(line)}")
        else:
            _print_block(con, "received: ", show(fc.received))
            if fc.index is not None:
                where = f"{fc.where}" if fc.where else ""
                con.print(f"  first difference{_esc(where)} at index {_esc(str(list(fc.index)))}:")
                con.print(f"    expected {fc.expected_value!r}, received {fc.received_value!r}")
            con.print(f"  [red]{_esc(fc.message)}[/]")
        for h in fc.hints:
            con.print(f"  hint: {_esc(h)}")
    elif fc is not None and not fc.inputs and result.problem is None:
        for h in fc.hints:
            con.print(f"  hint: {_esc(h)}")
    if result.stdout.strip() or result.stderr.strip():
        for label, text in (("stdout", result.stdout), ("stderr", result.stderr)):
            if text.strip():
                con.print(f"\nyour code printed ({label}, first lines):")
                lines = text.rstrip().splitlines()
                for line in lines[:12]:
                    con.print(f"  | {_esc(line[:200])}", highlight=False)
                if len(lines) > 12:
                    con.print(f"  | ... ({len(lines) - 12} more lines)")
    con.print("\n[dim]tolerances:[/]")
    for part in result.tolerance.split("; "):
        con.print(f"[dim]  {_esc(part)}[/]")
    n_ok = sum(c.passed for c in result.checks)
    verdict = "[green]PASSED[/]" if result.passed else "[red]FAILED[/]"
    tail = f" ({n_ok} of {len(result.checks)} checks passed)"
    if due is not None:
        tail += f"; next review {_when(due, now)}"
    con.print(f"{verdict}{tail}")


def _print_block(con, label: str, text: str) -> None:
    lines = text.splitlines() or [""]
    con.print(f"  {label}{_esc(lines[0])}", highlight=False)
    pad = " " * (2 + len(label))
    for line in lines[1:]:
        con.print(f"{pad}{_esc(line)}", highlight=False)


def _when(due: str, now: datetime | None) -> str:
    now = now or progress.now_utc()
    seconds = (datetime.fromisoformat(due) - now).total_seconds()
    if seconds < 90:
        return "in about a minute"
    if seconds < 5400:
        return f"in {round(seconds / 60)} minutes"
    if seconds < 2 * 86400:
        return f"in {round(seconds / 3600)} hours"
    return f"in {round(seconds / 86400)} days"


def watch(drill: Drill, path: Path, as_json: bool, record: bool, now: datetime | None,
          interval: float = 0.5) -> int:
    """Check on every save (polling the file's mtime) until Ctrl-C, which returns 130."""
    last = None
    try:
        while True:
            try:
                stamp = (path.stat().st_mtime_ns, path.stat().st_size)
            except OSError:
                stamp = None
            if stamp != last and stamp is not None:
                last = stamp
                run_check(drill, path, as_json, record, now)
                sys.stdout.write(f"\nwatching {path} for changes (Ctrl-C to stop)\n")
                sys.stdout.flush()
            time.sleep(interval)
    except KeyboardInterrupt:
        sys.stdout.write("\nstopped watching\n")
        return 130


# ----------------------------------------------------------------------------- show

def show_view(name: str, spoil: bool, now: datetime) -> None:
    from tutor.drills.stubs import solution_source

    drill = get_drill(name)
    st = progress.status(drill.name, progress.card_rows(), now)
    if st not in ("passed", "due") and not spoil:
        raise TutorError(f"the reference solution of {drill.name} is shown once your drill "
                         f"passes (it is {st})",
                         f"run `tutor drill check {drill.name}`, or add --spoil to see it now")
    sys.stdout.write(f"# reference solution: {drill.name}\n")
    sys.stdout.write(solution_source(drill))
