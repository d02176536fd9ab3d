"""Scaled dot-product attention and its masks (PyTorch semantics)."""

from __future__ import annotations

import math

import numpy as np

from engine.functional import softmax


def scaled_dot_product_attention(q, k, v, attn_mask=None, is_causal=False, scale=None, *,
                                 return_weights=False):
    """softmax(q k^T * scale + mask) v.

    q: (..., n_q, d_k)  k: (..., n_k, d_k)  v: (..., n_k, d_v)  ->  (..., n_q, d_v)
    attn_mask: bool (True = takes part) or float (added to the scores), broadcastable
    to (..., n_q, n_k). scale defaults to 1/sqrt(d_k); scale=1.0 turns scaling off.
    return_weights=True returns (output, weights).
    A fully masked row attends to nothing: its weights and output are zeros.
    """
    d_k = q.shape[-1]
    scale = 1.0 / math.sqrt(d_k) if scale is None else scale
    scores = (q @ np.swapaxes(k, -1, -2)) * q.dtype.type(scale)   # (..., n_q, n_k)
    n_q, n_k = scores.shape[-2:]
    if is_causal:
        scores = np.where(np.tril(np.ones((n_q, n_k), dtype=bool)), scores, -np.inf)
    if attn_mask is not None:
        attn_mask = np.asarray(attn_mask)
        if attn_mask.dtype == bool:
            scores = np.where(attn_mask, scores, -np.inf)
        else:
            scores = scores + attn_mask.astype(scores.dtype, copy=False)
    w = softmax(scores, axis=-1)                                 # (..., n_q, n_k)
    out = w @ v                                                  # (..., n_q, d_v)
    return (out, w) if return_weights else out
