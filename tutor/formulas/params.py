"""Parameter-count formulas.

Every count comes from `engine.accounting` (exact, matched against the
reference implementations) or `engine.config`; the engine is imported inside
each function so that validating a bank stays NumPy-free.
"""

from __future__ import annotations

from tutor.formulas import Computed, formula
from tutor.formulas import fmt_number as _n


def _preset(name: str):
    from engine.config import preset as get

    return get(name)


@formula("params.preset_total", "Exact parameter count of a real model preset")
def preset_total(preset: str) -> Computed:
    from engine.accounting import count_params

    count = count_params(_preset(preset))
    return Computed(count.total, f"count_params({preset}) = {_n(count.total)}")


@formula("params.block_12d2", "Weights in one block with a 4x FFN, no biases or norms: 12 d^2")
def block_12d2(d_model: int) -> Computed:
    attn, ffn = 4 * d_model**2, 2 * d_model * 4 * d_model
    return Computed(attn + ffn, f"4d^2 + 8d^2 = 4*{d_model}^2 + 8*{d_model}^2 = {_n(attn + ffn)}")


@formula("params.layer_exact",
         "One block with a 4x FFN, biases and two LayerNorms: 12 d^2 + 13 d")
def layer_exact(d_model: int, bias: bool = True, norm: str = "layernorm") -> Computed:
    from engine.accounting import layer_params

    total = layer_params(d_model, bias=bias, norm=norm)
    d = d_model
    return Computed(total, f"attention 4d^2 + 4d = {_n(4 * d * d + 4 * d)}; "
                           f"FFN 8d^2 + 5d = {_n(8 * d * d + 5 * d)}; "
                           f"two LayerNorms 4d = {_n(4 * d)}; "
                           f"total 12d^2 + 13d = {_n(total)}")


@formula("params.estimate_12d2", "The 12 L d^2 estimate of a model's block weights")
def estimate_12d2(d_model: int, n_layer: int) -> Computed:
    total = 12 * n_layer * d_model**2
    return Computed(total, f"12 x {n_layer} x {_n(d_model)}^2 = {_n(total)}")


@formula("params.embedding_table", "Token-embedding parameters: vocab x d_model")
def embedding_table(vocab: int, d_model: int) -> Computed:
    total = vocab * d_model
    return Computed(total, f"{_n(vocab)} x {_n(d_model)} = {_n(total)}")


@formula("params.head_params", "Weights of an untied output head of a preset: vocab x d_model")
def head_params(preset: str) -> Computed:
    c = _preset(preset)
    total = c.vocab_size * c.d_model
    tied = "tied, so it costs nothing extra" if c.tie_embeddings else "untied, counted separately"
    return Computed(total, f"{_n(c.vocab_size)} x {_n(c.d_model)} = {_n(total)} "
                           f"({preset}'s head is {tied})")


@formula("params.gqa_saving",
         "Attention weights saved by grouped-query attention over the whole stack")
def gqa_saving(d_model: int, n_head: int, n_kv_head: int, n_layer: int) -> Computed:
    from engine.accounting import attention_params

    mha = attention_params(d_model, n_head, None, bias=False)
    gqa = attention_params(d_model, n_head, n_kv_head, bias=False)
    saved = n_layer * (mha - gqa)
    d_head = d_model // n_head
    return Computed(saved, f"per layer K and V shrink from 2 x {_n(d_model)} x {_n(d_model)} to "
                           f"2 x {_n(d_model)} x ({n_kv_head} x {d_head}): "
                           f"{_n(mha)} - {_n(gqa)} = {_n(mha - gqa)}; "
                           f"x {n_layer} layers = {_n(saved)}")


@formula("params.swiglu_hidden", "LLaMA's SwiGLU hidden size: 8/3 d rounded up to 256")
def swiglu_hidden(d_model: int) -> Computed:
    from engine.config import swiglu_hidden as hidden

    h = hidden(d_model)
    return Computed(h, f"8/3 x {_n(d_model)} = {8 * d_model / 3:.1f}, "
                       f"rounded up to a multiple of 256 = {_n(h)}")


