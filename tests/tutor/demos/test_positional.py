import math
from types import SimpleNamespace

import numpy as np

from tests.tutor.demos._helpers import assert_fits, render_text, run
from tutor.demos import positional


def _sin_pe(n, d):
    """Vaswani et al. written out independently of the engine."""
    pe = np.zeros((n, d))
    for p in range(n):
        for i in range(d // 2):
            w = 10000 ** (-2 * i / d)
            pe[p, 2 * i], pe[p, 2 * i + 1] = math.sin(p * w), math.cos(p * w)
    return pe


def test_permutation_equivariance_without_positions():
    r = run("positional", seed=2)
    perm = r["permutation"]
    assert perm["max_diff_no_pos"] < 1e-12
    assert perm["max_diff_with_pos"] > 1e-2
    assert perm["orders"] == ["dog bites man", "man bites dog"]


def test_sinusoidal_shift_identity():
    r = run("positional", n=40, d=16)
    assert all(row["max_error"] < 1e-12 for row in r["sinusoidal"])
    # independently: the rotation by k w_i maps PE(p) to PE(p + k)
    pe = _sin_pe(60, 16)
    for k in (1, 5, 10):
        m = np.zeros((16, 16))
        for i in range(8):
            a = k * 10000 ** (-2 * i / 16)
            m[2 * i:2 * i + 2, 2 * i:2 * i + 2] = [[math.cos(a), -math.sin(a)],
                                                   [math.sin(a), math.cos(a)]]
        np.testing.assert_allclose(pe[:40] @ m, pe[k:40 + k], atol=1e-12)


def test_rope_scores_depend_only_on_offset():
    r = run("positional", seed=1)
    for row in r["rope"]:
        assert row["spread_rope"] < 1e-10
        assert row["spread_additive"] > 1.0           # absolute positions do not have it
    assert r["beyond"]["rope_spread"] < 1e-10


def test_alibi_and_beyond_training_length():
    r = run("positional", n=16, train_len=32)
    slopes = r["alibi"]["slopes"]
    np.testing.assert_allclose(slopes, [2 ** (-8 * (i + 1) / 8) for i in range(8)])
    bias = np.array(r["alibi"]["bias"]["0"])
    i, j = np.meshgrid(np.arange(12), np.arange(12), indexing="ij")
    np.testing.assert_allclose(bias, -slopes[0] * np.abs(i - j))
    b = r["beyond"]
    assert b["positions"] == [32, 63]
    assert b["learned_error"].startswith("IndexError")
    assert b["alibi_linear_error"] < 1e-12 and b["sinusoidal_max_error"] < 1e-12


def test_check_and_render():
    assert "--d 7" in positional.check(SimpleNamespace(d=7, n=8, train_len=8))
    assert_fits(render_text("positional", run("positional")))
