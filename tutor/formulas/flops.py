"""Compute formulas: FLOPs per token, 6ND, Chinchilla, training time, efficient attention.

Counts come from `engine.accounting` and `engine.efficient`, imported inside
each function so that validating a bank stays NumPy-free.
"""

from __future__ import annotations

from tutor.formulas import Computed, formula
from tutor.formulas import fmt_number as _n


def _preset(name: str):
    from engine.config import preset as get

    return get(name)


@formula("flops.training_6nd", "Training compute C = 6 N D for a preset trained on D tokens")
def training_6nd(preset: str, tokens_b: float) -> Computed:
    from engine.accounting import count_params, training_flops

    n = count_params(_preset(preset)).total
    c = training_flops(n, tokens_b * 1e9)
    return Computed(c, f"6 x {_n(n)} params x {tokens_b:g}e9 tokens = {c:.4g} FLOPs")


@formula("flops.chinchilla_tokens", "Compute-optimal training tokens for N parameters: D = 20 N")
def chinchilla_tokens(params_b: float) -> Computed:
    from engine.accounting import chinchilla_optimal

    opt = chinchilla_optimal(n_params=params_b * 1e9)
    return Computed(opt.n_tokens, f"20 tokens/param x {params_b:g}e9 = {opt.n_tokens:.4g} tokens "
                                  f"(compute 6 N D = {opt.compute_flops:.3g} FLOPs)")


@formula("flops.chinchilla_params",
         "Compute-optimal parameters for a FLOP budget: C = 6 N (20 N), so N = sqrt(C / 120)")
def chinchilla_params(compute: float) -> Computed:
    from engine.accounting import chinchilla_optimal

    opt = chinchilla_optimal(compute_flops=compute)
    return Computed(opt.n_params, f"N = sqrt({compute:.3g} / 120) = {opt.n_params:.4g} params, "
                                  f"trained on D = 20 N = {opt.n_tokens:.4g} tokens")


@formula("flops.training_days",
         "Wall-clock days to train: 6 N D / (GPUs x peak FLOP/s x utilisation)")
def training_days(preset: str, tokens_b: float, gpus: int, peak_tflops: float,
                  mfu: float = 0.4) -> Computed:
    from engine.accounting import count_params, training_flops

    n = count_params(_preset(preset)).total
    c = training_flops(n, tokens_b * 1e9)
    rate = gpus * peak_tflops * 1e12 * mfu
    days = c / rate / 86400
    return Computed(days, f"6 x {_n(n)} x {tokens_b:g}e9 = {c:.4g} FLOPs; {gpus} GPUs x "
                          f"{peak_tflops:g} TFLOP/s x {mfu:g} = {rate:.4g} FLOP/s; "
                          f"{c:.4g} / {rate:.4g} s = {days:.4g} days")


@formula("flops.forward_per_token",
         "Exact forward matmul FLOPs per token of a preset at a context length (about 2N)")
def forward_per_token(preset: str, context: int) -> Computed:
    from engine.accounting import count_params, forward_flops_per_token

    c = _preset(preset)
    f = forward_flops_per_token(c, n_ctx=context)
    two_n = 2 * count_params(c).total
    return Computed(f.total, f"{preset} at {_n(context)} tokens of context: weights "
                             f"{f.total - f.attention_context:.4g} + Q K^T and weights x V "
                             f"{f.attention_context:.4g} = {f.total:.4g} FLOPs "
                             f"(2N = {two_n:.4g})")


@formula("flops.window_pairs",
         "Scored query-key pairs of sliding-window attention, w keys each side: about n (2w + 1)")
def window_pairs(n: int, window: int) -> Computed:
    total = n * (2 * window + 1)
    exact = total - window * (window + 1)      # tokens near either end have fewer neighbours
    return Computed(total, f"{_n(n)} x (2 x {window} + 1) = {_n(total)} pairs "
                           f"({_n(exact)} counting the shorter windows at the ends); full "
                           f"attention scores {_n(n * n)}, {n * n / total:.3g}x more")


@formula("flops.linformer_saving",
         "Factor by which Linformer (rank k) cuts one head's attention FLOPs: 4n^2 d / 8nkd = n/2k")
def linformer_saving(n: int, k: int, d: int = 128) -> Computed:
    from engine.efficient import attention_cost

    full = attention_cost("full", n, d).flops
    lin = attention_cost("linformer", n, d, k_rank=k).flops
    ratio = full / lin
    return Computed(ratio, f"full: 4 n^2 d = {full:.4g}; Linformer: project K and V "
                           f"(4 n k d) + scores and weighted sum over k rows (4 n k d) = "
                           f"{lin:.4g}; ratio = n / 2k = {_n(n)} / {2 * k} = {ratio:.4g}")


@formula("flops.hf_forward_per_token",
         "Forward matmul FLOPs per token of a published config at a context length "
         "(MoE: only the experts a token visits)")
def hf_forward_per_token(preset: str, context: int) -> Computed:
    from engine.accounting import hf_forward_flops_per_token
    from engine.hf_configs import hf_config

    f = hf_forward_flops_per_token(hf_config(preset), context)
    return Computed(f.total, f"{preset} at {_n(context)} tokens: projections {f.attention:.4g} "
                             f"+ context {f.context:.4g} + FFN and experts "
                             f"{f.ffn + f.experts + f.shared_experts + f.router:.4g} + head "
                             f"{f.lm_head:.4g} = {f.total:.4g} FLOPs (every expert: "
                             f"{f.all_experts:.4g})")
