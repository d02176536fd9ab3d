"""The roofline: is a step of a model limited by arithmetic or by memory bandwidth?

A kernel that does F FLOPs and moves B bytes from HBM has arithmetic
intensity I = F / B. On a chip with peak P FLOP/s and bandwidth W bytes/s it
runs at most at min(P, I W) (Williams et al. 2009): below the ridge point
I* = P / W it is memory-bound, above it compute-bound.

For a transformer, FLOPs come from engine.accounting.forward_flops_per_token
and bytes from the weights (read once per step, whatever the batch) and the
KV cache (read per sequence). Decoding one token for b sequences does b times
the FLOPs of one token but reads the weights once, so its intensity grows
about linearly with b (about b FLOPs per byte for 16-bit weights) until the
KV cache, which grows with b too, caps it. Prefill of n tokens per sequence has
n times the FLOPs per weight byte, so it is compute-bound from small batches on.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.accounting import count_params, forward_flops_per_token, kv_cache_bytes
from engine.config import ModelConfig


@dataclass(frozen=True)
class Accelerator:
    """Peak dense throughput (FLOP/s) and HBM bandwidth (bytes/s) of one chip."""

    name: str
    peak_flops: float
    bandwidth: float
    source: str = ""

    @property
    def ridge(self) -> float:
        """FLOPs per byte where memory time equals compute time: peak / bandwidth."""
        return self.peak_flops / self.bandwidth


# NVIDIA datasheet figures: dense bf16 Tensor Core peak (no sparsity) and HBM bandwidth
A100_SXM = Accelerator("A100 SXM 80GB", 312e12, 2.039e12,
                       "NVIDIA A100 datasheet: 312 TFLOP/s bf16 dense, 2,039 GB/s HBM2e")
H100_SXM = Accelerator("H100 SXM", 989e12, 3.35e12,
                       "NVIDIA H100 datasheet: 989 TFLOP/s bf16 dense, 3.35 TB/s HBM3")
ACCELERATORS = {"a100": A100_SXM, "h100": H100_SXM}


@dataclass(frozen=True)
class StepCost:
    """FLOPs and HBM bytes of one forward step, split into where the bytes come from."""

    flops: float
    weight_bytes: float
    kv_bytes: float

    @property
    def bytes(self) -> float:
        return self.weight_bytes + self.kv_bytes

    @property
    def intensity(self) -> float:
        return self.flops / self.bytes


def weights_read(config: ModelConfig) -> int:
    """Parameters read from HBM per step: all of them, except that an untied input
    embedding is only looked up (a few rows), not streamed; a tied one is read as the head."""
    count = count_params(config)
    if config.tie_embeddings or config.arch == "encoder":
        return count.total
    return count.total - count.items["token_embedding"]


def decode_cost(config: ModelConfig, batch: int, context: int, bytes_per: float = 2) -> StepCost:
    """One new token for each of `batch` sequences that already hold `context` tokens.

    FLOPs: batch x forward FLOPs of one token attending over context + 1 keys.
    Bytes: every weight once (see weights_read), plus each sequence's whole KV cache (context + 1
    tokens, the new token's K and V included). Activations are left out (tiny).
    """
    flops = batch * forward_flops_per_token(config, context + 1).total
    weights = weights_read(config) * bytes_per
    kv = kv_cache_bytes(config, batch, context + 1, 1) * bytes_per
    return StepCost(flops=float(flops), weight_bytes=float(weights), kv_bytes=float(kv))


def prefill_cost(config: ModelConfig, batch: int, prompt: int, bytes_per: float = 2) -> StepCost:
    """The prompt of `prompt` tokens for `batch` sequences in one forward pass.

    FLOPs: every token scored against all `prompt` keys (dense, as
    forward_flops_per_token counts); bytes: the weights once plus writing the KV cache.
    """
    flops = batch * prompt * forward_flops_per_token(config, prompt).total
    weights = weights_read(config) * bytes_per
    kv = kv_cache_bytes(config, batch, prompt, 1) * bytes_per
    return StepCost(flops=float(flops), weight_bytes=float(weights), kv_bytes=float(kv))


def attainable_flops(intensity: float, chip: Accelerator) -> float:
    """The roof: min(peak, intensity x bandwidth) FLOP/s."""
    return min(chip.peak_flops, intensity * chip.bandwidth)


def step_time(cost: StepCost, chip: Accelerator) -> float:
    """Lower bound on the step's seconds: max(FLOPs / peak, bytes / bandwidth)."""
    return max(cost.flops / chip.peak_flops, cost.bytes / chip.bandwidth)


def is_memory_bound(cost: StepCost, chip: Accelerator) -> bool:
    return cost.intensity < chip.ridge


def critical_batch(config: ModelConfig, chip: Accelerator, context: int,
                   bytes_per: float = 2, max_batch: int = 1 << 20) -> int | None:
    """The smallest batch whose decode step is compute-bound (intensity >= ridge), or None.

    Intensity rises with batch towards a ceiling set by the KV cache (FLOPs per
    KV byte), so at long contexts no batch may reach the ridge. Binary search:
    intensity is increasing in batch.
    """
    def ok(b: int) -> bool:
        return decode_cost(config, b, context, bytes_per).intensity >= chip.ridge

    if not ok(max_batch):
        return None
    lo, hi = 1, max_batch
    while lo < hi:
        mid = (lo + hi) // 2
        if ok(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo


def decode_intensity_limit(config: ModelConfig, context: int, bytes_per: float = 2) -> float:
    """The ceiling of decode intensity as batch -> infinity: FLOPs per token / KV bytes per
    sequence (the weights' share vanishes)."""
    per_seq = decode_cost(config, 1, context, bytes_per)
    return per_seq.flops / per_seq.kv_bytes
