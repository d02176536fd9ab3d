"""Parameter-count formulas."""

from __future__ import annotations

from tutor.formulas import Computed, formula
from tutor.formulas import fmt_number as _n


@formula("params.preset_total", "Exact parameter count of a real model preset")
def preset_total(preset: str) -> Computed:
    from engine.accounting import count_params
    from engine.config import preset as get

    count = count_params(get(preset))
    return Computed(count.total, f"count_params({preset}) = {_n(count.total)}")


@formula("params.block_12d2", "Weights in one block with a 4x FFN, no biases or norms: 12 d^2")
def block_12d2(d_model: int) -> Computed:
    attn, ffn = 4 * d_model**2, 2 * d_model * 4 * d_model
    return Computed(attn + ffn, f"4d^2 + 8d^2 = 4*{d_model}^2 + 8*{d_model}^2 = {_n(attn + ffn)}")
