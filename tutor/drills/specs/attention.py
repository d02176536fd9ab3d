"""Attention: SDPA, masks, multi-head and grouped-query attention, the KV cache, and the
attention variants that avoid the n x n matrix."""

from __future__ import annotations

import math

import numpy as np

from engine.attention import causal_mask, scaled_dot_product_attention, sliding_window_mask
from engine.efficient import flash_attention, linear_attention
from engine.model import KVCache, multi_head_attention
from tutor.drills.specs import Case, Memory, Mistake, Spec, Timing, in_dtype, normal, register

F32 = np.float32

# ----------------------------------------------------------------------------- attention


def _sdpa(q, k, v, mask=None):
    return scaled_dot_product_attention(q, k, v, attn_mask=mask)


def _qkv(rng, lead, n_q, n_k, d, d_v, scale=1.0, dtype=np.float64):
    return (normal(rng, *lead, n_q, d, scale=scale, dtype=dtype),
            normal(rng, *lead, n_k, d, scale=scale, dtype=dtype),
            normal(rng, *lead, n_k, d_v, dtype=dtype))


def _random_mask(rng, shape):
    m = rng.random(shape) < 0.6
    m[..., 0] = True                       # every query keeps at least one key
    return m


def _attention_cases(rng):
    c = [Case("values, no mask", _qkv(rng, (), n_q, n_k, d, d_v))
         for n_q, n_k, d, d_v in [(1, 1, 1, 1), (2, 3, 4, 2), (4, 4, 8, 8), (3, 6, 5, 3)]]
    c.append(Case("n_q != n_k, d != d_v", _qkv(rng, (), 5, 2, 3, 7)))
    c.append(Case("batch and head dimensions", _qkv(rng, (2, 3), 4, 5, 4, 2)))
    c.append(Case("a boolean mask", (*_qkv(rng, (), 3, 5, 4, 2), _random_mask(rng, (3, 5)))))
    c.append(Case("a boolean mask", (*_qkv(rng, (2,), 4, 4, 2, 3),
                                     np.tri(4, dtype=bool))))          # causal, broadcast
    masked = _random_mask(rng, (3, 4))
    masked[1] = False
    c.append(Case("a row with no allowed key gives zeros",
                  (*_qkv(rng, (), 3, 4, 2, 2), masked)))
    c.append(Case("a row with no allowed key gives zeros",
                  (*_qkv(rng, (), 1, 2, 1, 1), np.zeros((1, 2), dtype=bool))))
    c.append(Case("large scores (no overflow)", _qkv(rng, (), 3, 4, 4, 2, scale=60.0)))
    c.append(Case("float32 stays float32", _qkv(rng, (), 3, 5, 8, 4, dtype=F32)))
    c.append(Case("float32 stays float32", (*_qkv(rng, (2,), 3, 3, 4, 2, dtype=F32),
                                            np.tri(3, dtype=bool))))
    return c


def _attn_scaled(q, k, v, mask=None, scale=1.0):
    return scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=scale)


def _attn_nan_rows(q, k, v, mask=None):
    s = q @ np.swapaxes(k, -1, -2) / math.sqrt(q.shape[-1])
    if mask is not None:
        s = np.where(mask, s, -np.inf)
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True) @ v


register(Spec(
    name="attention", params=("q", "k", "v", "mask"),
    reference=in_dtype(_sdpa),
    cases=_attention_cases,
    hints={
        "a row with no allowed key gives zeros": "every score of that row is -inf, so its max "
        "is -inf and exp(-inf - -inf) is NaN; give such rows zero weights and a zero output",
        "large scores (no overflow)": "subtract each row's max before exp",
        "float32 stays float32": "np.sqrt(d) is a float64 scalar: dividing a float32 array by "
        "it gives float64 under NumPy 2; use math.sqrt or q.dtype.type(...)",
    },
    mistakes=(
        Mistake("scaling by 1/d instead of 1/sqrt(d)",
                lambda q, k, v, mask=None: _attn_scaled(q, k, v, mask, 1 / q.shape[-1])),
        Mistake("no scaling at all", lambda q, k, v, mask=None: _attn_scaled(q, k, v, mask)),
        Mistake("a fully masked row taken through a plain softmax (NaN)", _attn_nan_rows),
        Mistake("the mask read the wrong way round (True = blocked)",
                lambda q, k, v, mask=None: _sdpa(q, k, v, None if mask is None else ~mask)),
    ),
))