@formula("params.ffn", "Weights of one FFN (no biases); SwiGLU has three matrices")
def ffn(d_model: int, activation: str = "gelu", d_ff: int | None = None) -> Computed:
    from engine.accounting import ffn_params
    from engine.config import swiglu_hidden as hidden

    total = ffn_params(d_model, d_ff, activation, bias=False)
    gated = activation == "swiglu"
    f = d_ff if d_ff is not None else (hidden(d_model) if gated else 4 * d_model)
    n = 3 if gated else 2
    return Computed(total, f"{n} x {_n(d_model)} x {_n(f)} = {_n(total)} "
                           f"(8d^2 would be {_n(8 * d_model**2)})")


@formula("params.per_layer", "Exact parameters of one block of a preset")
def per_layer(preset: str) -> Computed:
    from engine.accounting import count_params

    c = _preset(preset)
    count = count_params(c)
    return Computed(count.per_layer, f"count_params({preset}).per_layer = {_n(count.per_layer)} "
                                     f"(12 d^2 = {_n(12 * c.d_model**2)})")


@formula("params.rule_ratio", "The 12 L d^2 rule as a fraction of a preset's exact total")
def rule_ratio(preset: str) -> Computed:
    from engine.accounting import count_params

    count = count_params(_preset(preset))
    ratio = count.rule_12d2 / count.total
    return Computed(ratio, f"{_n(count.rule_12d2)} / {_n(count.total)} = {ratio:.3f}")


@formula("params.non_embedding", "Kaplan's N: a preset's parameters without embeddings or head")
def non_embedding(preset: str) -> Computed:
    from engine.accounting import count_params

    count = count_params(_preset(preset))
    return Computed(count.non_embedding, f"{_n(count.total)} - {_n(count.embedding)} "
                                         f"(embeddings and head) = {_n(count.non_embedding)}")


@formula("params.norm_total", "Parameters held by all normalisation layers of a preset")
def norm_total(preset: str) -> Computed:
    from engine.accounting import count_params, norm_params

    c = _preset(preset)
    count = count_params(c)
    total = count.items["layer_norms"] + count.items["final_norm"] + count.items["embedding_norm"]
    one = norm_params(c.d_model, c.norm, c.bias)
    return Computed(total, f"{_n(total // one)} {c.norm} layers x {_n(one)} = {_n(total)} "
                           f"({100 * total / count.total:.3f}% of {_n(count.total)})")


@formula("params.decoder_layer",
         "One encoder-decoder decoder block (self-attn, cross-attn, 4x FFN, 3 RMSNorms)")
def decoder_layer(d_model: int) -> Computed:
    from engine.accounting import layer_params

    total = layer_params(d_model, bias=False, norm="rmsnorm", cross_attention=True)
    d = d_model
    return Computed(total, f"2 x 4d^2 (self + cross) + 8d^2 (FFN) + 3d (norms) = "
                           f"16 x {_n(d)}^2 + 3 x {_n(d)} = {_n(total)}")


def _hf(preset: str) -> dict:
    from engine.hf_configs import hf_config

    return hf_config(preset)


@formula("params.hf_total",
         "Exact parameter count of a published Hugging Face config (MoE: every expert)")
def hf_total(preset: str) -> Computed:
    from engine.accounting import count_hf_params

    c = count_hf_params(_hf(preset), preset)
    parts = " + ".join(f"{k.replace('_', ' ')} {_n(v)}" for k, v in c.items.items() if v)
    return Computed(c.total, f"{preset}: {parts} = {_n(c.total)}")


@formula("params.hf_active",
         "Parameters one token uses in a published config: top-k routed experts, shared "
         "experts and everything dense")
def hf_active(preset: str) -> Computed:
    from engine.accounting import count_hf_params

    c = count_hf_params(_hf(preset), preset)
    skipped = c.items["routed_experts"] - c.active_items["routed_experts"]
    return Computed(c.active, f"{preset}: total {_n(c.total)} - routed experts a token skips "
                              f"{_n(skipped)} = {_n(c.active)} ({c.active_share:.1%})")
