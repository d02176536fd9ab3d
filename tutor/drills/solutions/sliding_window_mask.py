import numpy as np


def sliding_window_mask(n, window):
    """Causal sliding-window mask (Mistral): query i sees keys i - window + 1 .. i.

    -> (n, n) bool, True where query i may attend to key j: the `window` most
    recent positions, itself included. window >= n is the plain causal mask.
    """
    dist = np.arange(n)[:, None] - np.arange(n)[None, :]     # i - j
    return (dist >= 0) & (dist < window)
