"""Distributed-training formulas against simulations (ring all-reduce, tensor-parallel
layer, GPipe schedule), the ZeRO formula and the engine's number formats."""

from __future__ import annotations

import numpy as np
import pytest

from tutor.formulas import compute_answer


def value(name: str, **kwargs) -> float:
    return compute_answer(name, kwargs).value


def ring_allreduce(buffers: list[np.ndarray]) -> tuple[list[np.ndarray], list[int]]:
    """Reduce-scatter then all-gather around a ring; returns the results and the elements
    each rank sent."""
    n = len(buffers)
    chunks = [np.array_split(b.astype(np.float64), n) for b in buffers]
    sent = [0] * n
    for step in range(n - 1):                      # reduce-scatter
        moves = [(r, (r - step) % n) for r in range(n)]
        payload = [chunks[r][c].copy() for r, c in moves]
        for (r, c), data in zip(moves, payload, strict=True):
            chunks[(r + 1) % n][c] += data
            sent[r] += data.size
    for step in range(n - 1):                      # all-gather: rank r owns chunk r + 1
        moves = [(r, (r + 1 - step) % n) for r in range(n)]
        payload = [chunks[r][c].copy() for r, c in moves]
        for (r, c), data in zip(moves, payload, strict=True):
            chunks[(r + 1) % n][c] = data
            sent[r] += data.size
    return [np.concatenate(c) for c in chunks], sent


def test_ring_allreduce_traffic_matches_a_simulated_ring():
    rng = np.random.default_rng(0)
    for n in (2, 4, 8):
        size = 1200
        buffers = [rng.normal(size=size) for _ in range(n)]
        results, sent = ring_allreduce(buffers)
        for r in results:
            np.testing.assert_allclose(r, sum(buffers))
        # elements per rank, in "billions of parameters" of 1 byte each
        assert value("dist.ring_allreduce_bytes", params_b=size / 1e9, gpus=n,
                     bytes_per=1) == pytest.approx(sent[0])
        assert len(set(sent)) == 1


def test_zero3_min_gpus_is_the_first_count_that_fits():
    for params_b, gpu_gb in [(70, 80), (175, 80), (405, 141), (7, 24)]:
        fits = next(g for g in range(1, 10_000) if value(
            "memory.zero_per_gpu", params_b=params_b, gpus=g, stage=3) <= gpu_gb * 1e9)
        assert value("dist.zero3_min_gpus", params_b=params_b, gpu_gb=gpu_gb) == fits


def test_tensor_parallel_layer_needs_two_sums_of_b_s_h_per_layer():
    # a 2-way Megatron split of one attention block and one MLP: column-parallel first
    # matmuls, row-parallel second ones; the only communication is summing partial outputs
    rng = np.random.default_rng(1)
    tokens, d, heads, tp = 6, 8, 4, 2
    x = rng.normal(size=(tokens, d))
    wq, wk, wv, wo = (rng.normal(size=(d, d)) for _ in range(4))
    w1, w2 = rng.normal(size=(d, 4 * d)), rng.normal(size=(4 * d, d))

    def attention(x, wq, wk, wv, wo, h):
        q, k, v = (np.stack(np.split(x @ w, h, axis=1)) for w in (wq, wk, wv))
        s = q @ k.transpose(0, 2, 1) / np.sqrt(q.shape[-1])
        p = np.exp(s - s.max(-1, keepdims=True))
        p /= p.sum(-1, keepdims=True)
        return np.concatenate(list(p @ v), axis=1) @ wo

    def mlp(x, w1, w2):
        return np.maximum(x @ w1, 0) @ w2

    summed = 0
    cols = lambda w: np.split(w, tp, axis=1)   # noqa: E731
    rows = lambda w: np.split(w, tp, axis=0)   # noqa: E731
    parts = [attention(x, a, b, c, o, heads // tp)
             for a, b, c, o in zip(cols(wq), cols(wk), cols(wv), rows(wo), strict=True)]
    h = sum(parts)
    summed += parts[0].size
    np.testing.assert_allclose(h, attention(x, wq, wk, wv, wo, heads))
    parts = [mlp(h, a, b) for a, b in zip(cols(w1), rows(w2), strict=True)]
    summed += parts[0].size
    np.testing.assert_allclose(sum(parts), mlp(h, w1, w2))
    assert value("dist.tp_allreduce_bytes", batch=1, seq=tokens, d_model=d, layers=1,
                 bytes_per=1) == summed


def gpipe_makespan(p: int, m: int) -> int:
    """Unit-time GPipe: all forwards, then all backwards, each waiting on its neighbour."""
    fwd = np.zeros((p, m), int)
    for s in range(p):
        for j in range(m):
            fwd[s, j] = max(fwd[s - 1, j] if s else 0, fwd[s, j - 1] if j else 0) + 1
    bwd = np.zeros((p, m), int)
    for s in reversed(range(p)):
        for j in range(m):
            ready = fwd[p - 1, m - 1] if s == p - 1 else bwd[s + 1, j]
            bwd[s, j] = max(ready, bwd[s, j - 1] if j else 0) + 1
    return int(bwd[0, m - 1])


def test_pipeline_bubble_matches_a_simulated_gpipe_schedule():
    for p, m in [(2, 1), (4, 8), (8, 32), (16, 64)]:
        makespan = gpipe_makespan(p, m)
        idle = 1 - 2 * m / makespan
        assert value("dist.pipeline_bubble", stages=p, microbatches=m) == pytest.approx(idle)
    assert value("dist.pipeline_bubble", stages=8, microbatches=32, interleave=2) == \
        pytest.approx(7 / 71)


def test_grad_accum_and_dp_degree_by_hand():
    assert value("dist.grad_accum_steps", global_batch=2048, micro_batch=1, dp=128) == 16
    assert value("dist.dp_degree", gpus=16384, tp=8, pp=16) == 128
    assert value("dist.dp_degree", gpus=16384, tp=8, pp=16, cp=16) == 8
    with pytest.raises(ValueError, match="do not divide"):
        value("dist.dp_degree", gpus=1000, tp=8, pp=16)


def test_lost_update_against_the_engine_rounding():
    from engine.precision import FORMATS, cast

    for fmt in ("bf16", "fp16"):
        f = FORMATS[fmt]
        for w in (1.0, 0.75, 3.0, 0.046875, 96.0):   # even last mantissa bit in both formats
            half = value("dist.lost_update", weight=w, fmt=fmt)
            w16 = float(cast(np.array([w]), f)[0])
            assert w16 == w
            assert float(cast(np.array([w + half * 0.999]), f)[0]) == w
            assert float(cast(np.array([w + half]), f)[0]) == w       # a tie goes to even
            assert float(cast(np.array([w + half * 1.001]), f)[0]) > w
