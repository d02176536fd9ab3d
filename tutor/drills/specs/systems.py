"""Counting and systems: parameters, KV-cache memory, int8 quantization, MoE routing, BPE."""

from __future__ import annotations

import numpy as np

from engine.accounting import count_params, kv_cache_bytes
from engine.bpe import merge_pair
from engine.config import ModelConfig
from engine.moe import gate_matrix, route
from engine.quantize import quantize
from tutor.drills.compare import Mismatch, compare
from tutor.drills.specs import Case, Mistake, Spec, normal, register

# ----------------------------------------------------------------------------- parameters


def _gpt2(d_model, n_layer, vocab, n_ctx, ffn_mult=4, tied=True) -> ModelConfig:
    return ModelConfig(name="drill", d_model=d_model, n_layer=n_layer, n_head=1,
                       vocab_size=vocab, n_ctx=n_ctx, d_ff=ffn_mult * d_model,
                       tie_embeddings=tied, activation="gelu", norm="layernorm", bias=True,
                       positional="learned", final_norm=True)


def _param_ref(d_model, n_layer, vocab, n_ctx, ffn_mult=4, tied=True):
    return count_params(_gpt2(d_model, n_layer, vocab, n_ctx, ffn_mult, tied)).total


def _param_cases(rng):
    c = [Case("small models", a) for a in [(1, 1, 1, 1), (4, 2, 10, 8), (6, 3, 7, 5)]]
    c.append(Case("GPT-2 small (124M)", (768, 12, 50257, 1024)))
    c.append(Case("GPT-2 XL", (1600, 48, 50257, 1024)))
    c.append(Case("another FFN width", (8, 2, 11, 4), {"ffn_mult": 2}))
    c.append(Case("an untied output head", (8, 2, 11, 4), {"tied": False}))
    c.append(Case("an untied output head", (768, 12, 50257, 1024), {"tied": False}))
    return c


def _param_no_final_norm(d_model, n_layer, vocab, n_ctx, ffn_mult=4, tied=True):
    return _param_ref(d_model, n_layer, vocab, n_ctx, ffn_mult, tied) - 2 * d_model


def _param_no_biases(d_model, n_layer, vocab, n_ctx, ffn_mult=4, tied=True):
    c = _gpt2(d_model, n_layer, vocab, n_ctx, ffn_mult, tied)
    return count_params(c.replace(bias=False)).total


def _param_no_positions(d_model, n_layer, vocab, n_ctx, ffn_mult=4, tied=True):
    return _param_ref(d_model, n_layer, vocab, n_ctx, ffn_mult, tied) - n_ctx * d_model


register(Spec(
    name="param-count", params=("d_model", "n_layer", "vocab", "n_ctx", "ffn_mult", "tied"),
    reference=_param_ref,
    cases=_param_cases,
    mistakes=(Mistake("the final LayerNorm (2 d) left out", _param_no_final_norm),
              Mistake("the biases (and LayerNorm shifts) left out", _param_no_biases),
              Mistake("the learned position table (n_ctx d) left out", _param_no_positions),
              Mistake("the tied head counted a second time",
                      lambda d, L, V, C, m=4, tied=True:
                      _param_ref(d, L, V, C, m, tied) + (d * V if tied else 0))),
))

# ----------------------------------------------------------------------------- KV cache bytes


def _kvb_ref(n_layer, n_kv_head, head_dim, batch, seq, bytes_per=2):
    return kv_cache_bytes((n_layer, n_kv_head, head_dim), batch, seq, bytes_per)