# ----------------------------------------------------------------------------- masks


def _causal_cases(rng):
    c = [Case("square masks", (n, n)) for n in (1, 2, 5)]
    c += [Case("n_q < n_k: queries at the end of the keys", a) for a in [(1, 4), (2, 5), (3, 7)]]
    c += [Case("n_q > n_k: the first queries see nothing", a) for a in [(3, 2), (4, 1)]]
    c.append(Case("empty", (0, 3)))
    return c


register(Spec(
    name="causal-mask", params=("n_q", "n_k"),
    reference=lambda n_q, n_k: causal_mask(n_q, n_k),
    cases=_causal_cases,
    hints={"n_q < n_k: queries at the end of the keys": "np.tril(ones) aligns the first query "
           "with the first key; with a KV cache the n_q new queries are the last n_q "
           "positions, so shift the diagonal by n_k - n_q"},
    mistakes=(
        Mistake("the top-left alignment np.tril(np.ones((n_q, n_k)))",
                lambda n_q, n_k: np.tril(np.ones((n_q, n_k), dtype=bool))),
        Mistake("the diagonal left out (a query must see itself)",
                lambda n_q, n_k: np.tri(n_q, n_k, k=n_k - n_q - 1, dtype=bool)),
        Mistake("True where attention is blocked (the inverse convention)",
                lambda n_q, n_k: ~causal_mask(n_q, n_k)),
    ),
))


def _window_cases(rng):
    c = [Case("values", a) for a in [(1, 1), (4, 2), (6, 3), (5, 1)]]
    c.append(Case("window >= n is the causal mask", (4, 4)))
    c.append(Case("window >= n is the causal mask", (3, 10)))
    return c


def _dist(n):
    return np.arange(n)[:, None] - np.arange(n)[None, :]


register(Spec(
    name="sliding-window-mask", params=("n", "window"),
    reference=lambda n, window: sliding_window_mask(n, window, causal=True),
    cases=_window_cases,
    mistakes=(
        Mistake("window + 1 keys (i - j <= window)",
                lambda n, window: (_dist(n) >= 0) & (_dist(n) <= window)),
        Mistake("not causal: |i - j| < window",
                lambda n, window: np.abs(_dist(n)) < window),
    ),
))

# ----------------------------------------------------------------------------- multi-head


def _mha_params(w_q, w_k, w_v, w_o):
    return {"a.w_q": w_q, "a.w_k": w_k, "a.w_v": w_v, "a.w_o": w_o}


def _mha_ref(x, w_q, w_k, w_v, w_o, n_head, causal=True):
    return multi_head_attention(x, _mha_params(w_q, w_k, w_v, w_o), "a", n_head,
                                is_causal=causal)


def _mha_args(rng, n, d, n_head, d_kv=None, dtype=np.float64, scale=1.0):
    d_kv = d if d_kv is None else d_kv
    s = 1 / math.sqrt(d)
    return (normal(rng, n, d, scale=scale, dtype=dtype), normal(rng, d, d, scale=s, dtype=dtype),
            normal(rng, d, d_kv, scale=s, dtype=dtype), normal(rng, d, d_kv, scale=s, dtype=dtype),
            normal(rng, d, d, scale=s, dtype=dtype), n_head)


def _mha_cases(rng):
    c = [Case("one head", _mha_args(rng, n, d, 1)) for n, d in [(1, 1), (3, 2)]]
    c += [Case("several heads, causal", _mha_args(rng, n, d, h))
          for n, d, h in [(4, 4, 2), (5, 6, 3), (3, 8, 4)]]
    c.append(Case("d_head = 1", _mha_args(rng, 4, 3, 3)))
    c.append(Case("causal=False", _mha_args(rng, 5, 6, 2), {"causal": False}))
    c.append(Case("n != d_head (non-square heads)", _mha_args(rng, 7, 4, 2)))
    c.append(Case("large activations", _mha_args(rng, 4, 4, 2, scale=40.0)))
    c.append(Case("float32 stays float32", _mha_args(rng, 5, 8, 2, dtype=F32)))
    return c


