"""Hand-written backward passes: the vector-Jacobian products of softmax and LayerNorm.

Each function takes what the forward pass produced (or its inputs) and the
gradient of the loss with respect to the output, dy, and returns the
gradients with respect to the inputs. Shapes match the forward functions in
engine.functional.
"""

from __future__ import annotations

import numpy as np


def softmax_backward(y: np.ndarray, dy: np.ndarray, axis: int = -1) -> np.ndarray:
    """dL/dx for y = softmax(x):  dx = y * (dy - sum(dy * y)).    y, dy: (..., n) -> (..., n)

    The Jacobian is diag(y) - y y^T; multiplying by it needs only the one dot
    product dy . y per row, never the n x n matrix.
    """
    y, dy = np.asarray(y), np.asarray(dy)
    if y.shape != dy.shape:
        raise ValueError(f"y {y.shape} and dy {dy.shape} must have the same shape")
    return y * (dy - np.sum(dy * y, axis=axis, keepdims=True))


def layer_norm_backward(x: np.ndarray, g: np.ndarray, dy: np.ndarray, eps: float = 1e-5
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of y = g * (x - mean) / sqrt(var + eps) + b over the last axis.

    x, dy: (..., d)  g: (d,)  ->  dx (..., d), dg (d,), db (d,). With
    xhat = (x - mean) * rstd and dxhat = dy * g:
        dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat))
    (means over the last axis; the two subtracted terms come from the mean and
    the variance depending on every element). dg and db sum over every leading axis.
    """
    x, g, dy = np.asarray(x), np.asarray(g), np.asarray(dy)
    if x.shape != dy.shape or g.shape != x.shape[-1:]:
        raise ValueError(f"x {x.shape}, dy {dy.shape} must match and g {g.shape} must be "
                         f"({x.shape[-1]},)")
    mean = np.mean(x, axis=-1, keepdims=True)                          # (..., 1)
    rstd = 1.0 / np.sqrt(np.var(x, axis=-1, keepdims=True) + eps)      # (..., 1), biased var
    xhat = (x - mean) * rstd                                           # (..., d)
    dxhat = dy * g                                                     # (..., d)
    dx = rstd * (dxhat - np.mean(dxhat, axis=-1, keepdims=True)
                 - xhat * np.mean(dxhat * xhat, axis=-1, keepdims=True))
    lead = tuple(range(x.ndim - 1))
    return dx, np.sum(dy * xhat, axis=lead), np.sum(dy, axis=lead)
