"""Every drill: its model answer passes, and classic wrong implementations fail, with the
failing case shown (the check run in this process through the same runner code)."""

from __future__ import annotations

import importlib.util
import math

import numpy as np
import pytest

from engine.attention import scaled_dot_product_attention
from tutor.drills.grading import check_function
from tutor.drills.registry import get_drill, list_drills
from tutor.drills.specs import get_spec

NAMES = [d.name for d in list_drills()]


def solution(name: str):
    drill = get_drill(name)
    spec = importlib.util.spec_from_file_location(f"sol_{drill.function}", drill.solution_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, drill.function)


def test_there_are_at_least_25_drills_and_the_twelve_named_ones():
    assert len(NAMES) >= 25
    for name in ("softmax", "layer-norm", "rms-norm", "attention", "causal-mask",
                 "multi-head-attention", "rope", "swiglu", "gelu", "cross-entropy", "top-p",
                 "param-count"):
        assert name in NAMES


@pytest.mark.parametrize("name", NAMES)
def test_the_model_answer_passes(name):
    result = check_function(name, solution(name))
    assert result.passed, [(c.name, c.message) for c in result.checks if not c.passed]
    assert result.counts["passed"] == result.counts["cases"] >= 5


# --------------------------------------------------------------------------- classic bugs
# Each drill's spec lists mistakes it recognises; they must all fail, and be named in the
# report. EXTRA holds more classic bugs written here, including ones only the cost checks see.

def _softmax_float64(x, axis=-1):
    x = np.asarray(x, dtype=np.float64)
    return solution("softmax")(x, axis)


def _mha_no_causal(x, w_q, w_k, w_v, w_o, n_head, causal=True):
    return solution("multi-head-attention")(x, w_q, w_k, w_v, w_o, n_head, False)


def _kv_quadratic(x, w_q, w_k, w_v, w_o, k_cache, v_cache, n_head):
    """Right values, wrong cost: attention over the whole cache for every cached position."""
    d = x.shape[-1]
    dh = d // n_head
    k = np.concatenate([k_cache, (x @ w_k).reshape(n_head, 1, dh)], axis=1)
    v = np.concatenate([v_cache, (x @ w_v).reshape(n_head, 1, dh)], axis=1)
    n = k.shape[1]
    q_all = np.concatenate([k[:, :-1], (x @ w_q).reshape(n_head, 1, dh)], axis=1)
    out = scaled_dot_product_attention(q_all, k, v, attn_mask=np.tri(n, dtype=bool))
    return out[:, -1].reshape(d) @ w_o, k, v


def _kv_unscaled(x, w_q, w_k, w_v, w_o, k_cache, v_cache, n_head):
    """The scale forgotten: softmax of the raw q . k over the cache and the new key."""
    d = x.shape[-1]
    dh = d // n_head
    k = np.concatenate([k_cache, (x @ w_k).reshape(n_head, 1, dh)], axis=1)
    v = np.concatenate([v_cache, (x @ w_v).reshape(n_head, 1, dh)], axis=1)
    q = (x @ w_q).reshape(n_head, 1, dh)
    out = scaled_dot_product_attention(q, k, v, scale=1.0)
    return out[:, -1].reshape(d) @ w_o, k, v


def _flash_full(q, k, v, block_size):
    """Right values, but the whole score matrix at once."""
    return solution("attention")(q, k, v)


def _linear_quadratic(q, k, v, causal=False):
    phi = lambda t: np.where(t > 0, t + 1, np.exp(np.minimum(t, 0)))  # noqa: E731
    a = phi(q) @ phi(k).T                                   # (n_q, n_k)
    if causal:
        a = np.tril(a)
    return (a @ v) / a.sum(axis=-1, keepdims=True)


def _gqa_first_head_only(x, w_q, w_k, w_v, w_o, n_head, n_kv_head, causal=True):
    d = x.shape[-1]
    dh = d // n_head
    return solution("multi-head-attention")(x, w_q, np.tile(w_k[:, :dh], n_head),
                                            np.tile(w_v[:, :dh], n_head), w_o, n_head, causal)


def _topk_argpartition(logits, k):
    idx = np.argpartition(-logits, k - 1, axis=-1)[..., :k]
    keep = np.zeros(logits.shape, dtype=bool)
    np.put_along_axis(keep, idx, True, axis=-1)
    return np.where(keep, logits, -np.inf)


def _quant_no_zero_guard(x):
    scale = np.abs(x).max(-1, keepdims=True) / 127
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.rint(x / scale).astype(np.int8), scale


def _bpe_string_replace(ids, pair, new_id):
    return [int(t) for t in " ".join(map(str, ids)).replace(f"{pair[0]} {pair[1]}",
                                                            str(new_id)).split()]


