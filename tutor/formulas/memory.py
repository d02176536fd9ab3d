"""Memory formulas: KV cache, weights, optimizer states, activations, bandwidth.

Every figure comes from `engine.accounting` (KV cache, training state,
activations, parameter counts) so the engine stays the single source of truth;
the engine is imported inside each function so that validating a bank stays
NumPy-free. Sizes are returned in bytes, so an answer may be typed in GB or GiB.
"""

from __future__ import annotations

import math

from tutor.formulas import Computed, formula
from tutor.formulas import fmt_number as _n

_GIB = 2**30


def _preset(name: str):
    from engine.config import preset as get

    return get(name)


def _gib(x: float) -> str:
    return f"{x / _GIB:.4g} GiB ({x / 1e9:.4g} GB)"


@formula("memory.kv_cache_bytes",
         "KV cache size: 2 x batch x seq x layers x kv_heads x d_head x bytes")
def kv_cache_bytes(seq: int, layers: int, kv_heads: int, d_head: int, batch: int = 1,
                   bytes_per: int = 2) -> Computed:
    from engine.accounting import kv_cache_bytes as kv

    total = kv((layers, kv_heads, d_head), batch, seq, bytes_per)
    return Computed(total, f"2 x {batch} x {_n(seq)} x {layers} x {kv_heads} x {d_head} x "
                           f"{bytes_per} B = {_n(total)} B = {_gib(total)}")


@formula("memory.kv_cache_preset",
         "KV cache of a real model: 2 (K and V) x batch x context x layers x kv_heads x d_head x "
         "bytes; `mha=True` gives one K/V head per query head")
def kv_cache_preset(preset: str, context: int, batch: int = 1, bytes_per: int = 2,
                    mha: bool = False) -> Computed:
    from engine.accounting import kv_cache_bytes as kv

    c = _preset(preset)
    if mha:
        c = c.replace(n_kv_head=None)
    total = kv(c, batch, context, bytes_per)
    return Computed(total, f"{preset}{' (as MHA)' if mha else ''}: 2 x {batch} x {_n(context)} x "
                           f"{c.n_layer} layers x {c.kv_heads} kv_heads x {c.head_dim} x "
                           f"{bytes_per} B = {_n(total)} B = {_gib(total)}")


@formula("memory.kv_gqa_saving",
         "Bytes of KV cache saved by a preset's grouped-query attention against full MHA")
def kv_gqa_saving(preset: str, context: int, batch: int = 1, bytes_per: int = 2) -> Computed:
    from engine.accounting import kv_cache_bytes as kv

    c = _preset(preset)
    gqa = kv(c, batch, context, bytes_per)
    mha = kv(c.replace(n_kv_head=None), batch, context, bytes_per)
    saved = mha - gqa
    return Computed(saved, f"MHA: {c.n_head} K/V heads -> {_gib(mha)}; GQA: {c.kv_heads} K/V "
                           f"heads -> {_gib(gqa)}; saved {_n(saved)} B = {_gib(saved)} "
                           f"({c.n_head // c.kv_heads}x smaller)")


@formula("memory.max_batch",
         "Sequences whose KV cache fits next to the fp16 weights on one GPU")
def max_batch(preset: str, context: int, gpu_gb: float, bytes_per: int = 2,
              weight_bytes: float = 2) -> Computed:
    from engine.accounting import inference_memory, kv_cache_bytes

    c = _preset(preset)
    weights = inference_memory(c, batch=1, seq=0, weight_bytes=weight_bytes).weights
    per_seq = kv_cache_bytes(c, 1, context, bytes_per)
    free = gpu_gb * 1e9 - weights
    batch = max(0, math.floor(free / per_seq))
    return Computed(batch, f"free = {gpu_gb:g} GB - weights {weights / 1e9:.4g} GB = "
                           f"{free / 1e9:.4g} GB; one {_n(context)}-token cache = "
                           f"{per_seq / 1e9:.4g} GB; floor({free / 1e9:.4g} / "
                           f"{per_seq / 1e9:.4g}) = {batch} sequences")


@formula("memory.decode_tokens_per_s",
         "Upper bound on batch-1 decoding speed: bandwidth / bytes of weights read per token")
def decode_tokens_per_s(preset: str, bandwidth_gbs: float, weight_bytes: float = 2) -> Computed:
    from engine.accounting import count_params

    n = count_params(_preset(preset)).total
    weight_total = n * weight_bytes
    rate = bandwidth_gbs * 1e9 / weight_total
    return Computed(rate, f"{_n(n)} params x {weight_bytes:g} B = {weight_total / 1e9:.4g} GB "
                          f"read per token; {bandwidth_gbs:g} GB/s / {weight_total / 1e9:.4g} GB "
                          f"= {rate:.4g} tokens/s")


@formula("memory.training_state",
         "Bytes of weights, gradients and optimizer state for training (16 B/param for "
         "mixed-precision Adam)")
