"""Mixture-of-experts formulas: expert capacity, the balancing loss, resident weights.

Capacities come from `engine.moe`, parameter counts from `engine.accounting`;
the engine is imported inside each function so that validating a bank stays
NumPy-free.
"""

from __future__ import annotations

from tutor.formulas import Computed, formula
from tutor.formulas import fmt_number as _n


@formula("moe.expert_capacity",
         "Token slots per expert: ceil(capacity_factor x top_k x tokens / experts)")
def expert_capacity(tokens: int, experts: int, top_k: int, capacity_factor: float) -> Computed:
    from engine.moe import expert_capacity as capacity

    slots = capacity(tokens, experts, top_k, capacity_factor)
    return Computed(slots, f"ceil({capacity_factor:g} x {top_k} x {_n(tokens)} / {experts}) = "
                           f"{_n(slots)} slots per expert")


@formula("moe.switch_aux_loss",
         "Switch balancing loss N sum_i f_i P_i (before alpha), top-1, when a share s of "
         "tokens goes to one expert and the rest spread evenly, with P_i = f_i")
def switch_aux_loss(experts: int, share: float) -> Computed:
    if experts < 2 or not 1 / experts <= share <= 1:
        raise ValueError(f"experts={experts} must be >= 2 and share={share} in "
                         f"[1/experts, 1]")
    rest = (1 - share) / (experts - 1)
    fractions = [share] + [rest] * (experts - 1)
    loss = experts * sum(f * f for f in fractions)
    return Computed(loss, f"{experts} x ({share:g}^2 + {experts - 1} x {rest:.4g}^2) = "
                          f"{loss:.4g} (1 when balanced, {experts} when collapsed)")


@formula("moe.active_weight_bytes",
         "Bytes of only the weights one token uses (active parameters x bits / 8)")
def active_weight_bytes(preset: str, bits: float = 16) -> Computed:
    from engine.accounting import count_hf_params
    from engine.hf_configs import hf_config

    active = count_hf_params(hf_config(preset), preset).active
    total = active * bits / 8
    return Computed(total, f"{preset}: {_n(active)} active parameters x {bits:g} bits / 8 = "
                           f"{_n(total)} B")
