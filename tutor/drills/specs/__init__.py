"""How each drill is graded: generated cases, the engine function that answers them,
hints per check, and known mistakes recognised by their output.

A spec's `cases(rng)` returns cases from small to adversarial, each tagged with the
check it belongs to. The expected value of every case is the engine's own result
on the same inputs (`reference`), computed in the tutor's process; the user's
file only ever runs in the child process.
"""

from __future__ import annotations

import importlib
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

_UNSET = object()


@dataclass
class Case:
    check: str
    args: tuple
    kwargs: dict = field(default_factory=dict)
    expected: Any = _UNSET

    @property
    def size(self) -> int:
        """How big the inputs are, to pick the smallest failing case."""
        return sum(_size(a) for a in (*self.args, *self.kwargs.values()))


def _size(value) -> int:
    if isinstance(value, np.ndarray):
        return int(value.size)
    if isinstance(value, list | tuple):
        return sum(_size(v) for v in value) + 1
    return 1


@dataclass(frozen=True)
class Mistake:
    """A classic wrong implementation; if the received value matches it, say so."""

    message: str
    fn: Callable


@dataclass(frozen=True)
class Timing:
    """Time the function at several sizes n and fit the exponent of time ~ n^k."""

    what: str
    sizes: Callable[[np.random.Generator], list[tuple[int, tuple, dict]]]
    max_exponent: float = 1.5
    repeats: int = 5


@dataclass(frozen=True)
class Memory:
    """Peak memory (tracemalloc) of one call on large inputs, against a ceiling."""

    what: str
    probe: Callable[[np.random.Generator], tuple[tuple, dict]]
    max_bytes: Callable[[tuple], int]
    full_bytes: Callable[[tuple], int]     # what the naive route would hold, for the message


@dataclass(frozen=True)
class Spec:
    name: str
    params: tuple[str, ...]
    reference: Callable
    cases: Callable[[np.random.Generator], list[Case]]
    hints: dict[str, str] = field(default_factory=dict)
    mistakes: tuple[Mistake, ...] = ()
    timing: Timing | None = None
    memory: Memory | None = None
    compare: Callable | None = None   # (case, received) -> Mismatch | None; default: compare

    def build_cases(self) -> list[Case]:
        rng = np.random.default_rng(zlib.crc32(self.name.encode()))
        cases = self.cases(rng)
        for case in cases:
            if case.expected is _UNSET:
                with np.errstate(all="ignore"):   # e.g. exp(-x) overflowing in silu
                    case.expected = self.reference(*_copy(case.args), **_copy(case.kwargs))
        return cases

    def rng(self, salt: str) -> np.random.Generator:
        return np.random.default_rng(zlib.crc32(f"{self.name}/{salt}".encode()))


def _copy(value):
    import copy

    return copy.deepcopy(value)


SPECS: dict[str, Spec] = {}
_MODULES = ("core", "attention", "positional", "decoding", "training", "systems")


def register(spec: Spec) -> Spec:
    if spec.name in SPECS:
        raise ValueError(f"drill {spec.name!r} is specified twice")
    SPECS[spec.name] = spec
    return spec


def get_spec(name: str) -> Spec:
    if not SPECS:
        for module in _MODULES:
            importlib.import_module(f"tutor.drills.specs.{module}")
    return SPECS[name]


# ----------------------------------------------------------------------------- helpers

def normal(rng: np.random.Generator, *shape: int, scale: float = 1.0,
           dtype=np.float64) -> np.ndarray:
    return (rng.standard_normal(shape) * scale).astype(dtype)


def in_dtype(fn: Callable, dtype_of: int = 0) -> Callable:
    """fn computed in float64, the result cast back to the dtype of argument `dtype_of`.

    The expected value of a float32 case is then the correctly rounded truth, not
    one float32 route among several.
    """
    def up(a):
        return a.astype(np.float64) if isinstance(a, np.ndarray) and a.dtype.kind == "f" else a

    def wrapped(*args, **kwargs):
        dtype = np.asarray(args[dtype_of]).dtype
        out = fn(*[up(a) for a in args], **{k: up(v) for k, v in kwargs.items()})
        if isinstance(out, tuple):
            return tuple(np.asarray(o).astype(dtype) for o in out)
        return np.asarray(out).astype(dtype)

    return wrapped
