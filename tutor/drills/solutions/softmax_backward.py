import numpy as np


def softmax_backward(y, dy):
    """The gradient through softmax along the last axis.

    y: (..., n) the softmax output  dy: (..., n) dL/dy  ->  dL/dx (..., n)
    The Jacobian is diag(y) - y y^T, so dx = y * (dy - sum(dy * y)) with the
    sum over the last axis, per row. Do not build the n x n Jacobian.
    """
    return y * (dy - np.sum(dy * y, axis=-1, keepdims=True))