def training_state(params_b: float, precision: str = "mixed", optimizer: str = "adam") -> Computed:
    from engine.accounting import training_memory

    n = int(round(params_b * 1e9))
    m = training_memory(n, precision, optimizer)
    return Computed(m.total, f"{params_b:g}B params x ({m.weights // n} weights + "
                             f"{m.gradients // n} grads + {m.master_weights // n} master + "
                             f"{m.optimizer_states // n} Adam m and v) = {params_b:g}e9 x "
                             f"{m.bytes_per_param:g} B = {m.total / 1e9:.4g} GB")


@formula("memory.zero_per_gpu",
         "Model-state bytes per GPU under ZeRO stage 0-3 with mixed-precision Adam "
         "(Rajbhandari et al. 2020)")
def zero_per_gpu(params_b: float, gpus: int, stage: int) -> Computed:
    from engine.accounting import training_memory

    n = int(round(params_b * 1e9))
    m = training_memory(n, "mixed", "adam")
    w, g, opt = m.weights, m.gradients, m.master_weights + m.optimizer_states
    if stage not in (0, 1, 2, 3):
        raise ValueError(f"stage={stage} must be 0, 1, 2 or 3")
    sharded = {0: 0, 1: opt, 2: opt + g, 3: opt + g + w}[stage]
    total = (w + g + opt - sharded) + sharded / gpus
    names = {0: "nothing sharded", 1: "optimizer states sharded",
             2: "optimizer states and gradients sharded", 3: "everything sharded"}
    return Computed(total, f"stage {stage} ({names[stage]}): replicated "
                           f"{(w + g + opt - sharded) / 1e9:.4g} GB + sharded "
                           f"{sharded / 1e9:.4g} GB / {gpus} = {total / 1e9:.4g} GB per GPU")


@formula("memory.activation_bytes",
         "Activations kept for backprop (Korthikanti et al. 2022), with or without full "
         "checkpointing")
def activation_bytes(preset: str, batch: int, seq: int, checkpointing: bool = False) -> Computed:
    from engine.accounting import activation_memory

    c = _preset(preset)
    a = activation_memory(c, batch, seq, bytes_per=2, checkpointing=checkpointing)
    if checkpointing:
        how = (f"checkpointing keeps each layer's input: 2 B x {_n(seq)} x {batch} x "
               f"{c.d_model} x {a.n_layer} layers")
    else:
        how = (f"Korthikanti et al.'s count, {_n(a.per_layer)} B per layer x {a.n_layer} layers "
               f"(of which {_gib(a.quadratic)} is the s^2 softmax and dropout part)")
    return Computed(a.total, f"{preset}, batch {batch}, seq {_n(seq)}: {how} = "
                             f"{_n(a.total)} B = {_gib(a.total)}")


@formula("memory.hf_kv_cache",
         "KV cache of a published config: GQA heads, MLA's latent (kv_lora_rank + "
         "qk_rope_head_dim per layer) and sliding-window layers capped at the window")
def hf_kv_cache(preset: str, context: int, batch: int = 1, bytes_per: float = 2,
                latent: bool = True) -> Computed:
    from engine.accounting import hf_kv_cache_bytes
    from engine.hf_configs import hf_config

    total = hf_kv_cache_bytes(hf_config(preset), batch, context, bytes_per, latent=latent)
    per_token = hf_kv_cache_bytes(hf_config(preset), 1, 1, bytes_per, latent=latent)
    return Computed(total, f"{preset}: {_n(per_token)} B for one token across its layers; "
                           f"{batch} x {_n(context)} tokens (window layers keep at most their "
                           f"window) = {_n(total)} B = {_gib(total)}")


@formula("memory.quantized_bits_per_weight",
         "Bits per weight of a group-quantised matrix: bits + (scale + zero bits) / group size")
def quantized_bits(bits: float, group_size: int, scale_bits: float = 16,
                   zero_bits: float = 0) -> Computed:
    from engine.accounting import quantized_bits_per_weight

    total = quantized_bits_per_weight(bits, group_size, scale_bits, zero_bits)
    return Computed(total, f"{bits:g} + ({scale_bits:g} + {zero_bits:g}) / {group_size} = "
                           f"{total:.6g} bits")


@formula("memory.hf_weights",
         "Weight bytes of a published config with group-quantised matrices (norms, biases, "
         "embeddings and head kept in 16 bits)")
def hf_weights(preset: str, bits: float = 16, group_size: int | None = None,
               scale_bits: float = 16) -> Computed:
    from engine.accounting import hf_weight_memory
    from engine.hf_configs import hf_config

    m = hf_weight_memory(hf_config(preset), bits, group_size, scale_bits)
    return Computed(m.total_bytes, f"{preset}: {_n(m.quantized)} matrix weights x "
                                   f"{m.bits_per_weight:.6g} bits + {_n(m.kept)} others x "
                                   f"{m.kept_bits:g} bits = {_n(m.total_bytes)} B = "
                                   f"{_gib(m.total_bytes)}")
