"""Softmax saturation with and without the 1/sqrt(d_k) scale.

For each head dimension d_k, `trials` random queries are scored against
`n_keys` random keys, all with unit-variance entries, so q.k has variance d_k.
Each score row goes through `engine.functional.softmax` twice: raw (q.k) and
scaled (q.k / sqrt(d_k)).

JSON keys:
- `d_k`: the head dimensions, in order; every list below has one entry per d_k.
- `var_raw`, `var_scaled`: sample variance of q.k and of q.k / sqrt(d_k).
- `max_weight_raw`, `max_weight_scaled`: the largest attention weight of a row,
  averaged over the trials.
- `entropy_raw`, `entropy_scaled`: entropy of the weights in nats, averaged.
- `entropy_max`: log(n_keys), the entropy of uniform attention; `n_keys`.
- `jacobian_raw`, `jacobian_scaled`: Frobenius norm of the softmax Jacobian
  diag(p) - p p^T (how much gradient flows back to the scores), averaged.
- `takeaway`: the conclusion, built from the numbers above.
"""

from __future__ import annotations

import math

import numpy as np

from engine.functional import softmax

# trials x n_keys x (sum of d_k + n_keys) numbers: about 0.4 GB of float64 at the limit
_BUDGET = 50_000_000


def _work(p) -> int:
    return p.trials * p.n_keys * (sum(p.d_k) + p.n_keys)


def check(p) -> str | None:
    if _work(p) <= _BUDGET:
        return None
    per_trial = p.n_keys * (sum(p.d_k) + p.n_keys)
    largest = max(1, _BUDGET // per_trial)
    if per_trial > _BUDGET:
        return (f"--n-keys {p.n_keys} with --d-k {','.join(map(str, p.d_k))} needs "
                f"{per_trial:,} numbers per trial, above the {_BUDGET:,} this demo allows; "
                "use fewer or smaller --d-k values or fewer --n-keys")
    return (f"--trials {p.trials} with --n-keys {p.n_keys} and these --d-k values needs "
            f"{_work(p):,} numbers (limit {_BUDGET:,}); the largest --trials allowed is "
            f"{largest:,}")


def softmax_jacobian(p: np.ndarray) -> np.ndarray:
    """d softmax / d scores = diag(p) - p p^T.          # (..., n) -> (..., n, n)"""
    return p[..., :, None] * np.eye(p.shape[-1]) - p[..., :, None] * p[..., None, :]


def softmax_jacobian_norm(p: np.ndarray) -> np.ndarray:
    """Frobenius norm of diag(p) - p p^T without forming it.       # (..., n) -> (...)

    Its squared entries sum to sum_i (p_i - p_i^2)^2 + sum_{i != j} p_i^2 p_j^2
    = sum p^2 - 2 sum p^3 + (sum p^2)^2, so a row costs O(n), not O(n^2).
    """
    s2 = np.sum(p**2, axis=-1)
    return np.sqrt(np.maximum(s2 - 2 * np.sum(p**3, axis=-1) + s2**2, 0.0))


def entropy(p: np.ndarray) -> np.ndarray:
    """-sum p log p in nats, with 0 log 0 = 0.          # (..., n) -> (...)"""
    safe = np.where(p > 0, p, 1.0)
    return -np.sum(p * np.log(safe), axis=-1)


def _stats(scores: np.ndarray) -> tuple[float, float, float, float]:
    w = softmax(scores, axis=-1)                                   # (trials, n_keys)
    jac = softmax_jacobian_norm(w)                                 # (trials,)
    return (float(scores.var()), float(w.max(axis=-1).mean()), float(entropy(w).mean()),
            float(jac.mean()))


def compute(p, rng: np.random.Generator, progress) -> dict:
    out: dict[str, list] = {k: [] for k in (
        "d_k", "var_raw", "var_scaled", "max_weight_raw", "max_weight_scaled",
        "entropy_raw", "entropy_scaled", "jacobian_raw", "jacobian_scaled")}
    for d_k in progress(p.d_k, total=len(p.d_k), description="softmax per d_k"):
        q = rng.standard_normal((p.trials, 1, d_k))                  # (trials, 1, d_k)
        k = rng.standard_normal((p.trials, p.n_keys, d_k))           # (trials, n_keys, d_k)
        raw = (q @ k.swapaxes(-1, -2))[:, 0, :]                      # (trials, n_keys)
        for tag, scores in (("raw", raw), ("scaled", raw / math.sqrt(d_k))):
            var, top, ent, jac = _stats(scores)
            out[f"var_{tag}"].append(var)
            out[f"max_weight_{tag}"].append(top)
            out[f"entropy_{tag}"].append(ent)
            out[f"jacobian_{tag}"].append(jac)
        out["d_k"].append(d_k)
    out["entropy_max"] = math.log(p.n_keys)
    out["n_keys"] = p.n_keys
    out["takeaway"] = _takeaway(out)
    return out


def _takeaway(r: dict) -> str:
    i = int(np.argmax(r["d_k"]))
    d = r["d_k"][i]
    return (f"At d_k = {d}, q.k has variance {r['var_raw'][i]:.0f} (about d_k), so softmax "
            f"turns nearly one-hot: largest weight {r['max_weight_raw'][i]:.2f}, gradient norm "
            f"{r['jacobian_raw'][i]:.3f}. Dividing by sqrt(d_k) brings the variance to "
            f"{r['var_scaled'][i]:.2f}, the largest weight to {r['max_weight_scaled'][i]:.2f} "
            f"and the gradient norm to {r['jacobian_scaled'][i]:.3f}.")


def render(result: dict):
    from rich.text import Text

    from tutor.demos import _viz

    f = _viz.fmt
    rows = zip(result["d_k"], result["var_raw"], result["var_scaled"],
               result["max_weight_raw"], result["max_weight_scaled"], strict=True)
    t1 = _viz.table(["d_k", "var raw", "var /√d", "max w raw", "max w /√d"],
                    [[d, f(a), f(b), f(c), f(e)] for d, a, b, c, e in rows],
                    title="Variance of q.k and the largest weight")
    rows = zip(result["d_k"], result["entropy_raw"], result["entropy_scaled"],
               result["jacobian_raw"], result["jacobian_scaled"], strict=True)
    t2 = _viz.table(["d_k", "H raw", "H /√d", "‖J‖ raw", "‖J‖ /√d"],
                    [[d, f(a), f(b), f(c), f(e)] for d, a, b, c, e in rows],
                    title=f"Entropy (nats; uniform = {result['entropy_max']:.2f}) and "
                          "softmax Jacobian norm")
    plot = _viz.line_plot({
        "max w raw": (result["d_k"], result["max_weight_raw"]),
        "max w /√d": (result["d_k"], result["max_weight_scaled"]),
        "‖J‖ raw": (result["d_k"], result["jacobian_raw"]),
        "‖J‖ /√d": (result["d_k"], result["jacobian_scaled"]),
    }, title="largest weight and gradient signal vs d_k", xlabel="d_k (log)", logx=True,
        width=54, height=14)
    note = f"{result['n_keys']} keys per query; raw = q.k, /√d = q.k / sqrt(d_k)."
    return _viz.view("scaling: why divide by sqrt(d_k)", Text(note, style="dim"), t1, t2,
                     plot, takeaway=result["takeaway"])
