"""Stub files: the drill's signature and docstring with the body left to the user."""

from __future__ import annotations

import ast
import shutil
from datetime import UTC, datetime
from pathlib import Path

from tutor.drills.registry import Drill
from tutor.errors import TutorError

HEADER = '''"""Drill: {title}.

Write `{function}` below, then check it against the engine:

    tutor drill check {name}            (add --watch to re-check on every save)

NumPy only. The checker runs this file in a separate process with a time limit.
"""

import numpy as np


'''


def solution_source(drill: Drill) -> str:
    return drill.solution_path.read_text(encoding="utf-8")


def stub_text(drill: Drill) -> str:
    """The header, then the solution's `def` line(s) and docstring, then NotImplementedError."""
    source = solution_source(drill)
    tree = ast.parse(source)
    fn = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == drill.function)
    lines = source.splitlines()
    doc = fn.body[0]
    if not (isinstance(doc, ast.Expr) and isinstance(doc.value, ast.Constant)):
        raise ValueError(f"{drill.solution_path} has no docstring for {drill.function}")
    head = lines[fn.lineno - 1: doc.end_lineno]          # def ... through the docstring
    body = "    raise NotImplementedError\n"
    return (HEADER.format(title=drill.title, function=drill.function, name=drill.name)
            + "\n".join(head) + "\n" + body)


def default_path(drill: Drill) -> Path:
    from tutor.paths import tutor_home

    return tutor_home() / "drills" / f"{drill.name}.py"


def write_stub(drill: Drill, path: Path, fresh: bool = False,
               now: datetime | None = None) -> tuple[Path, Path | None, bool]:
    """Write the stub to `path` unless a file is already there.

    Returns (path, backup, written). An existing file is kept as it is, unless
    `fresh`: then it is first copied to NAME.TIMESTAMP.bak.py next to it (only when
    it differs from a fresh stub, so nothing the user wrote is ever lost).
    """
    text = stub_text(drill)
    backup = None
    try:
        if path.exists():
            if not fresh:
                return path, None, False
            if path.read_text(encoding="utf-8", errors="replace") != text:
                stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S")
                backup = path.with_name(f"{path.stem}.{stamp}.bak{path.suffix}")
                n = 1
                while backup.exists():
                    n += 1
                    backup = path.with_name(f"{path.stem}.{stamp}-{n}.bak{path.suffix}")
                shutil.copy2(path, backup)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as e:
        raise TutorError(f"cannot write {path}: {e.strerror or e}") from None
    return path, backup, True
