"""LoRA (Hu et al. 2021): a frozen weight plus a trainable low-rank update.

Weights are stored (in, out) as everywhere in the engine, so a linear layer is
x @ w; the update is a @ b with a: (d_in, r) and b: (r, d_out), scaled by
alpha / r so that changing the rank does not change the update's size (a
learning rate tuned at one rank carries over). This is the paper's
Delta W = B A written in the (in, out) layout: our a is its A^T, our b its B^T.

    y = x W + (alpha / r) (x a) b          # Delta W = (alpha / r) a b, never formed

b starts at zero, so training starts from the base model exactly. Only
r (d_in + d_out) numbers train instead of d_in d_out. After training the update
can be merged, W' = W + Delta W, so inference costs nothing extra; merging is
exact up to floating-point rounding.

`fit_lora` trains a and b by Adam on a least-squares task; `reduced_rank_fit`
is the closed-form best rank-r update for the same task (reduced-rank
regression), the independent route its result is checked against.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

# the linear layers of a block that LoRA can adapt (engine.model parameter names)
LINEAR_TARGETS = ("attn.w_q", "attn.w_k", "attn.w_v", "attn.w_o", "ffn.w_up", "ffn.w_gate",
                  "ffn.w_down")


def _check(w, a, b):
    w, a, b = np.asarray(w), np.asarray(a), np.asarray(b)
    if a.shape[:1] != w.shape[:1] or b.shape[1:] != w.shape[1:] or a.shape[1] != b.shape[0]:
        raise ValueError(f"w {w.shape} must be (d_in, d_out), a {a.shape} (d_in, r) and "
                         f"b {b.shape} (r, d_out)")
    return w, a, b


def lora_init(d_in: int, d_out: int, rank: int, rng: np.random.Generator,
              dtype=np.float64) -> tuple[np.ndarray, np.ndarray]:
    """a ~ U(-1/sqrt(d_in), 1/sqrt(d_in)) (PEFT's Kaiming-uniform default), b = 0.

    -> a (d_in, rank), b (rank, d_out)
    """
    if not 1 <= rank <= min(d_in, d_out):
        raise ValueError(f"rank={rank} must be in 1..min(d_in, d_out)={min(d_in, d_out)}")
    bound = 1 / np.sqrt(d_in)
    a = rng.uniform(-bound, bound, size=(d_in, rank)).astype(dtype)
    return a, np.zeros((rank, d_out), dtype=dtype)


def lora_delta(a: np.ndarray, b: np.ndarray, alpha: float) -> np.ndarray:
    """Delta W = (alpha / r) a b.   -> (d_in, d_out)"""
    return (alpha / a.shape[1]) * (a @ b)


def lora_linear(x: np.ndarray, w: np.ndarray, a: np.ndarray, b: np.ndarray, alpha: float,
                bias: np.ndarray | None = None) -> np.ndarray:
    """x W + (alpha / r) (x A) B [+ bias].     x: (..., d_in)  ->  (..., d_out)

    The low-rank path costs O(r (d_in + d_out)) per token; the (d_in, d_out)
    update A B is never formed.
    """
    w, a, b = _check(w, a, b)
    y = x @ w + (alpha / a.shape[1]) * ((x @ a) @ b)                 # (..., r) -> (..., d_out)
    return y + bias if bias is not None else y


def lora_merge(w: np.ndarray, a: np.ndarray, b: np.ndarray, alpha: float) -> np.ndarray:
    """W + (alpha / r) A B: one weight for inference, with no extra cost per token."""
    w, a, b = _check(w, a, b)
    return w + lora_delta(a, b, alpha)


def lora_unmerge(w_merged: np.ndarray, a: np.ndarray, b: np.ndarray, alpha: float
                 ) -> np.ndarray:
    """W' - (alpha / r) A B: the base weight back (to switch adapters)."""
    w_merged, a, b = _check(w_merged, a, b)
    return w_merged - lora_delta(a, b, alpha)


def lora_params(d_in: int, d_out: int, rank: int) -> int:
    """Trainable numbers of one adapter: r (d_in + d_out), against d_in d_out for W."""
    return rank * (d_in + d_out)


@dataclass(frozen=True)
class AdapterCount:
    """LoRA's trainable parameters over a whole model, against its full size."""

    rank: int
    targets: tuple[str, ...]
    adapted: int          # weights in the adapted matrices (what full fine-tuning of them trains)
    trainable: int        # a and b of every adapter
    total: int            # every parameter of the model

    @property
    def share(self) -> float:
        return self.trainable / self.total


def count_adapters(shapes: Mapping[str, tuple[int, ...]], rank: int,
                   targets: Iterable[str] = ("attn.w_q", "attn.w_v")) -> AdapterCount:
    """LoRA parameters for adapters on every matrix whose name ends in one of `targets`.

    shapes: engine.model.param_shapes(config) (name -> (d_in, d_out)), so no
    weights are allocated. The default targets are the paper's W_q and W_v.
    """
    targets = tuple(targets)
    adapted = trainable = 0
    for name, shape in shapes.items():
        if len(shape) == 2 and name.endswith(targets):
            adapted += shape[0] * shape[1]
            trainable += lora_params(shape[0], shape[1], min(rank, *shape))
    total = sum(int(np.prod(s)) for s in shapes.values())
    return AdapterCount(rank=rank, targets=targets, adapted=adapted, trainable=trainable,
                        total=total)


def lora_loss_and_grads(x: np.ndarray, y: np.ndarray, w: np.ndarray, a: np.ndarray,
                        b: np.ndarray, alpha: float) -> tuple[float, np.ndarray, np.ndarray]:
    """L = ||lora_linear(x) - y||^2 / (2n) and its gradients with respect to a and b.

    x: (n, d_in), y: (n, d_out). With E = x W' - y and s = alpha / r:
    dL/db = s (x a)^T E / n  and  dL/da = s x^T E b^T / n.
    """
    n = x.shape[0]
    s = alpha / a.shape[1]
    h = x @ a                                                        # (n, r)
    err = x @ w + s * (h @ b) - y                                    # (n, d_out)
    loss = float(np.sum(err ** 2) / (2 * n))
    grad_b = s * (h.T @ err) / n                                     # (r, d_out)
    grad_a = s * x.T @ (err @ b.T) / n                               # (d_in, r)
    return loss, grad_a, grad_b


def fit_lora(x: np.ndarray, y: np.ndarray, w: np.ndarray, rank: int, alpha: float,
             rng: np.random.Generator, steps: int = 300, lr: float = 0.02
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Train a and b with Adam from lora_init on L(x, y).  -> a, b, losses (steps + 1,)"""
    a, b = lora_init(x.shape[-1], w.shape[-1], rank, rng)
    params = [a, b]
    moments = [(np.zeros_like(p), np.zeros_like(p)) for p in params]
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    losses = []
    for t in range(1, steps + 1):
        loss, ga, gb = lora_loss_and_grads(x, y, w, params[0], params[1], alpha)
        losses.append(loss)
        for i, g in enumerate((ga, gb)):
            m, v = moments[i]
            m = beta1 * m + (1 - beta1) * g
            v = beta2 * v + (1 - beta2) * g * g
            moments[i] = (m, v)
            params[i] = params[i] - lr * (m / (1 - beta1 ** t)) / (
                np.sqrt(v / (1 - beta2 ** t)) + eps)
    a, b = params
    losses.append(lora_loss_and_grads(x, y, w, a, b, alpha)[0])
    return a, b, np.array(losses)


def reduced_rank_fit(x: np.ndarray, target: np.ndarray, rank: int) -> np.ndarray:
    """The best update of rank <= r for x Delta ~ target, in least squares.  -> (d_in, d_out)

    Reduced-rank regression: take the unconstrained solution Delta_ols, then
    project it onto the top-r right singular vectors of its fitted values
    x Delta_ols. (For whitened x this is the truncated SVD of Delta_ols,
    Eckart-Young.)
    """
    delta_ols, *_ = np.linalg.lstsq(x, target, rcond=None)          # (d_in, d_out)
    _, _, vt = np.linalg.svd(x @ delta_ols, full_matrices=False)
    v = vt[:rank].T                                                  # (d_out, r)
    return delta_ols @ v @ v.T