def _mha_bad_split(x, w_q, w_k, w_v, w_o, n_head, causal=True):
    n, d = x.shape
    dh = d // n_head

    def heads(t):      # reshape without the transpose: rows of different tokens get mixed
        return t.reshape(n_head, n, dh)

    q, k, v = heads(x @ w_q), heads(x @ w_k), heads(x @ w_v)
    s = q @ k.transpose(0, 2, 1) / math.sqrt(dh)
    if causal:
        s = np.where(np.tri(n, dtype=bool), s, -np.inf)
    w = np.exp(s - s.max(-1, keepdims=True))
    w /= w.sum(-1, keepdims=True)
    return (w @ v).reshape(n, d) @ w_o


def _mha_scale_d(x, w_q, w_k, w_v, w_o, n_head, causal=True):
    return multi_head_attention(x, _mha_params(w_q, w_k, w_v, w_o), "a", n_head,
                                is_causal=causal, scale=1 / math.sqrt(x.shape[-1]))


register(Spec(
    name="multi-head-attention",
    params=("x", "w_q", "w_k", "w_v", "w_o", "n_head", "causal"),
    reference=in_dtype(_mha_ref),
    cases=_mha_cases,
    hints={"several heads, causal": "split (n, d) into heads with reshape(n, n_head, d_head) "
           "then move the head axis first; reshape(n_head, n, d_head) mixes tokens"},
    mistakes=(
        Mistake("heads split with reshape(n_head, n, d_head), which mixes tokens",
                _mha_bad_split),
        Mistake("scores scaled by 1/sqrt(d) instead of 1/sqrt(d_head)", _mha_scale_d),
        Mistake("the causal mask left out",
                lambda x, w_q, w_k, w_v, w_o, n_head, causal=True:
                _mha_ref(x, w_q, w_k, w_v, w_o, n_head, causal=False)),
    ),
))


def _gqa_ref(x, w_q, w_k, w_v, w_o, n_head, n_kv_head, causal=True):
    return multi_head_attention(x, _mha_params(w_q, w_k, w_v, w_o), "a", n_head, n_kv_head,
                                is_causal=causal)


def _gqa_args(rng, n, d, n_head, n_kv, dtype=np.float64):
    dh = d // n_head
    return (*_mha_args(rng, n, d, n_head, d_kv=n_kv * dh, dtype=dtype), n_kv)


def _gqa_cases(rng):
    c = [Case("n_kv_head = n_head (plain multi-head)", _gqa_args(rng, 3, 4, 2, 2))]
    c.append(Case("multi-query (n_kv_head = 1)", _gqa_args(rng, 4, 6, 3, 1)))
    c += [Case("groups of query heads share a K/V head", _gqa_args(rng, n, d, h, kv))
          for n, d, h, kv in [(3, 8, 4, 2), (5, 12, 6, 2), (4, 12, 6, 3)]]
    c.append(Case("causal=False", _gqa_args(rng, 5, 8, 4, 2), {"causal": False}))
    c.append(Case("float32 stays float32", _gqa_args(rng, 4, 8, 4, 2, dtype=F32)))
    return c


