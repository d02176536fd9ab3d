from types import SimpleNamespace

import numpy as np

from engine.attention import scaled_dot_product_attention
from engine.efficient import flash_attention
from tests.tutor.demos._helpers import assert_fits, render_text, run
from tutor.demos import flash


def test_tiled_equals_plain_and_uses_far_less_memory():
    r = run("flash", seed=1, n_max=1024, block=128, d=32)
    assert r["sizes"] == [256, 512, 1024]
    assert max(r["max_abs_diff"]) < 1e-5
    # plain attention holds the n x n scores and weights: at least 2 float32 n^2 buffers
    n = 1024
    assert r["plain_peak_bytes"][-1] >= 2 * n * n * 4
    # tiled never holds more than tiles plus O(n d) buffers
    assert r["tiled_peak_bytes"][-1] < n * n * 4 / 2
    assert r["memory_ratio"] > 4
    assert r["plain_peak_bytes"][-1] / r["plain_peak_bytes"][0] > 8   # grows like n^2


def test_equality_independent_of_demo():
    rng = np.random.default_rng(7)
    q, k, v = (rng.standard_normal((300, 16), dtype=np.float32) for _ in range(3))
    s = q.astype(np.float64) @ k.T.astype(np.float64) / 4.0
    e = np.exp(s - s.max(1, keepdims=True))
    ref = (e / e.sum(1, keepdims=True)) @ v
    np.testing.assert_allclose(flash_attention(q, k, v, block_q=64, block_k=64), ref, atol=1e-5)
    _, w = scaled_dot_product_attention(q, k, v, return_weights=True)
    assert w.shape == (300, 300)


def test_traffic_estimates():
    plain, tiled = flash.traffic(1024, 64, 256)
    assert plain == (4 * 1024 * 64 + 6 * 1024 * 1024) * 4
    assert tiled == (2 * 1024 * 64 + 2 * 1024 * 64 * 4) * 4
    assert plain / tiled == 10


def test_check_refuses_beyond_budget():
    assert flash.largest_allowed_n() == 11585
    msg = flash.check(SimpleNamespace(n_max=16384, block=256, d=64))
    assert msg and "--n-max 16384" in msg and "11585" in msg
    assert flash.check(SimpleNamespace(n_max=4096, block=256, d=64)) is None


def test_renders_in_60_columns():
    assert_fits(render_text("flash", run("flash", n_max=512)))


def test_tiled_peak_matches_the_engine_prediction():
    # measured by tracemalloc in the demo; predicted from attention_cost plus the output
    r = run("flash", seed=2, n_max=2048, block=128, d=64)
    assert 1 / 1.5 < r["tiled_vs_predicted"] < 1.5
    for measured, predicted in zip(r["tiled_peak_bytes"], r["tiled_predicted_bytes"],
                                   strict=True):
        assert 1 / 1.5 < measured / predicted < 1.5
    # the prediction by hand at n = 2048 on one thread would be: K^T and [V | 1],
    # the tiles, and the output
    n, d, b = 2048, 64, 128
    one_thread = n * (2 * d + 1) + b * d + b * b + 2 * b * (d + 1) + 4 * b + n * d
    assert r["tiled_predicted_bytes"][-1] >= one_thread * 4
