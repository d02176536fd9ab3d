import math

import numpy as np


def kv_cache_decode(x, w_q, w_k, w_v, w_o, k_cache, v_cache, n_head):
    """One decoding step of multi-head self-attention with a KV cache.

    x: (d,) the newest token's hidden state.  w_q, w_k, w_v, w_o: (d, d), x @ w.
    k_cache, v_cache: (n_head, n_past, d_head) keys and values of the n_past
    earlier tokens (n_past may be 0), d_head = d // n_head.
    -> (out (d,), k_cache (n_head, n_past + 1, d_head), v_cache (same)):
    append this token's key and value, then let its query attend to all
    n_past + 1 keys (scale 1 / sqrt(d_head)), merge the heads and apply w_o.
    The cost must be O(n_past) per step: one row of scores per head, nothing n x n.
    """
    d = x.shape[-1]
    dh = d // n_head
    q = (x @ w_q).reshape(n_head, 1, dh)                               # (n_head, 1, dh)
    k = np.concatenate([k_cache, (x @ w_k).reshape(n_head, 1, dh)], axis=1)
    v = np.concatenate([v_cache, (x @ w_v).reshape(n_head, 1, dh)], axis=1)
    scores = q @ k.transpose(0, 2, 1) / x.dtype.type(math.sqrt(dh))   # (n_head, 1, n_past + 1)
    scores = scores - scores.max(axis=-1, keepdims=True)
    w = np.exp(scores)
    w /= w.sum(axis=-1, keepdims=True)
    out = (w @ v).reshape(d)                                           # heads side by side
    return out @ w_o, k, v