def _gqa_tiled(x, w_q, w_k, w_v, w_o, n_head, n_kv_head, causal=True):
    # query head h paired with K/V head h % n_kv_head (np.tile) instead of h // group
    n, d = x.shape
    dh = d // n_head

    def heads(t, h):
        return t.reshape(n, h, dh).transpose(1, 0, 2)

    reps = (n_head // n_kv_head, 1, 1)
    k, v = np.tile(heads(x @ w_k, n_kv_head), reps), np.tile(heads(x @ w_v, n_kv_head), reps)
    mask = np.tri(n, dtype=bool) if causal else None
    o = scaled_dot_product_attention(heads(x @ w_q, n_head), k, v, attn_mask=mask)
    return o.transpose(1, 0, 2).reshape(n, d) @ w_o


register(Spec(
    name="grouped-query-attention",
    params=("x", "w_q", "w_k", "w_v", "w_o", "n_head", "n_kv_head", "causal"),
    reference=in_dtype(_gqa_ref),
    cases=_gqa_cases,
    hints={"groups of query heads share a K/V head": "query heads 0 .. g-1 use K/V head 0, "
           "heads g .. 2g-1 use K/V head 1 (np.repeat along the head axis, not np.tile)"},
    mistakes=(Mistake("K/V heads repeated with np.tile (head h uses K/V head h % n_kv_head)",
                      _gqa_tiled),),
))

# ----------------------------------------------------------------------------- KV cache


def _kv_ref(x, w_q, w_k, w_v, w_o, k_cache, v_cache, n_head):
    n_past = k_cache.shape[-2]
    cache = KVCache(1, n_past + 1)
    if n_past:
        cache.update(0, k_cache, v_cache)
        cache.advance(n_past)
    out = multi_head_attention(x[None, :], _mha_params(w_q, w_k, w_v, w_o), "a", n_head,
                               is_causal=True, cache=cache.layer(0))
    return out[0], cache.keys[0][..., : n_past + 1, :], cache.values[0][..., : n_past + 1, :]


def _kv_args(rng, n_past, d, n_head, dtype=np.float64):
    dh = d // n_head
    x, w_q, w_k, w_v, w_o, _ = _mha_args(rng, 1, d, n_head, dtype=dtype)
    return (x[0], w_q, w_k, w_v, w_o, normal(rng, n_head, n_past, dh, dtype=dtype),
            normal(rng, n_head, n_past, dh, dtype=dtype), n_head)


def _kv_cases(rng):
    c = [Case("the first token (empty cache)", _kv_args(rng, 0, d, h)) for d, h in [(2, 1), (4, 2)]]
    c += [Case("a cache of earlier tokens", _kv_args(rng, n, d, h))
          for n, d, h in [(1, 2, 1), (3, 4, 2), (6, 6, 3), (17, 8, 2)]]
    c.append(Case("float32 stays float32", _kv_args(rng, 5, 8, 2, dtype=F32)))
    return c


def _kv_sizes(rng):
    sizes = []
    for n in (128, 256, 512, 1024, 2048):
        sizes.append((n, _kv_args(rng, n, 16, 1), {}))
    return sizes


def _kv_past_only(x, w_q, w_k, w_v, w_o, k_cache, v_cache, n_head):
    # attends to the cached tokens only, and appends the new key afterwards
    _, k, v = _kv_ref(x, w_q, w_k, w_v, w_o, k_cache, v_cache, n_head)
    d = x.shape[-1]
    dh = d // n_head
    q = (x @ w_q).reshape(n_head, 1, dh)
    o = scaled_dot_product_attention(q, k_cache, v_cache).reshape(d)
    return o @ w_o, k, v


register(Spec(
    name="kv-cache", params=("x", "w_q", "w_k", "w_v", "w_o", "k_cache", "v_cache", "n_head"),
    reference=in_dtype(_kv_ref),
    cases=_kv_cases,
    hints={"the first token (empty cache)": "with n_past = 0 the caches have shape "
           "(n_head, 0, d_head); after appending, the new token attends to itself"},
    mistakes=(Mistake("the new token's own key and value left out of its attention",
                      _kv_past_only),),
    timing=Timing("O(n) per decoding step", _kv_sizes, max_exponent=1.5),
))

# ----------------------------------------------------------------------------- flash


def _flash_ref(q, k, v, block_size):
    return flash_attention(q, k, v, block_k=block_size)


def _flash_cases(rng):
    c = [Case("values", (*_qkv(rng, (), n_q, n_k, d, d_v), b))
         for n_q, n_k, d, d_v, b in [(1, 1, 1, 1, 1), (2, 4, 3, 2, 2), (3, 8, 4, 4, 4)]]
    c.append(Case("n_k not a multiple of block_size", (*_qkv(rng, (), 2, 7, 3, 2), 3)))
    c.append(Case("n_k not a multiple of block_size", (*_qkv(rng, (), 3, 5, 2, 2), 4)))
    c.append(Case("block_size >= n_k", (*_qkv(rng, (), 2, 3, 2, 2), 8)))
    q, k, v = _qkv(rng, (), 2, 8, 2, 2)
    k = k * np.repeat([1.0, 4.0, 16.0, 64.0], 2)[:, None]     # later blocks score higher
    c.append(Case("a later block raises the max (rescaling)", (q, k, v, 2)))
    c.append(Case("large scores (no overflow)", (*_qkv(rng, (), 3, 6, 4, 2, scale=80.0), 2)))
    c.append(Case("batch dimensions", (*_qkv(rng, (2, 2), 3, 5, 4, 3), 2)))
    c.append(Case("float32 stays float32", (*_qkv(rng, (), 3, 9, 4, 4, dtype=F32), 4)))
    return c


def _flash_no_rescale(q, k, v, block_size):
    scale = 1 / math.sqrt(q.shape[-1])
    m = np.full(q.shape[:-1] + (1,), -np.inf)
    l = np.zeros_like(m)
    acc = np.zeros(q.shape[:-1] + v.shape[-1:])
    for j in range(0, k.shape[-2], block_size):
        s = q @ np.swapaxes(k[..., j:j + block_size, :], -1, -2) * scale
        m = np.maximum(m, s.max(-1, keepdims=True))
        p = np.exp(s - m)
        l = l + p.sum(-1, keepdims=True)              # old terms keep their old max
        acc = acc + p @ v[..., j:j + block_size, :]
    return (acc / l).astype(q.dtype)


def _probe(rng, n_q, n_k, d):
    q, k, v = _qkv(rng, (), n_q, n_k, d, d)
    return q, k, v


def _input_bytes(args) -> int:
    return sum(a.nbytes for a in args if isinstance(a, np.ndarray))


def _full_scores(args) -> int:
    return args[0].shape[0] * args[1].shape[0] * 8                # (n_q, n_k) float64


def _scores_memory(what: str, probe) -> Memory:
    """Peak memory at most a quarter of the full score matrix, plus two copies of the inputs."""
    return Memory(what, probe, max_bytes=lambda a: _full_scores(a) // 4 + 2 * _input_bytes(a),
                  full_bytes=_full_scores)


register(Spec(
    name="flash-attention", params=("q", "k", "v", "block_size"),
    reference=in_dtype(_flash_ref),
    cases=_flash_cases,
    hints={"a later block raises the max (rescaling)": "when a block raises the running max "
           "from m to m', multiply l and acc by exp(m - m') before adding the new block",
           "n_k not a multiple of block_size": "the last block is shorter: slice "
           "k[..., j:j + block_size, :] and let it be"},
    mistakes=(Mistake("l and acc not rescaled when the running max grows", _flash_no_rescale),),
    memory=_scores_memory("never holds the (n_q, n_k) scores",
                          lambda rng: ((*_probe(rng, 256, 16384, 4), 256), {})),
))

# ----------------------------------------------------------------------------- linear


def _linear_ref(q, k, v, causal=False):
    return linear_attention(q, k, v, feature_map="elu1", is_causal=causal)


def _linear_cases(rng):
    c = [Case("values", _qkv(rng, (), n_q, n_k, d, d_v))
         for n_q, n_k, d, d_v in [(1, 1, 1, 1), (3, 4, 2, 3), (5, 2, 4, 2)]]
    c += [Case("causal=True (prefix sums)", _qkv(rng, (), n, n, d, d_v), {"causal": True})
          for n, d, d_v in [(1, 1, 1), (4, 3, 2), (6, 2, 5)]]
    c.append(Case("float32 stays float32", _qkv(rng, (), 4, 6, 3, 2, dtype=F32)))
    return c


def _phi(x):
    return np.where(x > 0, x + 1, np.exp(np.minimum(x, 0)))


def _linear_unnormalised(q, k, v, causal=False):
    if causal:
        return np.einsum("nd,nde->ne", _phi(q), np.cumsum(_phi(k)[:, :, None] * v[:, None], 0))
    return _phi(q) @ (_phi(k).T @ v)


register(Spec(
    name="linear-attention", params=("q", "k", "v", "causal"),
    reference=in_dtype(_linear_ref),
    cases=_linear_cases,
    mistakes=(Mistake("the normaliser phi(q) . sum phi(k) left out", _linear_unnormalised),
              Mistake("causal=True ignored (sums over every key)",
                      lambda q, k, v, causal=False: _linear_ref(q, k, v, False))),
    memory=_scores_memory("never forms the n x n matrix",
                          lambda rng: (_probe(rng, 2048, 2048, 4), {})),
))
