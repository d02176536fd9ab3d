"""Training formulas: learning-rate schedules, label smoothing, activations, normalisation."""

from __future__ import annotations

import math

from tutor.formulas import Computed, formula
from tutor.formulas import fmt_number as _n


@formula("training.noam_peak_lr",
         "Peak of the inverse-sqrt warmup schedule: d^-0.5 x warmup^-0.5")
def noam_peak_lr(d_model: int, warmup: int) -> Computed:
    lr = d_model**-0.5 * warmup**-0.5
    return Computed(lr, f"{_n(d_model)}^-0.5 x {_n(warmup)}^-0.5 = "
                        f"{d_model**-0.5:.4g} x {warmup**-0.5:.4g} = {lr:.4g}")


@formula("training.noam_lr",
         "Inverse-sqrt schedule at a step: d^-0.5 x min(step^-0.5, step x warmup^-1.5)")
def noam_lr(d_model: int, warmup: int, step: int) -> Computed:
    rising, falling = step * warmup**-1.5, step**-0.5
    lr = d_model**-0.5 * min(rising, falling)
    phase = "still warming up" if rising < falling else "decaying as 1/sqrt(step)"
    return Computed(lr, f"{_n(d_model)}^-0.5 x min({_n(step)}^-0.5, {_n(step)} x "
                        f"{_n(warmup)}^-1.5) = {d_model**-0.5:.4g} x "
                        f"min({falling:.4g}, {rising:.4g}) = {lr:.4g} ({phase})")


@formula("training.warmup_cosine_lr",
         "Linear warmup to the peak, then cosine decay to min_lr at the last step")
def warmup_cosine_lr(peak_lr: float, warmup: int, total: int, step: int,
                     min_lr: float = 0.0) -> Computed:
    if step < warmup:
        lr = peak_lr * step / warmup
        return Computed(lr, f"warming up: {peak_lr:g} x {_n(step)} / {_n(warmup)} = {lr:.4g}")
    progress = min(1.0, (step - warmup) / (total - warmup))
    lr = min_lr + 0.5 * (peak_lr - min_lr) * (1 + math.cos(math.pi * progress))
    return Computed(lr, f"progress = ({_n(step)} - {_n(warmup)}) / ({_n(total)} - {_n(warmup)})"
                        f" = {progress:.4g}; {min_lr:g} + 0.5 x ({peak_lr:g} - {min_lr:g}) x "
                        f"(1 + cos(pi x {progress:.4g})) = {lr:.4g}")


def _smoothed(smoothing: float, classes: int) -> tuple[float, float]:
    return 1 - smoothing + smoothing / classes, smoothing / classes


@formula("training.smoothed_target",
         "Label-smoothed probability of the true class: 1 - eps + eps/K")
def smoothed_target(smoothing: float, classes: int) -> Computed:
    on, _ = _smoothed(smoothing, classes)
    return Computed(on, f"1 - {smoothing:g} + {smoothing:g}/{_n(classes)} = {on:.6g}")


@formula("training.smoothed_other",
         "Label-smoothed probability of each wrong class: eps/K")
def smoothed_other(smoothing: float, classes: int) -> Computed:
    _, off = _smoothed(smoothing, classes)
    return Computed(off, f"{smoothing:g} / {_n(classes)} = {off:.4g}")


@formula("training.smoothed_min_loss",
         "Lowest cross-entropy reachable against a label-smoothed target: its entropy, in nats")
def smoothed_min_loss(smoothing: float, classes: int) -> Computed:
    on, off = _smoothed(smoothing, classes)
    h = -on * math.log(on) - (classes - 1) * off * math.log(off)
    return Computed(h, f"H(q) = -{on:.4g} ln {on:.4g} - {_n(classes - 1)} x {off:.4g} ln "
                       f"{off:.4g} = {h:.4g} nats")


@formula("training.gelu", "GELU(x) = x Phi(x), with Phi the standard normal CDF")
def gelu(x: float) -> Computed:
    import numpy as np

    from engine.functional import gelu as engine_gelu

    y = float(engine_gelu(np.array([float(x)]))[0])
    phi = 0.5 * (1 + math.erf(x / math.sqrt(2)))
    return Computed(y, f"{x:g} x Phi({x:g}) = {x:g} x {phi:.4f} = {y:.4f}")


@formula("training.layernorm_output",
         "LayerNorm (gain 1, shift 0) of the vector (a, b, c, d): the first entry")
def layernorm_output(a: float, b: float, c: float, d: float, eps: float = 0.0) -> Computed:
    import numpy as np

    from engine.functional import layer_norm

    x = np.array([a, b, c, d], dtype=np.float64)
    y = float(layer_norm(x, eps=eps)[0])
    mean, var = float(x.mean()), float(x.var())
    return Computed(y, f"mean = {mean:g}, variance = {var:g}; "
                       f"({a:g} - {mean:g}) / sqrt({var:g}) = {y:.4f}")


@formula("training.rmsnorm_output",
         "RMSNorm (gain 1) of the vector (a, b, c, d): the first entry")
def rmsnorm_output(a: float, b: float, c: float, d: float, eps: float = 0.0) -> Computed:
    import numpy as np

    from engine.functional import rms_norm

    x = np.array([a, b, c, d], dtype=np.float64)
    y = float(rms_norm(x, eps=eps)[0])
    ms = float(np.mean(x * x))
    return Computed(y, f"mean square = {ms:g}; {a:g} / sqrt({ms:g}) = {y:.4f}")
