"""LoRA: a frozen weight plus a trainable low-rank update, and how few numbers it trains.

For a linear layer y = x W with W stored (d_in, d_out), LoRA (Hu et al. 2021)
freezes W and learns A (r, d_in) and B (d_out, r), in the paper's and PEFT's
layout, so the layer computes

    y = x W + (alpha / r) (x A^T) B^T        # the update is Delta W = (alpha / r) (B A)^T

B starts at zero, so training starts from the base model exactly. Only
r (d_in + d_out) numbers train instead of d_in d_out. After training the update
can be merged, W' = W + Delta W, so inference costs nothing extra; merging is
exact up to floating-point rounding. alpha / r keeps the update's size about
the same when r changes, so a learning rate tuned at one rank carries over.

`fit_lora` trains A and B by Adam on a least-squares task; `reduced_rank_fit`
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


def lora_init(d_in: int, d_out: int, rank: int, rng: np.random.Generator,
              dtype=np.float64) -> tuple[np.ndarray, np.ndarray]:
    """A ~ U(-1/sqrt(d_in), 1/sqrt(d_in)) (PEFT's Kaiming-uniform default), B = 0.

    -> a (rank, d_in), b (d_out, rank)
    """
    if not 1 <= rank <= min(d_in, d_out):
        raise ValueError(f"rank={rank} must be in 1..min(d_in, d_out)={min(d_in, d_out)}")
    bound = 1 / np.sqrt(d_in)
    a = rng.uniform(-bound, bound, size=(rank, d_in)).astype(dtype)
    return a, np.zeros((d_out, rank), dtype=dtype)


def lora_delta(a: np.ndarray, b: np.ndarray, alpha: float) -> np.ndarray:
    """Delta W = (alpha / r) (B A)^T in the engine's (d_in, d_out) layout."""
    return (alpha / a.shape[0]) * (b @ a).T


def lora_linear(x: np.ndarray, w: np.ndarray, a: np.ndarray, b: np.ndarray, alpha: float,
                bias: np.ndarray | None = None) -> np.ndarray:
    """The unmerged layer: x W + (alpha/r) (x A^T) B^T.   x: (..., d_in) -> (..., d_out)

    Computed through the r-wide bottleneck, never forming Delta W.
    """
    y = x @ w + (alpha / a.shape[0]) * ((x @ a.T) @ b.T)             # (..., r) -> (..., d_out)
    return y if bias is None else y + bias


def merge(w: np.ndarray, a: np.ndarray, b: np.ndarray, alpha: float) -> np.ndarray:
    """W + Delta W: one ordinary weight that computes the adapted layer."""
    return w + lora_delta(a, b, alpha)


def unmerge(w_merged: np.ndarray, a: np.ndarray, b: np.ndarray, alpha: float) -> np.ndarray:
    """W' - Delta W: the base weight back (to switch adapters)."""
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
    trainable: int        # A and B of every adapter
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
    """L = ||lora_linear(x) - y||^2 / (2n) and its gradients with respect to A and B.

    x: (n, d_in), y: (n, d_out). With E = x W' - y and s = alpha / r:
    dL/dB = s E^T (x A^T) / n  and  dL/dA = s B^T E^T x / n.
    """
    n = x.shape[0]
    s = alpha / a.shape[0]
    h = x @ a.T                                                      # (n, r)
    err = x @ w + s * (h @ b.T) - y                                  # (n, d_out)
    loss = float(np.sum(err ** 2) / (2 * n))
    grad_b = s * (err.T @ h) / n                                     # (d_out, r)
    grad_a = s * (b.T @ err.T) @ x / n                               # (r, d_in)
    return loss, grad_a, grad_b


def fit_lora(x: np.ndarray, y: np.ndarray, w: np.ndarray, rank: int, alpha: float,
             rng: np.random.Generator, steps: int = 300, lr: float = 0.02
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Train A and B with Adam from lora_init on L(x, y).  -> a, b, losses (steps + 1,)"""
    a, b = lora_init(x.shape[-1], w.shape[-1], rank, rng)
    state = [(np.zeros_like(p), np.zeros_like(p)) for p in (a, b)]
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    losses = []
    for t in range(1, steps + 1):
        loss, ga, gb = lora_loss_and_grads(x, y, w, a, b, alpha)
        losses.append(loss)
        new = []
        for p, g, (m, v) in zip((a, b), (ga, gb), state, strict=True):
            m = beta1 * m + (1 - beta1) * g
            v = beta2 * v + (1 - beta2) * g * g
            step = lr * (m / (1 - beta1 ** t)) / (np.sqrt(v / (1 - beta2 ** t)) + eps)
            new.append((p - step, (m, v)))
        (a, sa), (b, sb) = new
        state = [sa, sb]
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
