"""Optimizer formulas: Adam's bias correction, optimizer-state memory, clipping, muP."""

from __future__ import annotations

import math

from tutor.formulas import Computed, formula
from tutor.formulas import fmt_number as _n

# Bytes of optimizer state per parameter, states in fp32 unless the name says otherwise.
STATE_BYTES = {
    "sgd": (0, "no state"),
    "momentum": (4, "one fp32 momentum buffer"),
    "lion": (4, "one fp32 momentum buffer (updates use its sign)"),
    "adam": (8, "two fp32 moments, m and v"),
    "adamw": (8, "two fp32 moments, m and v (weight decay adds no state)"),
    "adam-8bit": (2, "two 8-bit moments (block scales ignored)"),
}


@formula("optimizers.bias_correction",
         "Factor Adam multiplies a zero-initialised moment by at step t: 1 / (1 - beta^t)")
def bias_correction(beta: float, step: int) -> Computed:
    if not 0 <= beta < 1 or step < 1:
        raise ValueError(f"need 0 <= beta < 1 and step >= 1, got beta={beta}, step={step}")
    weight = 1 - beta**step
    factor = 1 / weight
    return Computed(factor, f"1 / (1 - {beta:g}^{_n(step)}) = 1 / {weight:.4g} = {factor:.4g}")


@formula("optimizers.state_bytes",
         "Optimizer-state bytes alone (no weights, gradients or master copy) for a model of "
         "params_b billion parameters")
def state_bytes(params_b: float, optimizer: str) -> Computed:
    if optimizer not in STATE_BYTES:
        raise ValueError(f"optimizer={optimizer!r} is not one of {', '.join(STATE_BYTES)}")
    per, what = STATE_BYTES[optimizer]
    if optimizer in ("sgd", "momentum", "adam", "adamw"):
        from engine.accounting import training_memory

        per = training_memory(1, "fp32", optimizer).optimizer_states
    total = per * params_b * 1e9
    return Computed(total, f"{optimizer}: {what}, {per} B per parameter; {params_b:g}e9 x "
                           f"{per} B = {total / 1e9:.4g} GB")


def _norms(text: str) -> list[float]:
    try:
        values = [float(x) for x in str(text).replace(" ", "").split(",") if x]
    except ValueError:
        raise ValueError(f"norms={text!r} must be numbers separated by commas") from None
    if not values or min(values) < 0:
        raise ValueError(f"norms={text!r} must be non-negative numbers separated by commas")
    return values


@formula("optimizers.clip_scale",
         "Factor global-norm clipping multiplies every gradient by: "
         "min(1, max_norm / sqrt(sum of squared per-tensor norms)); combine='sum' adds the norms")
def clip_scale(norms: str, max_norm: float, combine: str = "l2") -> Computed:
    values = _norms(norms)
    if combine == "l2":
        total = math.sqrt(sum(x * x for x in values))
        how = f"sqrt({' + '.join(f'{x:g}^2' for x in values)})"
    elif combine == "sum":
        total = sum(values)
        how = " + ".join(f"{x:g}" for x in values)
    else:
        raise ValueError(f"combine={combine!r} must be 'l2' or 'sum'")
    scale = 1.0 if total <= max_norm else max_norm / total
    return Computed(scale, f"global norm = {how} = {total:.4g}; "
                           f"min(1, {max_norm:g} / {total:.4g}) = {scale:.4g}")


@formula("optimizers.mup_hidden_lr",
         "muP learning rate of a hidden weight matrix under Adam at a new width: "
         "base_lr x base_width / width")
def mup_hidden_lr(base_lr: float, base_width: int, width: int) -> Computed:
    if base_width < 1 or width < 1:
        raise ValueError(f"widths must be >= 1, got base_width={base_width}, width={width}")
    lr = base_lr * base_width / width
    return Computed(lr, f"{base_lr:g} x {_n(base_width)} / {_n(width)} = {lr:.4g} "
                        f"(width multiplier {width / base_width:g})")
