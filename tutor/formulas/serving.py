"""Serving formulas: the roofline of decode and prefill, speculative decoding, paged and
compressed KV caches, and how many sequences fit.

Figures come from `engine.roofline`, `engine.speculative`, `engine.paged_kv`,
`engine.mla` and `engine.accounting`, imported inside each function so that
validating a bank stays NumPy-free. Chips are named "A100" or "H100" (the
datasheet figures of `engine.roofline`).
"""

from __future__ import annotations

import math

from tutor.formulas import Computed, formula
from tutor.formulas import fmt_number as _n


def _chip(name: str):
    from engine.roofline import ACCELERATORS

    try:
        return ACCELERATORS[str(name).lower()]
    except KeyError:
        raise ValueError(f"chip={name!r} is not one of {', '.join(ACCELERATORS)}") from None


def _preset(name: str):
    from engine.config import preset as get

    return get(name)


@formula("serving.critical_batch",
         "Decode batch at which weight reads stop limiting: ridge (peak / bandwidth) x "
         "bytes per weight / 2 FLOPs per weight per token")
def critical_batch(chip: str, weight_bytes: float = 2, flops_per_weight: float = 2) -> Computed:
    c = _chip(chip)
    batch = c.ridge * weight_bytes / flops_per_weight
    return Computed(batch, f"{c.name}: ridge = {c.peak_flops / 1e12:g} TFLOP/s / "
                           f"{c.bandwidth / 1e12:.4g} TB/s = {c.ridge:.4g} FLOPs per byte; a "
                           f"batch of b does {flops_per_weight:g} b FLOPs per weight read of "
                           f"{weight_bytes:g} B, so b = {c.ridge:.4g} x {weight_bytes:g} / "
                           f"{flops_per_weight:g} = {batch:.4g}")


@formula("serving.decode_tokens_per_s",
         "Roofline bound on decode throughput: batch / max(FLOPs / peak, (weights + batch x KV "
         "cache) bytes / bandwidth)")
def decode_tokens_per_s(preset: str, batch: int, context: int, chip: str,
                        kv: int = 1) -> Computed:
    from engine.roofline import StepCost, decode_cost, step_time

    c = _chip(chip)
    cost = decode_cost(_preset(preset), batch, context)
    if not kv:
        cost = StepCost(cost.flops, cost.weight_bytes, 0.0)
    t = step_time(cost, c)
    rate = batch / t
    bound = "memory" if cost.bytes / c.bandwidth >= cost.flops / c.peak_flops else "compute"
    return Computed(rate, f"{preset}, batch {batch}, {_n(context)} cached tokens on {c.name}: "
                          f"weights {cost.weight_bytes / 1e9:.4g} GB + KV "
                          f"{cost.kv_bytes / 1e9:.4g} GB read per step = "
                          f"{cost.bytes / c.bandwidth * 1e3:.4g} ms; {cost.flops:.4g} FLOPs = "
                          f"{cost.flops / c.peak_flops * 1e3:.4g} ms; {bound}-bound step "
                          f"{t * 1e3:.4g} ms -> {batch} / {t:.4g} s = {rate:.4g} tokens/s")


@formula("serving.prefill_ms",
         "Lower bound on prefill time (ms): max(FLOPs / (peak x utilisation), bytes / bandwidth)")
def prefill_ms(preset: str, prompt: int, chip: str, mfu: float = 0.5) -> Computed:
    from engine.roofline import prefill_cost

    c = _chip(chip)
    cost = prefill_cost(_preset(preset), 1, prompt)
    compute = cost.flops / (c.peak_flops * mfu)
    memory = cost.bytes / c.bandwidth
    ms = max(compute, memory) * 1e3
    return Computed(ms, f"{preset}, {_n(prompt)}-token prompt: {cost.flops:.4g} FLOPs / "
                        f"({c.peak_flops / 1e12:g} TFLOP/s x {mfu:g}) = {compute * 1e3:.4g} ms "
                        f"against {cost.bytes / 1e9:.4g} GB / {c.bandwidth / 1e12:.4g} TB/s = "
                        f"{memory * 1e3:.4g} ms; the larger is {ms:.4g} ms")


@formula("serving.spec_tokens_per_call",
         "Speculative decoding: tokens per target call (1 - a^(g+1)) / (1 - a) at acceptance a")
def spec_tokens_per_call(alpha: float, gamma: int) -> Computed:
    from engine.speculative import expected_tokens_per_call

    tokens = expected_tokens_per_call(alpha, gamma)
    return Computed(tokens, f"(1 - {alpha:g}^{gamma + 1}) / (1 - {alpha:g}) = "
                            f"{tokens:.4g} tokens per target call (at most {gamma + 1})")


