"""Compare what a user's function returned with what the engine computes, and say how they differ.

Floats are compared elementwise with |received - expected| <= atol + rtol * |expected|
at the tolerance of the expected dtype; equal infinities and NaN in the same place
count as equal. Integers and booleans must match exactly. The first mismatch is
reported with its index and both values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from tutor.drills.runner import Unsupported

TOLERANCES = {"float64": (1e-7, 1e-9), "float32": (1e-4, 1e-5)}   # dtype: (rtol, atol)


def tolerance_text() -> str:
    return "; ".join(f"{dt}: |received - expected| <= {atol:g} + {rtol:g} * |expected|"
                     for dt, (rtol, atol) in TOLERANCES.items())


@dataclass(frozen=True)
class Mismatch:
    message: str
    where: str = ""                      # which part of a tuple result, e.g. "[1]"
    index: tuple[int, ...] | None = None
    expected_value: Any = None
    received_value: Any = None


def describe_type(value) -> str:
    if isinstance(value, np.ndarray):
        return f"ndarray {value.shape} {value.dtype}"
    if isinstance(value, Unsupported):
        return value.pytype
    if isinstance(value, np.generic):
        return f"numpy {value.dtype} scalar"
    return type(value).__name__


def _is_int(v) -> bool:
    return isinstance(v, int | np.integer) and not isinstance(v, bool | np.bool_)


def _is_real(v) -> bool:
    return isinstance(v, int | float | np.integer | np.floating) and not isinstance(
        v, bool | np.bool_)


def compare(expected, received, where: str = "") -> Mismatch | None:
    """None when `received` matches `expected`, else the first difference."""
    if isinstance(expected, tuple | list):
        if not isinstance(received, tuple | list):
            return Mismatch(f"returned {describe_type(received)}; expected a "
                            f"{type(expected).__name__} of {len(expected)}", where)
        if len(received) != len(expected):
            return Mismatch(f"returned {len(received)} items; expected {len(expected)}", where)
        for i, (e, r) in enumerate(zip(expected, received, strict=True)):
            m = compare(e, r, f"{where}[{i}]")
            if m is not None:
                return m
        return None
    if isinstance(expected, np.ndarray):
        return _compare_arrays(expected, received, where)
    if isinstance(expected, bool):
        if not isinstance(received, bool | np.bool_):
            return Mismatch(f"returned {describe_type(received)}; expected a bool", where)
        if bool(received) != expected:
            return Mismatch("wrong value", where, None, expected, bool(received))
        return None
    if _is_int(expected):
        if not _is_int(received):
            return Mismatch(f"returned {describe_type(received)} {received!r}; expected an "
                            "int", where)
        if int(received) != int(expected):
            return Mismatch(f"{int(received)} differs from {int(expected)} by "
                            f"{int(received) - int(expected):+d}", where, None, int(expected),
                            int(received))
        return None
    if isinstance(expected, float | np.floating):
        if isinstance(received, np.ndarray) and received.shape == ():
            received = received[()]
        if not _is_real(received):
            return Mismatch(f"returned {describe_type(received)}; expected a float", where)
        return _compare_arrays(np.asarray(expected, dtype=np.float64),
                               np.asarray(float(received), dtype=np.float64), where,
                               scalar=True)
    raise TypeError(f"cannot compare expected values of type {type(expected).__name__}")


def _compare_arrays(expected: np.ndarray, received, where: str,
                    scalar: bool = False) -> Mismatch | None:
    if not isinstance(received, np.ndarray):
        return Mismatch(f"returned {describe_type(received)}; expected a numpy array of shape "
                        f"{expected.shape} and dtype {expected.dtype}", where)
    if received.shape != expected.shape:
        return Mismatch(f"shape {received.shape}; expected {expected.shape}", where)
    kind = expected.dtype.kind
    if kind == "b" or kind in "iu":
        if received.dtype != expected.dtype and not (kind in "iu" and received.dtype.kind in "iu"
                                                     and expected.dtype.itemsize >= 8):
            return Mismatch(f"dtype {received.dtype}; expected {expected.dtype}", where)
        bad = received != expected
        return _first(bad, expected, received, where, "wrong value")
    if not scalar and received.dtype != expected.dtype:
        return Mismatch(f"dtype {received.dtype}; expected {expected.dtype} "
                        f"({expected.dtype} inputs give {expected.dtype} outputs)", where)
    rtol, atol = TOLERANCES.get(str(expected.dtype), TOLERANCES["float64"])
    e, r = expected.astype(np.float64), received.astype(np.float64)
    finite = np.isfinite(e) & np.isfinite(r)
    with np.errstate(invalid="ignore", over="ignore"):
        # only finite pairs use the tolerance: rtol * |inf| would accept anything
        close = finite & (np.abs(r - e) <= atol + rtol * np.abs(e))
    same_special = (np.isnan(e) & np.isnan(r)) | (np.isinf(e) & (e == r))
    bad = ~(close | same_special)
    if not bad.any():
        return None
    idx = tuple(int(i) for i in np.argwhere(bad)[0])
    ev, rv = float(e[idx]), float(r[idx])
    if np.isnan(rv) and not np.isnan(ev):
        msg = "NaN where a number was expected"
    elif np.isinf(rv) and not np.isinf(ev):
        msg = f"{rv} where a finite number was expected (overflow?)"
    else:
        msg = f"off by {abs(rv - ev):.3g} (tolerance {atol + rtol * abs(ev):.2g})"
    n_bad = int(bad.sum())
    if n_bad > 1:
        msg += f", in {n_bad} of {bad.size} elements"
    return Mismatch(msg, where, None if scalar else idx, ev, rv)


def _first(bad: np.ndarray, expected, received, where, msg) -> Mismatch | None:
    if not bad.any():
        return None
    idx = tuple(int(i) for i in np.argwhere(bad)[0]) if bad.ndim else ()
    n_bad = int(bad.sum())
    note = f", in {n_bad} of {bad.size} elements" if n_bad > 1 else ""
    return Mismatch(msg + note, where, idx, expected[idx].item(), received[idx].item())


# ----------------------------------------------------------------------------- display

def show(value, limit: int = 2000) -> str:
    """A readable, bounded rendering of a value for the failing-case report."""
    if isinstance(value, np.ndarray):
        head = f"ndarray {value.shape} {value.dtype}"
        if value.size == 0:
            return head + " (empty)"
        with np.printoptions(precision=6, threshold=120, edgeitems=3, linewidth=88,
                             suppress=False):
            body = np.array2string(value, separator=", ")
        text = f"{head}\n{body}"
    elif isinstance(value, tuple | list) and any(isinstance(v, np.ndarray) for v in value):
        text = "\n".join(f"[{i}] {show(v, limit)}" for i, v in enumerate(value))
    elif isinstance(value, float | np.floating):
        text = repr(float(value))
    else:
        text = repr(value)
    return text if len(text) <= limit else text[:limit] + " ..."


def to_json(value, limit: int = 1000):
    """A JSON-able form: arrays as {shape, dtype, values}; inf and nan as strings."""
    if isinstance(value, np.ndarray):
        out: dict[str, Any] = {"shape": list(value.shape), "dtype": str(value.dtype)}
        if value.size <= limit:
            out["values"] = _plain(value.tolist())
        else:
            out["preview"] = show(value)
        return out
    if isinstance(value, tuple | list):
        return [to_json(v, limit) for v in value]
    if isinstance(value, dict):
        return {str(k): to_json(v, limit) for k, v in value.items()}
    if isinstance(value, Unsupported):
        return {"type": value.pytype, "repr": value.text}
    if isinstance(value, np.generic):
        return _plain(value.item())
    return _plain(value)


def _plain(v):
    if isinstance(v, list):
        return [_plain(x) for x in v]
    if isinstance(v, float) and not np.isfinite(v):
        return "nan" if np.isnan(v) else ("inf" if v > 0 else "-inf")
    if isinstance(v, bool | int | float | str) or v is None:
        return v
    return repr(v)
