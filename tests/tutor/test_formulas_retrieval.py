"""Retrieval formulas against NumPy and an explicit sliding window."""

from __future__ import annotations

import numpy as np
import pytest

from tutor.formulas import compute_answer


def value(name: str, **kwargs) -> float:
    return compute_answer(name, kwargs).value


def test_cosine_matches_numpy_and_ignores_length():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=8), rng.normal(size=8)
    text = ",".join(f"{x:.17g}" for x in a)
    expect = a @ b / (np.linalg.norm(a) * np.linalg.norm(b))
    assert value("retrieval.cosine_similarity", a=text,
                 b=",".join(f"{x:.17g}" for x in b)) == pytest.approx(expect)
    # scaling one vector changes the dot product, not the cosine
    assert value("retrieval.cosine_similarity", a=text,
                 b=",".join(f"{7 * x:.17g}" for x in b)) == pytest.approx(expect)
    assert value("retrieval.cosine_similarity", a="1,0", b="0,3") == 0.0


def test_cosine_rejects_mismatched_or_zero_vectors():
    with pytest.raises(ValueError, match="must match"):
        value("retrieval.cosine_similarity", a="1,2", b="1,2,3")
    with pytest.raises(ValueError, match="zero vector"):
        value("retrieval.cosine_similarity", a="0,0", b="1,2")


def _chunks_by_sliding(n: int, chunk: int, overlap: int) -> list[tuple[int, int]]:
    out, start = [], 0
    while True:
        out.append((start, min(start + chunk, n)))
        if start + chunk >= n:
            return out
        start += chunk - overlap


@pytest.mark.parametrize("n,chunk,overlap", [(100, 100, 0), (101, 100, 0), (10000, 512, 64),
                                             (5, 512, 64), (2048, 512, 128), (999, 10, 9)])
def test_chunk_count_matches_a_sliding_window(n, chunk, overlap):
    windows = _chunks_by_sliding(n, chunk, overlap)
    assert value("retrieval.chunk_count", doc_tokens=n, chunk=chunk,
                 overlap=overlap) == len(windows)
    covered = set()
    for a, b in windows:
        covered.update(range(a, b))
    assert covered == set(range(n))


def test_chunk_overlap_must_leave_a_stride():
    with pytest.raises(ValueError, match="overlap"):
        value("retrieval.chunk_count", doc_tokens=100, chunk=10, overlap=10)


def test_dot_product_is_cosine_times_the_norms():
    a, b = np.array([1.0, 2.0, 2.0]), np.array([2.0, 0.0, 1.0])
    dot = value("retrieval.dot_product", a="1,2,2", b="2,0,1")
    assert dot == pytest.approx(float(a @ b)) == 4.0
    cos = value("retrieval.cosine_similarity", a="1,2,2", b="2,0,1")
    assert dot == pytest.approx(cos * np.linalg.norm(a) * np.linalg.norm(b))