def _beam_greedy_scores(table, start, steps, width):
    seqs, scores = solution("beam-search")(table, start, steps, width)
    return seqs, scores * 0 + scores[0]


def _sliding_off_by_one(n, window):
    dist = np.arange(n)[:, None] - np.arange(n)[None, :]
    return (dist > 0) & (dist < window)


def _router_sigmoid(x, w_router, k):
    logits = x @ w_router
    top = np.argsort(-logits, axis=-1, kind="stable")[:, :k]
    gates = np.zeros_like(logits)
    np.put_along_axis(gates, top, 1 / (1 + np.exp(-np.take_along_axis(logits, top, -1))), -1)
    return gates


def _param_untied_head_with_bias(d_model, n_layer, vocab, n_ctx, ffn_mult=4, tied=True):
    n = solution("param-count")(d_model, n_layer, vocab, n_ctx, ffn_mult, tied)
    return n if tied else n + vocab


def _lora_full_update(x, w, a, b, alpha):
    return x @ (w + alpha * (a @ b))


def _kvb_n_head(n_layer, n_kv_head, head_dim, batch, seq, bytes_per=2):
    return 2 * n_layer * n_kv_head * head_dim * batch * seq * 2     # bytes_per ignored


def _gelu_float64_out(x):
    return solution("gelu")(x.astype(np.float64))


def _sinusoidal_swapped(n, d, base=10000.0):
    pe = solution("sinusoidal-positions")(n, d, base)
    return pe[:, ::-1].copy()


def _alibi_slope_one(n_head, n_q, n_k):
    slopes = 2.0 ** (-8.0 * np.arange(n_head) / n_head)       # starts at 2^0 = 1
    dist = np.abs(np.arange(n_k - n_q, n_k)[:, None] - np.arange(n_k))
    return -slopes[:, None, None] * dist


def _ce_no_smoothing(logits, targets, label_smoothing=0.0, ignore_index=-100):
    return solution("cross-entropy")(logits, targets, 0.0, ignore_index)


def _ls_ignores_eps(targets, n_classes, eps):
    return solution("label-smoothing")(targets, n_classes, 0.0)


def _smb_transposed(y, dy):
    return solution("softmax-backward")(dy, y)


def _lnb_unbiased(x, gamma, dy, eps=1e-5):
    d = x.shape[-1]
    return solution("layer-norm-backward")(x * math.sqrt(d / (d - 1)) if d > 1 else x,
                                           gamma, dy, eps)


def _rms_no_eps(x, weight, eps=1e-6):
    with np.errstate(invalid="ignore", divide="ignore"):
        return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True)) * weight


def _causal_float(n_q, n_k):
    return solution("causal-mask")(n_q, n_k).astype(np.float64)


def _log_softmax_float32_const(x, axis=-1):
    return solution("log-softmax")(x, axis).astype(np.float64)


def _top_p_on_logits(logits, p):
    order = np.argsort(-logits, axis=-1, kind="stable")
    z = np.take_along_axis(logits, order, -1)
    keep_sorted = (np.cumsum(z, -1) - z) < p
    keep_sorted[..., 0] = True
    keep = np.zeros_like(keep_sorted)
    np.put_along_axis(keep, order, keep_sorted, -1)
    return np.where(keep, logits, -np.inf)


def _swiglu_relu(x, w_gate, w_up, w_down):
    return (np.maximum(x @ w_gate, 0) * (x @ w_up)) @ w_down


def _layer_norm_all_axes(x, gamma, beta, eps=1e-5):
    return (x - x.mean()) / np.sqrt(x.var() + eps) * gamma + beta


def _rope_sign(x, positions, base=10000.0):
    return solution("rope")(x, -np.asarray(positions), base)


