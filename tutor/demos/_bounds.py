"""The largest value of one option that keeps a demo within its budget."""

from __future__ import annotations

from collections.abc import Callable


def largest(lo: int, hi: int, fits: Callable[[int], bool]) -> int | None:
    """The largest v in [lo, hi] with fits(v), for a cost that grows with v; None when
    not even lo fits. Bisection: about log2(hi - lo) calls of `fits`."""
    if not fits(lo):
        return None
    while lo < hi:
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if fits(mid) else (lo, mid - 1)
    return lo
