"""Roofline arithmetic against hand-counted FLOPs and bytes, and the critical batch against a
brute-force scan."""

from __future__ import annotations

import pytest

from engine.config import PRESETS, ModelConfig
from engine.roofline import (
    A100_SXM,
    H100_SXM,
    attainable_flops,
    critical_batch,
    decode_cost,
    decode_intensity_limit,
    is_memory_bound,
    prefill_cost,
    step_time,
    weights_read,
)

# d = 64, 2 layers, 4 heads of 16, 4d FFN, no biases, untied head, RMSNorm
TINY = ModelConfig(vocab_size=100, n_ctx=512, d_model=64, n_layer=2, n_head=4,
                   activation="relu", norm="rmsnorm", bias=False, tie_embeddings=False,
                   positional="rope")


def test_ridge_points_from_the_datasheets():
    assert A100_SXM.ridge == pytest.approx(312e12 / 2.039e12) == pytest.approx(153.0, abs=0.1)
    assert H100_SXM.ridge == pytest.approx(989e12 / 3.35e12) == pytest.approx(295.2, abs=0.1)


def test_decode_cost_counted_by_hand():
    d, layers, vocab, ctx, batch = 64, 2, 100, 31, 3
    # per token: QKV + output (4 d^2), FFN (8 d^2), scores and values (2 x ctx x d), head
    per_token = layers * 2 * (4 * d * d + 8 * d * d + 2 * (ctx + 1) * d) + 2 * d * vocab
    cost = decode_cost(TINY, batch, ctx, bytes_per=2)
    assert cost.flops == batch * per_token
    # weights read: blocks (12 d^2 + 2 norms each), final norm, head; not the embedding table
    assert weights_read(TINY) == layers * (12 * d * d + 2 * d) + d + d * vocab
    assert cost.weight_bytes == 2 * weights_read(TINY)
    assert cost.kv_bytes == 2 * batch * (ctx + 1) * layers * d * 2       # K and V, 2 bytes
    assert cost.intensity == cost.flops / (cost.weight_bytes + cost.kv_bytes)


def test_decode_intensity_is_about_the_batch_for_16_bit_weights():
    # 2N FLOPs per token over 2N bytes of weights: intensity ~ batch while the KV cache is small
    config = PRESETS["llama-2-7b"]
    for batch in (1, 4, 16):
        assert decode_cost(config, batch, 1).intensity == pytest.approx(batch, rel=0.02)
    assert prefill_cost(config, 1, 512).intensity > A100_SXM.ridge     # prefill: compute-bound


def test_critical_batch_matches_a_scan():
    config = PRESETS["llama-3-8b"]
    found = {(chip.name, ctx): critical_batch(config, chip, ctx)
             for chip in (A100_SXM, H100_SXM) for ctx in (128, 512)}
    for chip in (A100_SXM, H100_SXM):
        for ctx in (128, 512):
            b = found[chip.name, ctx]
            if b is None:           # then the ceiling itself is below the ridge
                assert decode_intensity_limit(config, ctx) < chip.ridge
                continue
            scan = next(n for n in range(1, b + 1)
                        if decode_cost(config, n, ctx).intensity >= chip.ridge)
            assert scan == b
            assert is_memory_bound(decode_cost(config, b - 1, ctx), chip)
    assert found[A100_SXM.name, 128] is not None and found[H100_SXM.name, 512] is None


def test_no_batch_is_compute_bound_when_the_kv_cache_caps_intensity():
    config = PRESETS["llama-2-7b"]                           # MHA: a large cache per token
    limit = decode_intensity_limit(config, 4096)
    assert limit < A100_SXM.ridge
    assert critical_batch(config, A100_SXM, 4096) is None
    assert decode_cost(config, 1 << 16, 4096).intensity == pytest.approx(limit, rel=0.01)


def test_roof_and_time():
    cost = decode_cost(TINY, 1, 8)
    assert attainable_flops(1.0, A100_SXM) == A100_SXM.bandwidth
    assert attainable_flops(1e6, A100_SXM) == A100_SXM.peak_flops
    assert step_time(cost, A100_SXM) == max(cost.flops / 312e12, cost.bytes / 2.039e12)