EXTRA = {
    "softmax": [(_softmax_float64, "float32 stays float32")],
    "log-softmax": [(_log_softmax_float32_const, "float32 stays float32")],
    "layer-norm": [(_layer_norm_all_axes, None)],
    "rms-norm": [(_rms_no_eps, "an all-zero vector gives zeros")],
    "gelu": [(_gelu_float64_out, "float32 stays float32")],
    "swiglu": [(_swiglu_relu, None)],
    "causal-mask": [(_causal_float, None)],
    "sliding-window-mask": [(_sliding_off_by_one, None)],
    "attention": [],
    "multi-head-attention": [(_mha_no_causal, "several heads, causal")],
    "grouped-query-attention": [(_gqa_first_head_only, None)],
    "kv-cache": [(_kv_unscaled, None)],
    "flash-attention": [(_flash_full, "memory: never holds the (n_q, n_k) scores")],
    "linear-attention": [(_linear_quadratic, "memory: never forms the n x n matrix")],
    "rope": [(_rope_sign, None)],
    "sinusoidal-positions": [(_sinusoidal_swapped, None)],
    "alibi": [(_alibi_slope_one, None)],
    "cross-entropy": [(_ce_no_smoothing, "label smoothing")],
    "label-smoothing": [(_ls_ignores_eps, None)],
    "softmax-backward": [(_smb_transposed, None)],
    "layer-norm-backward": [(_lnb_unbiased, None)],
    "top-k": [(_topk_argpartition, "ties with the k-th logit are kept")],
    "top-p": [(_top_p_on_logits, None)],
    "beam-search": [(_beam_greedy_scores, None)],
    "param-count": [(_param_untied_head_with_bias, "an untied output head")],
    "kv-cache-bytes": [(_kvb_n_head, "the bytes_per argument")],
    "lora": [(_lora_full_update, None)],
    "int8-quantize": [(_quant_no_zero_guard, "a row of zeros")],
    "moe-router": [(_router_sigmoid, None)],
    "bpe-merge": [(_bpe_string_replace, "ids with several digits")],
}


def _bugs(name):
    spec = get_spec(name)
    bugs = [(m.fn, None, m.message) for m in spec.mistakes]
    bugs += [(fn, check, None) for fn, check in EXTRA[name]]
    return bugs


CASES = [(name, i) for name in NAMES for i in range(len(_bugs(name)))]


def test_every_drill_has_at_least_two_classic_bugs():
    assert set(EXTRA) == set(NAMES)
    assert all(len(_bugs(name)) >= 2 for name in NAMES), [n for n in NAMES if len(_bugs(n)) < 2]


@pytest.mark.parametrize(("name", "i"), CASES, ids=[f"{n}-{i}" for n, i in CASES])
def test_a_classic_bug_fails_and_the_failing_case_is_shown(name, i):
    fn, check, mistake = _bugs(name)[i]
    result = check_function(name, fn)
    assert not result.passed
    failed = [c.name for c in result.checks if c.result == "failed"]
    if check is not None:
        assert check in failed, failed
    fc = result.failing_case
    assert fc is not None and fc.message
    if fc.inputs:                       # a value failure: inputs, expected and received shown
        assert fc.expected is not None
        assert fc.error is not None or fc.received is not None
    if mistake is not None:             # the mistake is recognised by its output
        assert any(mistake in h for h in fc.hints), (fc.hints, mistake)


def test_the_smallest_failing_case_is_reported_with_the_first_differing_element():
    def scaled_by_d(q, k, v, mask=None):
        return scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=1 / q.shape[-1])

    result = check_function("attention", scaled_by_d)
    fc = result.failing_case
    sizes = [sum(np.size(a) for a in fc.inputs.values())]
    assert sizes[0] <= 2 * 4 + 3 * 4 + 3 * 2          # not the big batched case
    assert fc.index is not None and len(fc.index) == 2
    exp, rec = fc.expected[fc.index], fc.received[fc.index]
    assert fc.expected_value == pytest.approx(exp) and fc.received_value == pytest.approx(rec)
    assert abs(exp - rec) > 1e-6
    assert any("1/d instead of 1/sqrt(d)" in h for h in fc.hints)


def test_the_json_report_has_checks_and_the_failing_case():
    import json

    result = check_function("softmax", lambda x, axis=-1: np.exp(x) / np.exp(x).sum(
        axis=axis, keepdims=True))
    data = json.loads(json.dumps(result.to_json()))     # plain JSON, no NaN literals
    assert data["passed"] is False
    assert {"name", "result", "passed", "message"} <= set(data["checks"][0])
    fc = data["failing_case"]
    assert fc["check"] == "large logits (no overflow)"
    assert fc["received_value"] == "nan" and isinstance(fc["expected_value"], float)
    assert fc["inputs"]["x"]["values"] == [-1000.0, -1000.0]
    assert fc["index"] == [0]


def test_kv_cache_cost_is_measured_and_reported():
    result = check_function("kv-cache", solution("kv-cache"))
    text = " ".join(result.measurements)
    assert "fitted exponent" in text and "n=2048" in text


@pytest.mark.slow
def test_the_kv_cache_cost_check_measures_and_reports_its_exponent():
    # the O(n^2)-per-step answer is told apart by a fitted exponent of measured times, so
    # this shows the measurement is made and reported, not a pass or fail (times are noisy)
    result = check_function("kv-cache", _kv_quadratic)
    cost = [c for c in result.checks if c.name.startswith("cost")]
    assert cost and "fitted exponent" in cost[0].message and "n=2048" in cost[0].message