@formula("serving.spec_speedup",
         "Speculative decoding speed-up: tokens per call / (gamma x draft cost ratio + 1)")
def spec_speedup(alpha: float, gamma: int, cost_ratio: float) -> Computed:
    from engine.speculative import expected_speedup, expected_tokens_per_call

    tokens = expected_tokens_per_call(alpha, gamma)
    gain = expected_speedup(alpha, gamma, cost_ratio)
    return Computed(gain, f"(1 - {alpha:g}^{gamma + 1}) / (1 - {alpha:g}) = {tokens:.4g} tokens "
                          f"per step; a step costs {gamma} x {cost_ratio:g} + 1 = "
                          f"{gamma * cost_ratio + 1:.4g} target calls; {tokens:.4g} / "
                          f"{gamma * cost_ratio + 1:.4g} = {gain:.4g}x")


@formula("serving.prefix_blocks",
         "KV blocks held by requests sharing a system prompt (copy-on-write of its last, "
         "partly filled block), or without sharing")
def prefix_blocks(requests: int, system_prompt: int, suffix: int, block: int,
                  shared: int = 1) -> Computed:
    from engine.paged_kv import prefix_sharing

    r = prefix_sharing(requests, system_prompt, [suffix] * requests, block)
    if not shared:
        each = math.ceil((system_prompt + suffix) / block)
        return Computed(r.blocks_private, f"each request alone: ceil(({system_prompt} + "
                                          f"{suffix}) / {block}) = {each} blocks x {requests} = "
                                          f"{r.blocks_private} blocks")
    full, tail = divmod(system_prompt, block)
    own = math.ceil((tail + suffix) / block)
    return Computed(r.blocks_shared, f"{full} full prompt blocks shared once; each request "
                                     f"copies the {tail}-token tail on write and adds its "
                                     f"{suffix} tokens: ceil(({tail} + {suffix}) / {block}) = "
                                     f"{own} blocks x {requests}; {full} + {own * requests} = "
                                     f"{r.blocks_shared} blocks (unshared: "
                                     f"{r.blocks_private})")


@formula("serving.max_sequences",
         "Sequences whose KV cache fits beside the weights of a published config on GPUs "
         "that split the weights (tensor parallel)")
def max_sequences(preset: str, gpus: int, gpu_gb: float, context: int, weight_bits: float = 16,
                  kv_bytes: float = 2, weights: int = 1) -> Computed:
    from engine.accounting import hf_kv_cache_bytes, hf_weight_memory
    from engine.hf_configs import hf_config

    cfg = hf_config(preset)
    w = hf_weight_memory(cfg, weight_bits).total_bytes if weights else 0
    per_seq = hf_kv_cache_bytes(cfg, 1, context, kv_bytes)
    free = gpus * gpu_gb * 1e9 - w
    n = max(0, math.floor(free / per_seq))
    return Computed(n, f"{gpus} x {gpu_gb:g} GB - weights {w / 1e9:.4g} GB = {free / 1e9:.4g} GB; "
                       f"one {_n(context)}-token cache = {per_seq / 1e9:.4g} GB; floor("
                       f"{free / 1e9:.4g} / {per_seq / 1e9:.4g}) = {n} sequences")


@formula("kv.bytes_per_token",
         "KV-cache bytes per token of one sequence, all layers: MHA, GQA, MQA or MLA "
         "(latent + shared rotary key)")
def kv_bytes_per_token(attention: str, layers: int, heads: int, d_k: int, d_v: int,
                       kv_heads: int = 8, kv_lora_rank: int = 512, d_rope: int = 64,
                       bytes_per: int = 2) -> Computed:
    from engine.mla import kv_bytes_per_token as per_token

    kind = str(attention).lower().split()[0]
    total = per_token(kind, layers, n_head=heads, d_k=d_k, d_v=d_v, n_kv_head=kv_heads,
                      kv_lora_rank=kv_lora_rank, d_rope=d_rope, bytes_per=bytes_per)
    cached = {"mha": f"{heads} heads x ({d_k} + {d_v})", "gqa": f"{kv_heads} heads x ({d_k} + "
              f"{d_v})", "mqa": f"1 head x ({d_k} + {d_v})",
              "mla": f"latent {kv_lora_rank} + rotary key {d_rope}"}[kind]
    return Computed(total, f"{kind.upper()}: {layers} layers x {cached} x {bytes_per} B = "
                           f"{_n(total)} B per token")
