import numpy as np


def sinusoidal_positions(n, d, base=10000.0):
    """The sinusoidal position table of "Attention Is All You Need".   -> (n, d) float64

    PE[p, 2i] = sin(p / base^(2i/d)),  PE[p, 2i + 1] = cos(p / base^(2i/d)),
    for positions p = 0 .. n-1 and i = 0 .. d/2 - 1 (d even): sines and cosines
    interleaved, not in two halves.
    """
    freqs = base ** (-np.arange(0, d, 2, dtype=np.float64) / d)      # (d/2,)
    angles = np.arange(n, dtype=np.float64)[:, None] * freqs        # (n, d/2)
    pe = np.empty((n, d))
    pe[:, 0::2] = np.sin(angles)
    pe[:, 1::2] = np.cos(angles)
    return pe
