"""What the bank commands print: rich tables for people, JSON for scripts."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from tutor.errors import TutorError, UsageError
from tutor.format import visible
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


def list_view(bank, topics, tags, kinds, sources, as_json: bool) -> None:
    _check_filters(bank, topics, kinds)
    questions = bank.select(topics=topics, tags=tags, kinds=kinds, sources=sources)
    if as_json:
        print_json([q.summary() for q in questions])
        return
    from rich.table import Table
    from rich.text import Text

    table = Table(title=f"{len(questions)} questions", title_justify="left", expand=False)
    table.add_column("id", no_wrap=True, overflow="fold")
    table.add_column("kind", no_wrap=True)
    table.add_column("d", justify="right")
    table.add_column("prompt", ratio=1, no_wrap=True, overflow="ellipsis")
    for q in questions:
        first = q.prompt.strip().splitlines()[0] if q.prompt.strip() else ""
        table.add_row(Text(q.id), q.kind, str(q.difficulty), Text(first))
    console().print(table)


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
