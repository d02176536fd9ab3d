import numpy as np


def rope(x, positions, base=10000.0):
    """Rotary position embedding, the rotate-half convention of LLaMA in transformers.

    x: (..., n, d) with d even  positions: (n,) integer positions  ->  x's shape and dtype.
    Dimension i < d/2 is paired with i + d/2 (not with i + 1) and the pair is
    rotated by the angle p * base^(-2i/d), p the token's position:
        out[..., :h] = x1 * cos - x2 * sin,   out[..., h:] = x2 * cos + x1 * sin
    with x1 = x[..., :h], x2 = x[..., h:], h = d/2. Compute the angles in float64.
    """
    d = x.shape[-1]
    h = d // 2
    inv_freq = base ** (-np.arange(0, d, 2, dtype=np.float64) / d)            # (h,)
    angles = np.asarray(positions, dtype=np.float64)[:, None] * inv_freq      # (n, h)
    cos, sin = np.cos(angles).astype(x.dtype), np.sin(angles).astype(x.dtype)
    x1, x2 = x[..., :h], x[..., h:]
    return np.concatenate([x1 * cos - x2 * sin, x2 * cos + x1 * sin], axis=-1)
