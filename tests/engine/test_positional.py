"""Positional encodings: closed forms, the shift identity, RoPE against transformers.

RoPE scaling (linear, dynamic NTK, YaRN, LongRoPE, Llama 3) is checked against golden
inverse frequencies from transformers' ROPE_INIT_FUNCTIONS (tests/fixtures/
make_family_fixtures.py, rope_scaling.npz). transformers computes them in float32
(an int64 arange cast with `.float()`); the fixture holds both that output and the same
functions run with every float32 request turned into float64. The engine works in
float64: it must match the float64 run to 1e-13 and the shipped float32 one to 1e-6
relative (float32 rounding through a few operations).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from engine.positional import (
    alibi_bias,
    alibi_slopes,
    apply_rope,
    check_rope_scaling,
    learned_positions,
    rope,
    rope_angles,
    rope_inv_freq,
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


# ----------------------------------------------------------------------------- RoPE scaling

def rope_cases():
    with np.load(FIXTURES / "rope_scaling.npz") as f:
        g = dict(f)
    return [(case, g[f"f64/{case['name']}"], g[f"f32/{case['name']}"])
            for case in json.loads(str(g["cases"]))]


@pytest.mark.parametrize(("case", "f64", "f32"), rope_cases(),
                         ids=[c["name"] for c, _, _ in rope_cases()])
def test_rope_inv_freq_matches_transformers(case, f64, f32):
    inv_freq, factor = rope_inv_freq(case["dim"], case["theta"], case["scaling"],
                                     seq_len=case["seq_len"],
                                     max_position_embeddings=case["max_position_embeddings"])
    assert inv_freq.shape == (case["dim"] // 2,) and inv_freq.dtype == np.float64
    np.testing.assert_allclose(inv_freq, f64, rtol=1e-13, atol=0)
    np.testing.assert_allclose(inv_freq, f32, rtol=1e-6, atol=0)
    assert factor == pytest.approx(case["attention_factor"], rel=1e-15)


def test_the_golden_cases_cover_every_rope_type_and_every_llama3_band():
    kinds = {(c["scaling"] or {}).get("rope_type", "default") for c, _, _ in rope_cases()}
    assert kinds == {"default", "linear", "dynamic", "yarn", "longrope", "llama3"}
    case, f64, _ = next(x for x in rope_cases() if x[0]["name"] == "llama3")
    base, s = rope_inv_freq(case["dim"], case["theta"])[0], case["scaling"]
    wavelen = 2 * math.pi / base
    high = wavelen < s["original_max_position_embeddings"] / s["high_freq_factor"]
    low = wavelen > s["original_max_position_embeddings"] / s["low_freq_factor"]
    assert high.any() and low.any() and (~high & ~low).any()
    np.testing.assert_allclose(f64[high], base[high], rtol=1e-15)      # kept
    np.testing.assert_allclose(f64[low], base[low] / s["factor"], rtol=1e-15)   # divided
    mid = ~high & ~low                                                 # strictly between
    assert np.all((f64[mid] < base[mid]) & (f64[mid] > base[mid] / s["factor"]))


def test_rope_scaling_identities():
    d, theta = 64, 10000.0
    plain, one = rope_inv_freq(d, theta)
    assert one == 1.0
    np.testing.assert_allclose(plain, theta ** (-np.arange(0, d, 2) / d), rtol=1e-15)
    linear = rope_inv_freq(d, theta, {"rope_type": "linear", "factor": 4.0})[0]
    np.testing.assert_allclose(linear, plain / 4, rtol=1e-15)       # position p acts as p/4
    dynamic = {"rope_type": "dynamic", "factor": 2.0}
    for seq_len in (None, 10, 2048):                                 # up to L0: unchanged
        got = rope_inv_freq(d, theta, dynamic, seq_len, max_position_embeddings=2048)[0]
        np.testing.assert_allclose(got, plain, rtol=1e-15)
    longer = rope_inv_freq(d, theta, dynamic, 8192, max_position_embeddings=2048)[0]
    assert longer[0] == plain[0] and np.all(longer[1:] < plain[1:])  # a larger base
    yarn = {"rope_type": "yarn", "factor": 8.0, "original_max_position_embeddings": 4096}
    got, factor = rope_inv_freq(d, theta, yarn)
    assert got[0] == plain[0] and got[-1] == pytest.approx(plain[-1] / 8, rel=1e-14)
    assert factor == pytest.approx(0.1 * math.log(8) + 1)


@pytest.mark.parametrize(("scaling", "message"), [
    ({"rope_type": "ntk"}, "rope_type='ntk' is not supported"),
    ({"rope_type": "linear"}, "missing factor"),
    ({"rope_type": "linear", "factor": 2.0, "beta_fast": 3}, "unsupported key.*beta_fast"),
    ({"rope_type": "yarn", "factor": 2.0, "original_max_position_embeddings": 64,
      "rope_theta": 1e4}, "rope_theta"),
    ({"rope_type": "longrope", "short_factor": [1.0], "long_factor": [1.0, 2.0],
      "original_max_position_embeddings": 8}, "short_factor has 1 entries"),
    ({"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 4.0, "high_freq_factor": 1.0,
      "original_max_position_embeddings": 8192}, "high_freq_factor"),
])
def test_rope_scaling_refuses_what_it_cannot_honour(scaling, message):
    with pytest.raises(ValueError, match=message):
        check_rope_scaling(scaling, dim=4)
    assert check_rope_scaling({"type": "default"}) is None
    assert check_rope_scaling({"type": "linear", "factor": 2}) == {"rope_type": "linear",
                                                                   "factor": 2}


def test_partial_rotary_rotates_only_the_first_dims():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 5, 12))
    inv_freq = rope_inv_freq(4, 500.0)[0]                            # rotate 4 of 12 dims
    out = rope(x, inv_freq=inv_freq)
    np.testing.assert_array_equal(out[..., 4:], x[..., 4:])
    np.testing.assert_allclose(out[..., :4], rope(x[..., :4], theta=500.0), rtol=1e-15)
    cos, sin = rope_angles(np.arange(5), 4, inv_freq=inv_freq, attention_factor=1.5)
    scaled = apply_rope(x, cos, sin)
    np.testing.assert_allclose(scaled[..., :4], 1.5 * out[..., :4], rtol=1e-14)
    np.testing.assert_array_equal(scaled[..., 4:], x[..., 4:])
    with pytest.raises(ValueError, match="exceed"):
        apply_rope(x[..., :2], cos, sin)
