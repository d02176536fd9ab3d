import math

import numpy as np


def grouped_query_attention(x, w_q, w_k, w_v, w_o, n_head, n_kv_head, causal=True):
    """Grouped-query self-attention (GQA; n_kv_head = 1 is multi-query attention).

    x: (n, d)  w_q, w_o: (d, d)  w_k, w_v: (d, n_kv_head * d_head)  ->  (n, d),
    d_head = d // n_head, projections x @ w, no biases. Query heads come in
    n_kv_head consecutive groups of n_head // n_kv_head: query head h uses
    key/value head h // (n_head // n_kv_head). Scale 1 / sqrt(d_head);
    causal=True lets token i see tokens 0..i. x's dtype is kept.
    """
    n, d = x.shape
    dh = d // n_head
    group = n_head // n_kv_head
    q = (x @ w_q).reshape(n, n_head, dh).transpose(1, 0, 2)           # (n_head, n, dh)
    k = (x @ w_k).reshape(n, n_kv_head, dh).transpose(1, 0, 2)        # (n_kv_head, n, dh)
    v = (x @ w_v).reshape(n, n_kv_head, dh).transpose(1, 0, 2)
    k, v = np.repeat(k, group, axis=0), np.repeat(v, group, axis=0)   # (n_head, n, dh)
    scores = q @ k.transpose(0, 2, 1) / x.dtype.type(math.sqrt(dh))
    if causal:
        scores = np.where(np.tri(n, dtype=bool), scores, -np.inf)
    scores = scores - scores.max(axis=-1, keepdims=True)
    w = np.exp(scores)
    w /= w.sum(axis=-1, keepdims=True)
    return (w @ v).transpose(1, 0, 2).reshape(n, d) @ w_o
