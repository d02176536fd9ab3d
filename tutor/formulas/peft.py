"""Parameter-efficient fine-tuning formulas: LoRA's trainable parameters.

Counts come from `engine.lora` (r (d_in + d_out) per adapted matrix) over the
shapes of `engine.model.param_shapes`, so grouped-query K/V projections and
SwiGLU matrices get their real sizes. The engine is imported inside each
function so that validating a bank stays NumPy-free.
"""

from __future__ import annotations

from tutor.formulas import Computed, formula
from tutor.formulas import fmt_number as _n

# short names for the linear layers LoRA can adapt
_TARGETS = {"q": "attn.w_q", "k": "attn.w_k", "v": "attn.w_v", "o": "attn.w_o",
            "up": "ffn.w_up", "gate": "ffn.w_gate", "down": "ffn.w_down"}


@formula("peft.lora_params",
         "LoRA's trainable parameters for square d x d matrices: layers x matrices x 2 r d")
def lora_params(d_model: int, layers: int, rank: int, matrices: int) -> Computed:
    from engine.lora import lora_params as per_matrix

    one = per_matrix(d_model, d_model, rank)
    total = layers * matrices * one
    return Computed(total, f"per matrix r (d + d) = {rank} x ({_n(d_model)} + {_n(d_model)}) = "
                           f"{_n(one)}; x {matrices} matrices x {layers} layers = {_n(total)}")


def _count(preset: str, rank: int, targets: str):
    from engine.config import preset as get
    from engine.lora import LINEAR_TARGETS, count_adapters
    from engine.model import param_shapes

    if targets == "all":
        names = LINEAR_TARGETS
    else:
        unknown = [t for t in targets.split(",") if t.strip() not in _TARGETS]
        if unknown:
            raise ValueError(f"targets={targets!r}: {', '.join(unknown)} not in "
                             f"{', '.join(_TARGETS)} (or 'all')")
        names = tuple(_TARGETS[t.strip()] for t in targets.split(","))
    return count_adapters(param_shapes(get(preset)), rank, names)


@formula("peft.lora_preset_share",
         "Percent of a preset's parameters that LoRA of rank r trains on the chosen matrices "
         "(targets 'q,v', 'q,k,v,o' or 'all')")
def lora_preset_share(preset: str, rank: int, targets: str = "q,v") -> Computed:
    c = _count(preset, rank, targets)
    pct = 100 * c.share
    return Computed(pct, f"{preset}, rank {rank} on {targets}: sum of r (d_in + d_out) over the "
                         f"adapted matrices = {_n(c.trainable)}; / {_n(c.total)} parameters "
                         f"= {pct:.4g}%")
