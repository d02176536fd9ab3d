import math

import numpy as np


def multi_head_attention(x, w_q, w_k, w_v, w_o, n_head, causal=True):
    """Multi-head self-attention.

    x: (n, d)  w_q, w_k, w_v, w_o: (d, d), applied as x @ w (no biases)  ->  (n, d)
    Split the projections into n_head heads of d_head = d // n_head: head h
    uses columns h * d_head .. (h + 1) * d_head of x @ w_q (and of x @ w_k,
    x @ w_v). Each head attends with scale 1 / sqrt(d_head); causal=True lets
    token i see tokens 0..i only. Concatenate the heads in order, then apply w_o.
    x's dtype is kept.
    """
    n, d = x.shape
    dh = d // n_head

    def heads(t):                                      # (n, d) -> (n_head, n, d_head)
        return t.reshape(n, n_head, dh).transpose(1, 0, 2)

    q, k, v = heads(x @ w_q), heads(x @ w_k), heads(x @ w_v)
    scores = q @ k.transpose(0, 2, 1) / x.dtype.type(math.sqrt(dh))    # (n_head, n, n)
    if causal:
        scores = np.where(np.tri(n, dtype=bool), scores, -np.inf)
    scores = scores - scores.max(axis=-1, keepdims=True)
    w = np.exp(scores)
    w /= w.sum(axis=-1, keepdims=True)
    out = (w @ v).transpose(1, 0, 2).reshape(n, d)     # heads side by side
    return out @ w_o
