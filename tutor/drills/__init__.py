"""Drills: "implement it yourself" problems graded against the engine's own functions.

`tutor drill NAME` writes a stub; `tutor drill check NAME` runs the user's file in a
separate, limited process and compares its function with the engine on generated
cases, from small to adversarial, reporting the smallest failing case.

Public API (cheap to import; NumPy is loaded only by `check`):

    list_drills() -> [Drill]            get_drill(name) -> Drill
    write_stub(name, path, fresh=False) -> (path, backup or None, written)
    check(name, path) -> CheckResult    status(name, store_rows, now) -> str
"""

from __future__ import annotations

__all__ = ["Drill", "CheckResult", "check", "get_drill", "list_drills", "status", "write_stub",
           "record"]


def list_drills():
    from tutor.drills.registry import list_drills as _list

    return _list()


def get_drill(name: str):
    from tutor.drills.registry import get_drill as _get

    return _get(name)


def write_stub(name: str, path, fresh: bool = False):
    from pathlib import Path

    from tutor.drills.stubs import write_stub as _write

    return _write(get_drill(name), Path(path), fresh)


def check(name: str, path, **limits):
    from tutor.drills.grading import check as _check

    return _check(name, path, **limits)


def status(name: str, store_rows: dict, now) -> str:
    from tutor.drills.progress import status as _status

    return _status(get_drill(name).name, store_rows, now)


def record(name: str, passed: bool, now, **kwargs):
    from tutor.drills.progress import record as _record

    return _record(get_drill(name), passed, now, **kwargs)


def __getattr__(name: str):
    if name == "CheckResult":
        from tutor.drills.grading import CheckResult

        return CheckResult
    if name == "Drill":
        from tutor.drills.registry import Drill

        return Drill
    raise AttributeError(f"module 'tutor.drills' has no attribute {name!r}")
