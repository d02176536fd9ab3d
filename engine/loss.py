"""Classification losses: cross-entropy with label smoothing and ignored targets.

Classes are on the last axis: logits (..., C), targets (...). (PyTorch puts the
class axis second, (N, C, d1, ...); the maths is the same.)
"""

from __future__ import annotations

import numpy as np

from engine.functional import log_softmax


def smoothed_targets(targets, n_classes: int, label_smoothing: float = 0.0) -> np.ndarray:
    """Target distributions: (1 - eps) on the true class plus eps / C on every class.

    targets: (...,) int in [0, C)  ->  (..., C) float64. The eps mass is spread
    over all C classes, the true one included (Szegedy et al. 2016; PyTorch),
    so the true class gets 1 - eps + eps / C and each other class eps / C.
    """
    targets = np.asarray(targets)
    if targets.dtype.kind not in "iu":
        raise ValueError(f"targets must be integers, got dtype {targets.dtype}")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing={label_smoothing} must be in [0, 1]")
    if n_classes < 1 or (targets.size and (targets.min() < 0 or targets.max() >= n_classes)):
        raise ValueError(f"targets must lie in [0, n_classes={n_classes})")
    one_hot = targets[..., None] == np.arange(n_classes)                 # (..., C)
    return (1.0 - label_smoothing) * one_hot + label_smoothing / n_classes


def cross_entropy(logits, targets, label_smoothing: float = 0.0, ignore_index: int = -100,
                  reduction: str = "mean"):
    """-sum_c t_c log softmax(logits)_c against smoothed targets t, as PyTorch computes it.

    logits: (..., C)  targets: (...,) int. Positions whose target is ignore_index
    contribute nothing, not even the smoothing term. reduction="mean" averages
    over the positions that are not ignored (nan when every one is: 0 / 0, as in
    PyTorch), "sum" adds them, "none" returns (...,) with 0 at ignored positions.
    log softmax is taken with the max subtracted, so large logits cannot overflow.
    """
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"reduction={reduction!r} must be 'mean', 'sum' or 'none'")
    logits = np.asarray(logits, dtype=np.float64)
    targets = np.asarray(targets)
    if targets.shape != logits.shape[:-1]:
        raise ValueError(f"targets {targets.shape} must be logits {logits.shape} without "
                         f"the class axis")
    keep = targets != ignore_index                                       # (...,)
    safe = np.where(keep, targets, 0)
    logp = log_softmax(logits, axis=-1)                                  # (..., C)
    t = smoothed_targets(safe, logits.shape[-1], label_smoothing)        # (..., C)
    per_position = np.where(keep, -np.sum(t * logp, axis=-1), 0.0)       # (...,)
    if reduction == "none":
        return per_position
    total = float(np.sum(per_position))
    if reduction == "sum":
        return total
    n = int(np.count_nonzero(keep))
    return total / n if n else float("nan")
