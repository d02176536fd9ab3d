import math

import numpy as np


def alibi_bias(n_head, n_q, n_k):
    """ALiBi attention biases (Press et al. 2022).   -> (n_head, n_q, n_k) float64

    bias[h, i, j] = -slope_h * |pos_i - j|, where the queries are the last n_q of
    the n_k positions (pos_i = n_k - n_q + i, as with a KV cache).
    Slopes: for n_head a power of two, the geometric sequence 2^(-8/n), 2^(-16/n),
    ..., 2^(-8). Otherwise take those of the largest power of two p < n_head,
    then every other slope of the 2p sequence, from its first
    (2^(-4/p), 2^(-12/p), ...), until there are n_head.
    """
    def geometric(n):
        return [2.0 ** (-8.0 * (i + 1) / n) for i in range(n)]

    p = 2 ** int(math.floor(math.log2(n_head)))
    slopes = geometric(p) + geometric(2 * p)[0::2][: n_head - p]
    pos_q = np.arange(n_k - n_q, n_k)
    dist = np.abs(pos_q[:, None] - np.arange(n_k)[None, :])        # (n_q, n_k)
    return -np.array(slopes)[:, None, None] * dist
