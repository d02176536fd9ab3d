"""Long-context formulas: RoPE scaling (NTK-aware base, YaRN's temperature, Llama 3.1's
frequency bands), the rotation pairs a training length never turns, and what long context
costs in FLOPs.

RoPE frequencies come from `engine.positional.rope_inv_freq`, FLOPs from
`engine.accounting.hf_forward_flops_per_token`, imported inside each function so that
validating a bank stays NumPy-free.
"""

from __future__ import annotations

from tutor.formulas import Computed, formula
from tutor.formulas import fmt_number as _n


@formula("longctx.ntk_theta",
         "NTK-aware RoPE base for a context factor s: theta x s^(d / (d - 2))")
def ntk_theta(theta: float, factor: float, d_head: int) -> Computed:
    exponent = d_head / (d_head - 2)
    base = theta * factor ** exponent
    return Computed(base, f"{_n(theta)} x {factor:g}^({d_head}/{d_head - 2}) = {_n(theta)} x "
                          f"{factor ** exponent:.6g} = {base:.6g}")


@formula("longctx.yarn_logit_scale",
         "YaRN: factor on the attention logits, (0.1 ln s + 1)^2 (cos and sin are each scaled "
         "by 0.1 ln s + 1)")
def yarn_logit_scale(factor: float, squared: int = 1) -> Computed:
    from engine.positional import rope_inv_freq

    _, m = rope_inv_freq(8, 10000.0, {"rope_type": "yarn", "factor": factor,
                                      "original_max_position_embeddings": 4096})
    value = m * m if squared else m
    return Computed(value, f"0.1 x ln({factor:g}) + 1 = {m:.6g} on cos and sin, so q . k is "
                           f"scaled by {m:.6g}^2 = {m * m:.6g}")


def _llama3_bands(d_head: int, theta: float, original: int, factor: float,
                  low_freq_factor: float, high_freq_factor: float) -> dict[str, int]:
    import numpy as np

    from engine.positional import rope_inv_freq

    base, _ = rope_inv_freq(d_head, theta)
    scaled, _ = rope_inv_freq(d_head, theta, {
        "rope_type": "llama3", "factor": factor, "low_freq_factor": low_freq_factor,
        "high_freq_factor": high_freq_factor, "original_max_position_embeddings": original})
    kept = np.isclose(scaled, base, rtol=1e-12, atol=0)
    divided = np.isclose(scaled, base / factor, rtol=1e-12, atol=0)
    return {"kept": int(kept.sum()), "divided": int(divided.sum()),
            "blended": int((~kept & ~divided).sum())}


@formula("longctx.llama3_pairs",
         "Llama 3.1 RoPE scaling: rotation pairs kept, divided by the factor, or blended "
         "(which = kept | divided | blended)")
def llama3_pairs(d_head: int, theta: float, original: int, factor: float = 8.0,
                 low_freq_factor: float = 1.0, high_freq_factor: float = 4.0,
                 which: str = "kept") -> Computed:
    bands = _llama3_bands(d_head, theta, original, factor, low_freq_factor, high_freq_factor)
    if which not in bands:
        raise ValueError(f"which={which!r} is not one of {', '.join(bands)}")
    short, long = original / high_freq_factor, original / low_freq_factor
    return Computed(bands[which], f"wavelength 2 pi {_n(theta)}^(2i/{d_head}) below "
                                  f"{_n(original)}/{high_freq_factor:g} = {short:g} tokens: "
                                  f"{bands['kept']} pairs kept; above {long:g}: "
                                  f"{bands['divided']} divided by {factor:g}; "
                                  f"{bands['blended']} blended in between")


@formula("longctx.unturned_pairs",
         "RoPE pairs that never complete a full turn within the trained length: "
         "2 pi theta^(2i/d) > L")
def unturned_pairs(trained_len: int, d_head: int, theta: float = 10000.0) -> Computed:
    import numpy as np

    from engine.positional import rope_inv_freq

    inv_freq, _ = rope_inv_freq(d_head, theta)
    wavelength = 2 * np.pi / inv_freq                                    # (d/2,)
    slow = np.flatnonzero(wavelength > trained_len)
    count = len(slow)
    first = f"pairs {slow[0]}..{d_head // 2 - 1}" if count else "no pair"
    return Computed(count, f"2 pi x {_n(theta)}^(2i/{d_head}) > {_n(trained_len)} for {first}: "
                           f"{count} of {d_head // 2} pairs never see a full turn")


@formula("longctx.attention_share",
         "Share of a token's forward matmul FLOPs spent on Q K^T and weights x V at a context "
         "(published config, dense count over every key)")
def attention_share(preset: str, context: int, kv_heads_only: int = 0) -> Computed:
    from engine.accounting import hf_forward_flops_per_token
    from engine.hf_configs import hf_config

    cfg = hf_config(preset)
    f = hf_forward_flops_per_token(cfg, context)
    scores = f.context
    if kv_heads_only:
        scores = scores * cfg["num_key_value_heads"] // cfg["num_attention_heads"]
    total = f.total - f.context + scores
    share = scores / total
    return Computed(share, f"{preset} at {_n(context)} keys: scores and values "
                           f"{scores:.4g} FLOPs of {total:.4g} per token = {share:.4g}")


@formula("longctx.prefill_flops",
         "Matmul FLOPs to prefill one prompt of a published config: n x (2 x block weights) plus "
         "attention over n(n+1)/2 causal query-key pairs (n^2 unskipped), one output head")
def prefill_flops(preset: str, context: int, causal: int = 1, attention: int = 1) -> Computed:
    from engine.accounting import hf_forward_flops_per_token
    from engine.hf_configs import hf_config

    cfg = hf_config(preset)
    if any(cfg.get(k) for k in ("sliding_window", "use_sliding_window")):
        raise ValueError(f"{preset} has sliding-window layers; pick a full-attention model")
    f = hf_forward_flops_per_token(cfg, context, head=False)
    fixed = f.total - f.context
    head = 2 * cfg["hidden_size"] * cfg["vocab_size"]
    per_key = f.context / context
    pairs = context * (context + 1) // 2 if causal else context * context
    scores = per_key * pairs if attention else 0
    total = context * fixed + scores + head
    how = (f"{per_key:.4g} FLOPs per query-key pair x {_n(pairs)} pairs = {scores:.4g}"
           if attention else "attention left out")
    return Computed(total, f"{_n(context)} tokens x {fixed:.4g} block-weight FLOPs = "
                           f"{context * fixed:.4g}; {how}; one output head {head:.4g}; total "
                           f"{total:.4g} FLOPs")
