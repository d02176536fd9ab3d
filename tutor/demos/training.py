"""Learning-rate warmup (inverse-sqrt and cosine) and label smoothing.

Schedules, evaluated at about 400 steps from 1 to `steps` (the warmup step and
its neighbours always included):
- inverse-sqrt, from "Attention Is All You Need":
  lr = d_model^-0.5 * min(step^-0.5, step * warmup^-1.5)
  which rises linearly for `warmup` steps and then decays as 1/sqrt(step);
- linear warmup to the same peak, then cosine decay to 10% of the peak at `steps`.
The peak and where it happens are found by argmax over the evaluated steps.

Label smoothing with epsilon over K classes: the target puts 1 - eps + eps/K on
the true class and eps/K on every other. For logits (m, 0, ..., 0), a prediction
of the true class with margin m, the losses use `engine.functional.log_softmax`.
Plain cross-entropy falls towards 0 as m grows; the smoothed loss is smallest at
m* = log((1 - eps + eps/K) / (eps/K)), where the prediction equals the target,
and that minimum is the target's entropy.

JSON keys:
- `schedule_steps`; `inverse_sqrt`, `cosine`: learning rates at those steps.
- `inverse_sqrt_peak`, `inverse_sqrt_peak_step`, `cosine_peak`, `cosine_peak_step`.
- `classes`, `smoothing`: K and eps; `target_true`, `target_other`: the smoothed
  target's two values.
- `margins`; `p_true`, `ce`, `smoothed_ce`: probability of the true class and
  the two losses at each margin.
- `best_margin`: m* (null without smoothing); `min_smoothed_ce`: the smallest
  smoothed loss found over a fine scan of margins; `target_entropy`: H(target).
- `takeaway`.
"""

from __future__ import annotations

import math

import numpy as np

from engine.functional import log_softmax

_POINTS = 400
_FLOOR = 0.1          # cosine decays to this fraction of the peak


def check(p) -> str | None:
    if p.warmup >= p.steps:
        return (f"--warmup {p.warmup} must be below --steps {p.steps}; the largest "
                f"--warmup allowed is {p.steps - 1}")
    return None


def inverse_sqrt(step: np.ndarray, d_model: int, warmup: int) -> np.ndarray:
    """The Transformer paper's schedule: d^-0.5 * min(step^-0.5, step * warmup^-1.5)."""
    step = np.asarray(step, dtype=float)
    return d_model**-0.5 * np.minimum(step**-0.5, step * warmup**-1.5)


def cosine(step: np.ndarray, peak: float, warmup: int, total: int,
           floor: float = _FLOOR) -> np.ndarray:
    """Linear warmup to `peak`, then cosine decay to floor * peak at `total`."""
    step = np.asarray(step, dtype=float)
    progress = np.clip((step - warmup) / max(total - warmup, 1), 0, 1)
    decay = floor + (1 - floor) * 0.5 * (1 + np.cos(math.pi * progress))
    return np.where(step < warmup, peak * step / warmup, peak * decay)


def smoothed_target(classes: int, eps: float) -> np.ndarray:
    t = np.full(classes, eps / classes)
    t[0] = 1 - eps + eps / classes                          # class 0 is the true class
    return t


def losses(margins: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, ...]:
    """(p_true, plain CE, smoothed CE) for logits (m, 0, ..., 0), one row per margin."""
    logits = np.zeros((len(margins), len(target)))
    logits[:, 0] = margins
    logp = log_softmax(logits, axis=-1)                     # (margins, K)
    return np.exp(logp[:, 0]), -logp[:, 0], -(logp @ target)


