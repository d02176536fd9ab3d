import math
from types import SimpleNamespace

import numpy as np

from tests.tutor.demos._helpers import assert_fits, render_text, run
from tutor.demos import cross_attention


def test_weights_are_softmax_over_real_source_tokens():
    r = run("cross-attention", seed=3, n_src=7, n_tgt=5, d=16, pad=2)
    w = np.array(r["weights"])
    assert w.shape == (5, 7) and r["shapes"]["weights"] == [5, 7]
    np.testing.assert_allclose(w.sum(-1), 1.0, atol=1e-12)
    # independent route: the same arrays, softmax(QK^T / sqrt(d)) by hand over the 5 real keys
    a = cross_attention.build(SimpleNamespace(n_src=7, n_tgt=5, d=16),
                              np.random.default_rng(3))
    q = a["states"] @ a["cross.w_q"]
    k = a["memory"] @ a["cross.w_k"]
    s = q @ k[:5].T / math.sqrt(16)
    e = np.exp(s - s.max(-1, keepdims=True))
    np.testing.assert_allclose(w[:, :5], e / e.sum(-1, keepdims=True), rtol=1e-10)
    assert np.all(w[:, 5:] == 0) and r["padding_weight"] == 0


def test_masks_encoder_decoder_cross():
    r = run("cross-attention", n_src=6, n_tgt=4, pad=1)
    m = {k: np.array(v) for k, v in r["masks"].items()}
    assert m["encoder"].shape == (6, 6) and m["cross"].shape == (4, 6)
    assert np.array_equal(m["decoder"], np.tril(np.ones((4, 4), bool)))
    assert m["cross"].all(axis=0).tolist() == [True] * 5 + [False]
    assert r["allowed"] == {"encoder": 30, "decoder": 10, "cross": 20}


def test_check_refuses_all_padding():
    msg = cross_attention.check(SimpleNamespace(n_src=4, n_tgt=3, d=8, pad=4))
    assert msg and "--pad" in msg and "3" in msg


def test_renders_in_60_columns():
    r = run("cross-attention")
    assert_fits(render_text("cross-attention", r))
    r = run("cross-attention", n_src=40, n_tgt=30)
    assert_fits(render_text("cross-attention", r))
