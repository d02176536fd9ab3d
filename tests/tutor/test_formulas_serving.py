"""Serving and KV-compression formulas against hand arithmetic and a second route each."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tutor.formulas import compute_answer

# llama-3-8b by hand: 32 layers, d = 4096, 8 K/V heads of 128, vocabulary 128,256, untied
LLAMA3_TOTAL = 8_030_261_248
LLAMA3_READ = LLAMA3_TOTAL - 128_256 * 4096     # the input embedding is looked up, not read
LLAMA3_KV_PER_TOKEN = 2 * 32 * 8 * 128 * 2      # bytes, bf16
LLAMA3_MATMUL = LLAMA3_READ - (2 * 32 + 1) * 4096   # RMSNorm gains are read but not multiplied


def value(name: str, **kwargs) -> float:
    return compute_answer(name, kwargs).value


def test_critical_batch_is_the_ridge_and_matches_the_engine_search():
    from engine.config import preset
    from engine.roofline import A100_SXM, critical_batch

    assert value("serving.critical_batch", chip="A100") == pytest.approx(312e12 / 2.039e12)
    assert value("serving.critical_batch", chip="h100", weight_bytes=0.5) == \
        pytest.approx(989e12 / 3.35e12 / 4)
    # the engine's binary search over real decode steps (tiny context, so weights dominate)
    searched = critical_batch(preset("llama-3-8b"), A100_SXM, context=1)
    assert abs(searched - value("serving.critical_batch", chip="A100")) <= 2


def test_decode_throughput_by_hand():
    batch, context = 64, 2048
    flops = batch * (2 * LLAMA3_MATMUL + 4 * 32 * (context + 1) * 4096)
    weight_bytes = 2 * LLAMA3_READ
    kv_bytes = batch * (context + 1) * LLAMA3_KV_PER_TOKEN
    step = max(flops / 312e12, (weight_bytes + kv_bytes) / 2.039e12)
    got = value("serving.decode_tokens_per_s", preset="llama-3-8b", batch=batch,
                context=context, chip="A100")
    assert got == pytest.approx(batch / step, rel=1e-9)
    weights_only = value("serving.decode_tokens_per_s", preset="llama-3-8b", batch=batch,
                         context=context, chip="A100", kv=0)
    assert weights_only == pytest.approx(batch * 2.039e12 / weight_bytes, rel=1e-9)


def test_prefill_is_compute_bound_by_hand():
    prompt = 4096
    flops = prompt * (2 * LLAMA3_MATMUL + 4 * 32 * prompt * 4096)
    got = value("serving.prefill_ms", preset="llama-3-8b", prompt=prompt, chip="H100")
    assert got == pytest.approx(flops / (989e12 * 0.5) * 1e3, rel=1e-9)


def test_speculative_tokens_per_call_by_simulation():
    # a step accepts draft tokens while each Bernoulli(alpha) succeeds, then emits one more
    # token (the correction, or the bonus when all gamma were accepted)
    rng = np.random.default_rng(0)
    for alpha, gamma in [(0.6, 3), (0.8, 4), (0.9, 8)]:
        ok = rng.random((200_000, gamma)) < alpha
        accepted = np.argmin(np.c_[ok, np.zeros(len(ok), bool)], axis=1)
        simulated = float(np.mean(accepted + 1))
        assert value("serving.spec_tokens_per_call", alpha=alpha, gamma=gamma) == \
            pytest.approx(simulated, rel=0.01)
    assert value("serving.spec_tokens_per_call", alpha=1.0, gamma=4) == 5


def test_speculative_speedup_by_hand():
    tokens = (1 - 0.8 ** 5) / 0.2
    assert value("serving.spec_speedup", alpha=0.8, gamma=4, cost_ratio=0.1) == \
        pytest.approx(tokens / 1.4)
    # a free draft gives the tokens per call; an expensive one can be slower than plain decoding
    assert value("serving.spec_speedup", alpha=0.8, gamma=4, cost_ratio=0) == pytest.approx(tokens)
    assert value("serving.spec_speedup", alpha=0.3, gamma=4, cost_ratio=0.5) < 1


def test_prefix_blocks_by_hand():
    for requests, prompt, suffix, block in [(8, 500, 40, 16), (4, 512, 10, 16), (3, 7, 30, 8)]:
        full, tail = divmod(prompt, block)
        shared = full + requests * math.ceil((tail + suffix) / block)
        private = requests * math.ceil((prompt + suffix) / block)
        assert value("serving.prefix_blocks", requests=requests, system_prompt=prompt,
                     suffix=suffix, block=block) == shared
        assert value("serving.prefix_blocks", requests=requests, system_prompt=prompt,
                     suffix=suffix, block=block, shared=0) == private


def test_max_sequences_by_hand():
    # llama-3.1-70b: 70,553,706,496 bf16 weights; 80 layers x 8 K/V heads x 128
    weights = 70_553_706_496 * 2
    per_seq = 2 * 80 * 8 * 128 * 2 * 8192
    assert value("serving.max_sequences", preset="llama-3.1-70b", gpus=4, gpu_gb=80,
                 context=8192) == (4 * 80e9 - weights) // per_seq
    assert value("serving.max_sequences", preset="llama-3.1-70b", gpus=4, gpu_gb=80,
                 context=8192, weights=0) == (4 * 80e9) // per_seq


def test_kv_bytes_per_token_by_hand_and_against_deepseek_v3_config():
    from engine.accounting import hf_kv_cache_bytes
    from engine.hf_configs import hf_config

    shape = dict(layers=61, heads=128, d_k=192, d_v=128)
    assert value("kv.bytes_per_token", attention="MHA", **shape) == 61 * 128 * 320 * 2
    assert value("kv.bytes_per_token", attention="GQA (8 KV heads)", **shape) == 61 * 8 * 320 * 2
    assert value("kv.bytes_per_token", attention="MQA", **shape) == 61 * 320 * 2
    mla = value("kv.bytes_per_token", attention="MLA", **shape)
    assert mla == 61 * (512 + 64) * 2 == 70_272
    assert mla == hf_kv_cache_bytes(hf_config("deepseek-v3"), 1, 1)