def compute(p, rng: np.random.Generator, progress) -> dict:
    grid = np.rint(np.geomspace(1, p.steps, _POINTS // 2))
    lin = np.rint(np.linspace(1, p.steps, _POINTS // 2))
    extra = [p.warmup - 1, p.warmup, p.warmup + 1]
    steps = np.unique(np.clip(np.concatenate([grid, lin, extra]), 1, p.steps)).astype(int)
    inv = inverse_sqrt(steps, p.d_model, p.warmup)
    peak = float(inv.max())
    cos = cosine(steps, peak, p.warmup, p.steps)

    k, eps = p.classes, p.smoothing
    target = smoothed_target(k, eps)
    margins = np.array([0.0, 1.0, 2.0, 5.0, 10.0, 20.0])
    best = math.log((1 - eps + eps / k) / (eps / k)) if eps > 0 else None
    if best is not None:
        margins = np.sort(np.append(margins, best))
    p_true, ce, sce = losses(margins, target)
    fine = np.linspace(0, 60, 60001)
    fine_sce = _scan(fine, k, eps)
    nz = target[target > 0]
    result = {
        "schedule_steps": steps, "inverse_sqrt": inv, "cosine": cos,
        "inverse_sqrt_peak": peak, "inverse_sqrt_peak_step": int(steps[np.argmax(inv)]),
        "cosine_peak": float(cos.max()), "cosine_peak_step": int(steps[np.argmax(cos)]),
        "classes": k, "smoothing": eps,
        "target_true": float(target[0]), "target_other": float(target[1]),
        "margins": margins, "p_true": p_true, "ce": ce, "smoothed_ce": sce,
        "best_margin": best, "min_smoothed_ce": float(fine_sce.min()),
        "target_entropy": abs(float(-np.sum(nz * np.log(nz)))),
    }
    result["takeaway"] = _takeaway(result)
    return result


def _scan(margins: np.ndarray, k: int, eps: float) -> np.ndarray:
    # A fine scan over many margins: every wrong class has the same logit 0, so the
    # smoothed loss needs only log(e^m + K - 1), not a (margins x K) array.
    logz = np.logaddexp(margins, math.log(k - 1))
    logp_true, logp_other = margins - logz, -logz
    t_true, t_other = 1 - eps + eps / k, eps / k
    return -(t_true * logp_true + (k - 1) * t_other * logp_other)


def _takeaway(r: dict) -> str:
    text = (f"Inverse-sqrt peaks at step {r['inverse_sqrt_peak_step']:,} with lr "
            f"{r['inverse_sqrt_peak']:.3g} and then decays as 1/sqrt(step). ")
    if r["best_margin"] is None:
        return text + "Without smoothing the loss keeps falling as the logits grow."
    return text + (f"With eps = {r['smoothing']:g} the target is {r['target_true']:.3g} / "
                   f"{r['target_other']:.3g}, so the loss bottoms out at "
                   f"{r['min_smoothed_ce']:.3f} (the target's entropy, "
                   f"{r['target_entropy']:.3f}) at margin {r['best_margin']:.2f}: "
                   f"pushing logits further now costs loss, so the model stays calibrated.")


def render(result: dict):
    from rich.text import Text

    from tutor.demos import _viz

    f = _viz.fmt
    steps = np.asarray(result["schedule_steps"], dtype=float)
    unit, label = (1000.0, "step (thousands)") if steps[-1] >= 10_000 else (1.0, "step")
    plot = _viz.line_plot({"inverse-sqrt": (steps / unit, result["inverse_sqrt"]),
                           "warmup + cosine": (steps / unit, result["cosine"])},
                          title="learning rate vs step", xlabel=label, width=54, height=12)
    peaks = _viz.table(["schedule", "peak lr", "at step"], [
        ["inverse-sqrt", f(result["inverse_sqrt_peak"]), f"{result['inverse_sqrt_peak_step']:,}"],
        ["warmup + cosine", f(result["cosine_peak"]), f"{result['cosine_peak_step']:,}"],
    ], title="Peaks")
    best = result["best_margin"]
    rows = [[("m* " if best is not None and m == best else "") + f"{m:.2f}", f(pt), f(c), f(s)]
            for m, pt, c, s in zip(result["margins"], result["p_true"], result["ce"],
                                   result["smoothed_ce"], strict=True)]
    smooth = _viz.table(["margin", "p(true)", "CE", "smoothed CE"], rows,
                        title=f"Label smoothing, eps = {result['smoothing']:g}, "
                              f"K = {result['classes']:,}")
    if best is None:
        target = Text("No smoothing: the target is one-hot and the loss falls towards 0 "
                      "as the margin grows.")
    else:
        target = Text(f"Smoothed target: {result['target_true']:.4g} on the true class, "
                      f"{result['target_other']:.4g} on each other; least loss "
                      f"{result['min_smoothed_ce']:.4f} = H(target) "
                      f"{result['target_entropy']:.4f}.")
    return _viz.view("training: warmup and label smoothing", plot, peaks, target, smooth,
                     takeaway=result["takeaway"])
