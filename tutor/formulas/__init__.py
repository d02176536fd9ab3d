"""Named computations that give numeric questions their true values.

A numeric question says `answer_from: {name: ..., args: {...}}`. Its `vary`
values and the fixed `args` are passed as keyword arguments, and the function
returns the value together with its working: the formula with the numbers
filled in. Registration reads only signatures, so validating a bank does not
import NumPy; the engine is imported when a value is computed.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Computed:
    value: float
    working: str


@dataclass(frozen=True)
class Formula:
    name: str
    summary: str
    fn: Callable[..., Computed]

    @property
    def parameters(self) -> dict[str, inspect.Parameter]:
        return dict(inspect.signature(self.fn).parameters)


FORMULAS: dict[str, Formula] = {}


Fn = Callable[..., Computed]


def formula(name: str, summary: str) -> Callable[[Fn], Fn]:
    def register(fn: Fn) -> Fn:
        FORMULAS[name] = Formula(name, summary, fn)
        return fn

    return register


def compute_answer(name: str, kwargs: dict[str, Any]) -> Computed:
    return FORMULAS[name].fn(**kwargs)


def check_answer_from(name: str, args: dict[str, Any], vary: set[str]) -> list[tuple[tuple, str]]:
    """Problems with a numeric question's `answer_from`, for the bank validator."""
    f = FORMULAS.get(name)
    if f is None:
        close = difflib.get_close_matches(name, list(FORMULAS), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else "; see `tutor formulas`"
        return [(("name",), f"unknown computation {name!r}{hint}")]
    accepted = f.parameters
    out = []
    for key in sorted(set(args) | vary):
        if key not in accepted:
            where = ("args", key) if key in args else ()
            close = difflib.get_close_matches(key, list(accepted), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else \
                f"; it takes {', '.join(accepted)}"
            out.append((where, f"{name} has no argument {key!r}{hint}"))
    for pname, p in accepted.items():
        if p.default is inspect.Parameter.empty and pname not in args and pname not in vary:
            out.append(((), f"{name} needs {pname!r} in vary or answer_from.args"))
    return out


def fmt_number(x: float) -> str:
    """A number as a person writes it in working: 124,439,808 or 2.8e+12."""
    if float(x).is_integer() and abs(x) < 1e15:
        return f"{int(x):,}"
    return f"{x:.4g}"


def all_formulas() -> dict[str, Formula]:
    return dict(FORMULAS)


# Each area registers its formulas on import; none of them imports NumPy at import time.
import tutor.formulas.attention  # noqa: E402, F401, I001
import tutor.formulas.flops  # noqa: E402, F401
import tutor.formulas.memory  # noqa: E402, F401
import tutor.formulas.params  # noqa: E402, F401
import tutor.formulas.tokenization  # noqa: E402, F401
import tutor.formulas.training  # noqa: E402, F401
import tutor.formulas.preference  # noqa: E402, F401
import tutor.formulas.moe  # noqa: E402, F401
import tutor.formulas.quantization  # noqa: E402, F401
import tutor.formulas.serving  # noqa: E402, F401
import tutor.formulas.evaluation  # noqa: E402, F401
import tutor.formulas.retrieval  # noqa: E402, F401
import tutor.formulas.long_context  # noqa: E402, F401
import tutor.formulas.distributed  # noqa: E402, F401
import tutor.formulas.peft  # noqa: E402, F401
import tutor.formulas.optimizers  # noqa: E402, F401
import tutor.formulas.pretraining  # noqa: E402, F401
import tutor.formulas.reasoning  # noqa: E402, F401
import tutor.formulas.frontier  # noqa: E402, F401