register(Spec(
    name="kv-cache-bytes",
    params=("n_layer", "n_kv_head", "head_dim", "batch", "seq", "bytes_per"),
    reference=_kvb_ref,
    cases=lambda rng: [
        Case("values", (1, 1, 1, 1, 1)), Case("values", (2, 3, 4, 5, 6)),
        Case("LLaMA-2-7B, 4k tokens, fp16", (32, 32, 128, 1, 4096)),
        Case("LLaMA-2-70B with GQA, batch 8", (80, 8, 128, 8, 4096)),
        Case("the bytes_per argument", (12, 12, 64, 2, 1024), {"bytes_per": 4}),
        Case("the bytes_per argument", (12, 12, 64, 2, 1024), {"bytes_per": 1})],
    mistakes=(Mistake("keys only (the factor 2 for K and V left out)",
                      lambda L, h, dh, b, s, bp=2: _kvb_ref(L, h, dh, b, s, bp) // 2),
              Mistake("the batch size left out",
                      lambda L, h, dh, b, s, bp=2: _kvb_ref(L, h, dh, 1, s, bp))),
))

# ----------------------------------------------------------------------------- int8


def _int8_ref(x):
    n = x.shape[-1]
    qt = quantize(x, bits=8, scheme="absmax", group_size=n, axis=-1)   # one scale per row
    return qt.codes.astype(np.int8), qt.scale.reshape(x.shape[:-1] + (1,))


def _int8_compare(case, received) -> Mismatch | None:
    """Codes must match, except +-1 where x / scale lies within 1e-6 of a rounding tie
    (the engine stores scales in float32); scales to 1e-6 relative."""
    q_exp, s_exp = case.expected
    if not isinstance(received, tuple | list) or len(received) != 2:
        return compare(case.expected, received)
    q, s = received
    first = compare(q_exp, q, "[0]") if not isinstance(q, np.ndarray) or q.shape != q_exp.shape \
        or q.dtype != np.int8 else None
    if first is not None:
        return first
    if not isinstance(s, np.ndarray):
        return compare(s_exp, s, "[1]")
    try:
        s_b = np.broadcast_to(s, s_exp.shape).astype(np.float64)
    except ValueError:
        return Mismatch(f"scale of shape {s.shape}; expected {s_exp.shape}", "[1]")
    bad = ~(np.abs(s_b - s_exp) <= 1e-6 * np.abs(s_exp))
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        return Mismatch("wrong scale", "[1]", idx, float(s_exp[idx]), float(s_b[idx]))
    x = case.args[0].astype(np.float64)
    frac = np.abs(x / s_exp - np.floor(x / s_exp) - 0.5)
    off = q.astype(np.int64) - q_exp.astype(np.int64)
    bad = (off != 0) & ~((np.abs(off) == 1) & (frac < 1e-6))
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        return Mismatch(f"wrong code; {int(bad.sum())} of {bad.size} differ", "[0]", idx,
                        int(q_exp[idx]), int(q[idx]))
    return None


def _int8_cases(rng):
    c = [Case("values", (normal(rng, *s, scale=3.0),)) for s in [(1,), (5,), (3, 8)]]
    c.append(Case("batch dimensions", (normal(rng, 2, 3, 6),)))
    c.append(Case("the largest |x| maps to +-127", (np.array([[-2.0, 0.5, 1.0]]),)))
    c.append(Case("a row of zeros", (np.array([[0.0, 0.0, 0.0], [1.0, -3.0, 2.0]]),)))
    c.append(Case("an outlier stretches its row's scale only",
                  (np.array([[0.1, -0.2, 40.0, 0.3], [0.1, -0.2, 0.05, 0.3]]),)))
    c.append(Case("rounding, not truncation", (np.array([[1.0, 0.37, -0.37, 0.8]]),)))
    return c


def _int8_truncate(x):
    amax = np.abs(x).max(-1, keepdims=True)
    scale = np.where(amax > 0, amax / 127, 1.0)
    return np.trunc(x / scale).astype(np.int8), scale


def _int8_128(x):
    amax = np.abs(x).max(-1, keepdims=True)
    scale = np.where(amax > 0, amax / 128, 1.0)
    return np.rint(x / scale).astype(np.int64).astype(np.int8), scale


register(Spec(
    name="int8-quantize", params=("x",),
    reference=_int8_ref,
    cases=_int8_cases,
    compare=_int8_compare,
    hints={"a row of zeros": "max|x| = 0 gives scale 0 and 0 / 0 = NaN; use scale 1 there",
           "the largest |x| maps to +-127": "scale = max|x| / 127: 128 does not fit (int8 "
           "holds -128..127, and the range is kept symmetric)"},
    mistakes=(Mistake("truncation toward zero instead of rounding", _int8_truncate),
              Mistake("max|x| / 128, which sends the largest value to 128 (wraps to -128)",
                      _int8_128)),
))

# ----------------------------------------------------------------------------- MoE router


def _router_ref(x, w_router, k):
    weights, idx = route(x @ w_router, k)          # Mixtral: softmax, top k, renormalise
    return gate_matrix(weights, idx, w_router.shape[-1])


def _router_cases(rng):
    c = [Case("values", (normal(rng, n, d), normal(rng, d, e), k))
         for n, d, e, k in [(1, 1, 2, 1), (3, 4, 4, 2), (5, 3, 8, 2), (4, 6, 6, 3)]]
    c.append(Case("k = n_experts", (normal(rng, 2, 3), normal(rng, 3, 4), 4)))
    c.append(Case("large logits (no overflow)", (normal(rng, 3, 4, scale=100.0),
                                                 normal(rng, 4, 5), 2)))
    c.append(Case("ties: the lower expert id wins", (np.ones((2, 2)), np.ones((2, 4)), 2)))
    return c


def _router_unnormalised(x, w_router, k):
    # softmax over all experts, top k kept, not renormalised (Switch/Qwen without norm)
    weights, idx = route(x @ w_router, k, normalize=False)
    return gate_matrix(weights, idx, w_router.shape[-1])


def _router_smallest(x, w_router, k):
    logits = x @ w_router
    weights, idx = route(-logits, k)
    return gate_matrix(softmax_rows(np.take_along_axis(logits, idx, -1)), idx, logits.shape[-1])


def softmax_rows(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


register(Spec(
    name="moe-router", params=("x", "w_router", "k"),
    reference=_router_ref,
    cases=_router_cases,
    mistakes=(Mistake("top-k of the full softmax without renormalising to sum 1",
                      _router_unnormalised),
              Mistake("the k smallest logits chosen (ascending sort)", _router_smallest)),
))

# ----------------------------------------------------------------------------- BPE merge


def _bpe_cases(rng):
    c = [Case("values", ([1, 2, 3, 1, 2], (1, 2), 256)),
         Case("values", ([5, 6, 7], (6, 7), 300)),
         Case("no occurrence", ([1, 2, 3], (3, 1), 256)),
         Case("empty and one-token lists", ([], (1, 2), 256)),
         Case("empty and one-token lists", ([1], (1, 1), 256)),
         Case("overlapping occurrences: left to right", ([7, 7, 7], (7, 7), 256)),
         Case("overlapping occurrences: left to right", ([7, 7, 7, 7, 7], (7, 7), 256)),
         Case("ids with several digits", ([11, 2, 1, 12, 1, 2], (1, 2), 256))]
    c.append(Case("a long list", ([int(i) for i in rng.integers(0, 4, size=200)], (1, 2), 9)))
    return c


def _bpe_overlap(ids, pair, new_id):
    out, i = [], 0
    while i < len(ids):       # never skips the second half of a merged pair
        if i + 1 < len(ids) and (ids[i], ids[i + 1]) == tuple(pair):
            out.append(new_id)
        elif not (i > 0 and (ids[i - 1], ids[i]) == tuple(pair)):
            out.append(ids[i])
        i += 1
    return out


def _bpe_string_replace(ids, pair, new_id):
    text = " ".join(map(str, ids))
    merged = text.replace(f"{pair[0]} {pair[1]}", str(new_id))
    return [int(t) for t in merged.split()]


register(Spec(
    name="bpe-merge", params=("ids", "pair", "new_id"),
    reference=lambda ids, pair, new_id: merge_pair(list(ids), tuple(pair), new_id),
    cases=_bpe_cases,
    mistakes=(Mistake("overlapping occurrences each merged ([a, a, a] -> [new, new])",
                      _bpe_overlap),
              Mistake("replacing the text '1 2' in a joined string (breaks on '11 2')",
                      _bpe_string_replace)),
))
