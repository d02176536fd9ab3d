"""What the bank commands print: rich tables for people, JSON for scripts."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from tutor.errors import TutorError, UsageError
from tutor.format import plural, visible
from tutor.present.console import console, print_json


def topics_view(bank, as_json: bool) -> None:
    counts = Counter(q.topic for q in bank.questions.values())
    rows = [{"topic": t.name, "title": t.title, "questions": counts[t.name],
             "aliases": list(t.aliases)}
            for t in sorted(bank.topics.values(), key=lambda t: t.name)]
    if as_json:
        print_json(rows)
        return
    from rich.table import Table
    from rich.text import Text

    table = Table(title=f"{len(rows)} topics, {len(bank.questions)} questions",
                  title_justify="left")
    table.add_column("topic", no_wrap=True)
    table.add_column("title")
    table.add_column("n", justify="right")
    for r in rows:  # bank text as Text: never read as markup
        table.add_row(Text(r["topic"]), Text(r["title"]), str(r["questions"]))
    console().print(table)


def _check_filters(bank, topics, kinds) -> None:
    from tutor.bank.core import KINDS

    for k in kinds:
        if k not in KINDS:
            raise UsageError(f"--kind: {k!r} is not one of {', '.join(KINDS)}")
    for t in topics:
        if bank.resolve_topic(t) not in bank.topics:
            import difflib

            close = difflib.get_close_matches(t, list(bank.topics), n=1)
            hint = f"did you mean {close[0]!r}?" if close else "see `tutor topics`"
            raise UsageError(f"--topic: unknown topic {t!r}", hint)


_MIN_PROMPT = 24  # a prompt column narrower than this moves each prompt under its id


def list_view(bank, topics, tags, kinds, sources, as_json: bool) -> None:
    """The questions as a table that keeps every id whole (so it can be copied into
    `tutor show`) and always shows kind and difficulty; only the prompt is shortened.
    When the prompt would get fewer than `_MIN_PROMPT` columns, each question takes
    two lines instead: its id, then kind, difficulty and prompt."""
    _check_filters(bank, topics, kinds)
    questions = bank.select(topics=topics, tags=tags, kinds=kinds, sources=sources)
    if as_json:
        print_json([q.summary() for q in questions])
        return
    from rich import box
    from rich.cells import cell_len
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    out = console()
    rows = [(q.id, q.kind, str(q.difficulty), " ".join(visible(q.prompt).split()))
            for q in questions]
    title = Text(plural(len(questions), "question"), style="bold")
    if not rows:
        out.print(title)
        return
    heads = ("id", "kind", "d")
    widths = [max(cell_len(h), *(cell_len(r[i]) for r in rows)) for i, h in enumerate(heads)]
    gap = 2
    if out.width - (sum(widths) + gap * len(widths)) >= _MIN_PROMPT:
        table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False,
                      padding=(0, gap - 1, 0, 0), expand=True)
        table.add_column("id", no_wrap=True, min_width=widths[0])
        table.add_column("kind", no_wrap=True, min_width=widths[1])
        table.add_column("d", justify="right", no_wrap=True, min_width=widths[2])
        table.add_column("prompt", ratio=1, no_wrap=True, overflow="ellipsis")
        for qid, kind, difficulty, prompt in rows:
            table.add_row(Text(qid), kind, difficulty, Text(prompt))
        out.print(Group(title, table))
        return
    lines = [title]
    for qid, kind, difficulty, prompt in rows:
        lines.append(Text(qid))
        detail = Text(f"    {kind:<{widths[1]}}  d{difficulty}  ", style="dim")
        detail.append(prompt)
        detail.truncate(out.width, overflow="ellipsis")
        lines.append(detail)
    out.print(Group(*lines))


def show_view(bank, question_id: str, as_json: bool) -> None:
    q = bank.questions.get(question_id)
    if q is None:
        import difflib

        close = difflib.get_close_matches(question_id, list(bank.questions), n=1, cutoff=0.5)
        hint = f"did you mean {close[0]!r}?" if close else "see `tutor list`"
        raise TutorError(f"no question with id {question_id!r}", hint)
    if as_json:
        print_json(q.full())
        return
    from tutor.present.question import question_detail

    console().print(question_detail(q))


def validate_view(paths: list[Path], bank_dirs: list[Path], as_json: bool = False) -> int:
    import sys

    from tutor.bank import load_bank, load_paths

    bank = load_paths(paths) if paths else load_bank(bank_dirs)
    problems = list(bank.problems) + deep_problems(bank, paths)
    if as_json:
        print_json({"ok": not problems, "files": len(bank.files),
                    "questions": len(bank.questions), "topics": len(bank.topics),
                    "problems": [{"path": p.path, "line": p.line, "column": p.column,
                                  "message": p.message} for p in sorted(problems)]})
        return 1 if problems else 0
    for problem in sorted(problems):
        sys.stderr.write(f"{visible(str(problem))}\n")
    files = len(bank.files)
    if problems:
        bad = len({p.path for p in problems})
        sys.stderr.write(f"{len(problems)} problem(s) in {bad} of {files} file(s)\n")
        return 1
    sys.stdout.write(f"ok: {files} file(s), {len(bank.questions)} question(s), "
                     f"{len(bank.topics)} topic(s)\n")
    return 0


def deep_problems(bank, paths: list[Path]) -> list:
    """Checks too costly for every load (a kind's `deep_checks`, e.g. computing answers)."""
    from tutor.bank.core import Problem
    from tutor.kinds import kind

    wanted = {str(f) for f in bank.files}
    out = []
    for q in bank.questions.values():
        module = kind(q.kind)
        path, line = q.origin
        if not hasattr(module, "deep_checks") or (paths and path not in wanted):
            continue
        out += [Problem(path, line, 1, f"{q.id}: {msg}") for _, msg in module.deep_checks(q)]
    return out


def formulas_view(as_json: bool) -> None:
    import inspect

    from tutor.formulas import FORMULAS

    rows = []
    for f in sorted(FORMULAS.values(), key=lambda f: f.name):
        args = [name if p.default is inspect.Parameter.empty else f"{name}={p.default!r}"
                for name, p in f.parameters.items()]
        rows.append({"name": f.name, "summary": f.summary, "args": args})
    if as_json:
        print_json(rows)
        return
    from rich.table import Table

    table = Table(title=f"{len(rows)} computations for answer_from", title_justify="left")
    table.add_column("name", no_wrap=True)
    table.add_column("arguments")
    table.add_column("what it computes", ratio=1)
    for r in rows:
        table.add_row(r["name"], ", ".join(r["args"]), r["summary"])
    console().print(table)
