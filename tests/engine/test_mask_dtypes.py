"""Which attn_mask dtypes scaled_dot_product_attention accepts, against a by-hand reference."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine.attention import scaled_dot_product_attention as sdpa


def attend_to_kept_keys(q, k, v, keep):
    """Softmax over only the kept keys of each query, written out row by row."""
    out = np.zeros((q.shape[0], v.shape[1]))
    for i in range(q.shape[0]):
        idx = np.flatnonzero(keep[i] if keep.ndim == 2 else keep)
        s = k[idx] @ q[i] / math.sqrt(q.shape[1])
        w = np.exp(s - s.max())
        out[i] = (w / w.sum()) @ v[idx]
    return out


@pytest.mark.parametrize("return_weights", [False, True])
@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8, np.int8])
def test_integer_masks_are_refused(dtype, return_weights):
    # a Hugging Face attention_mask is int64 0/1: added to the scores it would mask nothing
    rng = np.random.default_rng(0)
    q, k, v = (rng.normal(size=(5, 8)) for _ in range(3))
    with pytest.raises(ValueError, match=r"bool.*float.*mask\.astype\(bool\)"):
        sdpa(q, k, v, attn_mask=np.array([1, 1, 0, 0, 0], dtype=dtype),
             return_weights=return_weights)


def test_other_dtypes_are_refused():
    x = np.ones((2, 4))
    with pytest.raises(ValueError, match="got dtype complex128"):
        sdpa(x, x, x, attn_mask=np.ones((2, 2), dtype=complex))
    with pytest.raises(ValueError, match="got dtype <U1"):
        sdpa(x, x, x, attn_mask=np.array(["a", "b"]))


@pytest.mark.parametrize("return_weights", [False, True])
def test_bool_and_float_masks_match_the_reference(return_weights):
    rng = np.random.default_rng(1)
    q, k, v = (rng.normal(size=(6, 8)) for _ in range(3))
    keep = rng.random((6, 6)) < 0.6
    keep[:, 0] = True                                       # every query keeps a key
    want = attend_to_kept_keys(q, k, v, keep)
    for mask in (keep, np.where(keep, 0.0, -np.inf), np.where(keep, 0.0, -np.inf)
                 .astype(np.float16)):
        got = sdpa(q, k, v, attn_mask=mask, return_weights=return_weights)
        got = got[0] if return_weights else got
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    # the 0/1 padding mask, converted as the error message says
    padding = np.array([1, 1, 1, 0, 0, 0])
    np.testing.assert_allclose(sdpa(q, k, v, attn_mask=padding.astype(bool)),
                               attend_to_kept_keys(q, k, v, padding.astype(bool)), atol=1e-12)
