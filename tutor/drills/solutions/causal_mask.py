import numpy as np


def causal_mask(n_q, n_k):
    """The causal mask for n_q queries over n_k keys.   -> (n_q, n_k) bool

    True where query i may attend to key j. The queries are the *last* n_q of
    the n_k positions (as with a KV cache: new tokens after cached ones), so
    query i sees keys 0 .. i + n_k - n_q. With n_q == n_k this is the usual
    lower triangle, diagonal included. With n_q > n_k the first queries see nothing.
    """
    i = np.arange(n_q)[:, None]
    j = np.arange(n_k)[None, :]
    return j <= i + (n_k - n_q)
