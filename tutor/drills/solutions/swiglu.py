import numpy as np


def swiglu(x, w_gate, w_up, w_down):
    """The SwiGLU feed-forward network of LLaMA: (silu(x W_gate) * (x W_up)) W_down.

    x: (..., d)  w_gate, w_up: (d, d_ff)  w_down: (d_ff, d)  ->  (..., d), x's dtype.
    silu(z) = z * sigmoid(z) = z / (1 + exp(-z)). Weights are stored (in, out),
    so a projection is x @ w. No biases.
    """
    gate = x @ w_gate                                  # (..., d_ff)
    up = x @ w_up                                      # (..., d_ff)
    # silu written with exp(-|z|), which never overflows for very negative z
    e = np.exp(-np.abs(gate))
    silu = gate * np.where(gate >= 0, 1 / (1 + e), e / (1 + e))
    return (silu * up) @ w_down                        # (..., d)
