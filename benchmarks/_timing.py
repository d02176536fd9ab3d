"""Shared timing helpers for the benchmark scripts.

Absolute times drift on shared machines, so implementations are compared within
one run: warm each up, then time them round-robin and keep the median.
"""

from __future__ import annotations

import statistics
import time
import tracemalloc
from collections.abc import Callable


def interleaved_medians(fns: dict[str, Callable[[], object]], repeats: int = 5,
                        warmup: int = 1) -> dict[str, float]:
    """Median seconds per call for each function, timed round-robin after a warm-up."""
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            samples[name].append(time.perf_counter() - t0)
    return {name: statistics.median(ts) for name, ts in samples.items()}


def peak_memory(fn: Callable[[], object]) -> int:
    """Peak bytes allocated during fn() as seen by tracemalloc (NumPy reports its buffers)."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        fn()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
