"""Timing helpers shared by the demos that measure: repeated wall times, one BLAS thread."""

from __future__ import annotations

import contextlib
import ctypes
import glob
import os
import time
from collections.abc import Callable, Iterator


def wall_times(fn: Callable[[], object], repeats: int) -> list[float]:
    """Seconds taken by each of `repeats` calls of fn."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


@contextlib.contextmanager
def one_blas_thread() -> Iterator[bool]:
    """Run OpenBLAS on one thread, in this thread, for the duration (best effort).

    Small matmuls handed to a second BLAS thread cost more than they save, and on a
    busy machine the threads wait on each other, so the timing would measure the
    scheduler. Works with the OpenBLAS that NumPy wheels bundle; elsewhere it
    changes nothing and yields False.
    """
    import numpy as np

    fn = None
    for path in glob.glob(os.path.join(os.path.dirname(np.__file__) + ".libs",
                                       "*openblas*.so*")):
        try:
            fn = ctypes.CDLL(path).openblas_set_num_threads_local
        except (OSError, AttributeError):
            continue
        fn.argtypes, fn.restype = [ctypes.c_int], ctypes.c_int
        break
    previous = fn(1) if fn is not None else None
    try:
        yield fn is not None
    finally:
        if fn is not None:
            fn(previous)
