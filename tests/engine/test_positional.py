"""Positional encodings: closed forms, the shift identity, RoPE against transformers."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from engine.positional import (
    alibi_bias,
    alibi_slopes,
    learned_positions,
    rope,
    sinusoidal_positions,
    sinusoidal_shift_matrix,
)

FIXTURES = Path(__file__).parent.parent / "fixtures"


def test_sinusoidal_positions_closed_form():
    pe = sinusoidal_positions(50, 16)
    for pos in (0, 1, 7, 49):
        for i in range(8):
            w = 1 / 10000 ** (2 * i / 16)
            assert pe[pos, 2 * i] == pytest.approx(math.sin(pos * w), abs=1e-14)
            assert pe[pos, 2 * i + 1] == pytest.approx(math.cos(pos * w), abs=1e-14)
    assert sinusoidal_positions(3, 4, dtype=np.float32).dtype == np.float32
    with pytest.raises(ValueError, match="even"):
        sinusoidal_positions(3, 5)


@pytest.mark.parametrize("shift", [1, 5, 37])
def test_shift_matrix_moves_every_position(shift):
    pe = sinusoidal_positions(300, 32, base=100.0)
    m = sinusoidal_shift_matrix(shift, 32, base=100.0)
    np.testing.assert_allclose(pe[:-shift] @ m, pe[shift:], atol=1e-10)
    np.testing.assert_allclose(m @ m.T, np.eye(32), atol=1e-12)   # a rotation


def test_learned_positions_statistics():
    table = learned_positions(1024, 64, np.random.default_rng(0), std=0.02)
    assert table.shape == (1024, 64)
    assert abs(table.mean()) < 1e-3 and table.std() == pytest.approx(0.02, rel=0.02)


def test_rope_matches_transformers_llama():
    with np.load(FIXTURES / "rope.npz") as f:
        g = dict(f)
    pos = g["positions"][0]
    np.testing.assert_allclose(rope(g["q"], pos, float(g["theta"])), g["q_rot"], atol=1e-12)
    np.testing.assert_allclose(rope(g["k"], pos, float(g["theta"])), g["k_rot"], atol=1e-12)


def test_rope_rotate_half_by_hand():
    x = np.array([[1.0, 2.0, 3.0, 4.0]])
    p = 3.0
    w = np.array([1.0, 1 / 100.0])                 # theta^(-2i/d) with theta=10^4, d=4
    c, s = np.cos(p * w), np.sin(p * w)
    want = [1 * c[0] - 3 * s[0], 2 * c[1] - 4 * s[1], 3 * c[0] + 1 * s[0], 4 * c[1] + 2 * s[1]]
    np.testing.assert_allclose(rope(x, [3]), [want], atol=1e-14)


def test_rope_scores_depend_only_on_offset():
    rng = np.random.default_rng(1)
    q, k = rng.standard_normal(64), rng.standard_normal(64)
    for offset in (0, 3, 17):
        scores = [rope(q[None], [p])[0] @ rope(k[None], [p + offset])[0] for p in (0, 5, 100, 999)]
        np.testing.assert_allclose(scores, scores[0], rtol=1e-10)
    x = rng.standard_normal((2, 10, 64)).astype(np.float32)
    y = rope(x)
    assert y.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(y, axis=-1), np.linalg.norm(x, axis=-1), rtol=1e-5)


@pytest.mark.parametrize("n_head", [1, 2, 4, 8, 16])
def test_alibi_slopes_power_of_two(n_head):
    want = [2 ** (-8 * h / n_head) for h in range(1, n_head + 1)]
    np.testing.assert_allclose(alibi_slopes(n_head), want, rtol=1e-13)


def test_alibi_slopes_non_power_of_two():
    # Paper's rule for 12 heads: the 8 slopes for 8 heads, then 16-head slopes 1, 3, 5, 7.
    want = [2.0 ** -h for h in range(1, 9)] + [2 ** (-8 * h / 16) for h in (1, 3, 5, 7)]
    np.testing.assert_allclose(alibi_slopes(12), want, rtol=1e-13)
    assert len(alibi_slopes(6)) == 6


def test_alibi_bias_values():
    b = alibi_bias(2, 3, 5)
    slopes = alibi_slopes(2)
    for h in range(2):
        for i in range(3):
            for j in range(5):
                assert b[h, i, j] == -slopes[h] * abs((2 + i) - j)
    with pytest.raises(ValueError):
        alibi_bias(2, 6, 5)
