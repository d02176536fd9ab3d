"""Live demos: the registry (names, topics, typed options) and the way to run one.

A demo module `tutor.demos.<name>` provides:

- `compute(p, rng, progress) -> dict`: pure; calls the engine and returns plain,
  JSON-ready data, including a `takeaway` string built from the numbers;
- `render(result) -> rich renderable`: tables, bars, heatmaps and plots;
- optionally `check(p) -> str | None`: refuses a combination of options that
  would need too much memory or time, before any work starts.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Iterator
from types import SimpleNamespace
from typing import Any, TypeVar

from tutor.demos.registry import DEMOS, DemoInfo, coerce_args, lookup
from tutor.errors import UsageError

__all__ = ["DEMOS", "DemoInfo", "lookup", "prepare", "compute", "render", "no_progress"]

T = TypeVar("T")
Progress = Callable[..., Iterator[Any]]


def no_progress(items: Iterable[T], total: int | None = None, description: str = "") -> Iterator[T]:
    yield from items


def prepare(info: DemoInfo, args: dict[str, Any]) -> dict[str, Any]:
    """Defaults plus checked values; UsageError names the option and the allowed bound."""
    params, problems = coerce_args(info, args)
    if problems:
        key, param, message = problems[0]
        raise UsageError(f"{param.flag}: {message}" if param else message)
    module = importlib.import_module(info.module)
    check = getattr(module, "check", None)
    if check is not None:
        message = check(SimpleNamespace(**params))
        if message:
            raise UsageError(message)
    return params


def compute(info: DemoInfo, params: dict[str, Any], progress: Progress = no_progress) -> dict:
    """Run the demo's computation; returns JSON-ready data with `demo` and `params` keys."""
    import numpy as np

    module = importlib.import_module(info.module)
    rng = np.random.default_rng(params["seed"])
    result = module.compute(SimpleNamespace(**params), rng, progress)
    return {"demo": info.name, "params": jsonable(params), **jsonable(result)}


def render(info: DemoInfo, result: dict) -> Any:
    return importlib.import_module(info.module).render(result)


def jsonable(value: Any) -> Any:
    """NumPy scalars and arrays to plain Python, recursively."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if hasattr(value, "tolist"):  # numpy scalar or array
        return jsonable(value.tolist())
    if isinstance(value, float) and value != value:  # NaN is not JSON
        return None
    return value


def find(name: str, topic_aliases: dict[str, tuple[str, ...]] | None = None) -> DemoInfo:
    info = lookup(name, topic_aliases)
    if info is None:
        from tutor.demos.registry import suggestions

        close = suggestions(name, list(topic_aliases or {}))
        hint = f"did you mean {' or '.join(repr(c) for c in close)}?" if close else \
            "run `tutor demo` to list the demos"
        raise UsageError(f"unknown demo or topic {name!r}", hint)
    return info
