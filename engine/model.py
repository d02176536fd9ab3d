"""Transformer blocks and whole models as functions of a flat dict of named arrays.

Every flavour the tutor talks about is one `ModelConfig` away: GPT-2 (pre-norm,
learned positions, GELU, tied head), LLaMA (RMSNorm, RoPE, SwiGLU, no biases,
untied head, grouped-query attention), BERT (post-norm encoder with segment
embeddings, an embedding LayerNorm and a pooler) and T5 (encoder-decoder with
relative position buckets, cross-attention and bias-free RMSNorm).

Parameter names
---------------
`param_shapes(config)` lists every array in order; `init_params` allocates them.
Weights are stored (in, out), so a linear layer is `x @ w + b`.

    tok_emb                      (vocab, d)        token embedding (shared by both stacks of an
                                                   encoder-decoder)
    type_emb                     (type_vocab, d)   segment embedding, if type_vocab_size > 0
    emb_norm.g, emb_norm.b       (d,)              norm of the summed embeddings, if embedding_norm
    {S}pos_emb                   (n_ctx, d)        learned positions only
    {S}blocks.{i}.attn_norm.*    (d,)              norm around self-attention
    {S}blocks.{i}.attn.w_q       (d, H*dh)         b_q (H*dh,) if bias
    {S}blocks.{i}.attn.w_k       (d, Hkv*dh)       b_k; Hkv = n_kv_head (GQA/MQA share K/V heads)
    {S}blocks.{i}.attn.w_v       (d, Hkv*dh)       b_v
    {S}blocks.{i}.attn.w_o       (H*dh, d)         b_o
    {S}blocks.0.attn.rel_bias    (buckets, H)      relative positions: first block of a stack
    {S}blocks.{i}.cross_attn_norm.*, {S}blocks.{i}.cross_attn.*   decoder of an encoder-decoder
    {S}blocks.{i}.ffn_norm.*     (d,)
    {S}blocks.{i}.ffn.w_up       (d, d_ff)         b_up
    {S}blocks.{i}.ffn.w_gate     (d, d_ff)         b_gate; SwiGLU only
    {S}blocks.{i}.ffn.w_down     (d_ff, d)         b_down
    {S}final_norm.*              (d,)              if final_norm
    pooler.w (d, d), pooler.b    (d,)              if pooler (BERT's [CLS] head)
    lm_head                      (d, vocab)        only when the head is untied (never a bias);
                                                   an encoder-only model has no head

{S} is "" for decoder-only and encoder-only models, and "encoder." / "decoder."
for the two stacks of an encoder-decoder. A norm has a gain `.g` and, for a
LayerNorm with bias=True, a shift `.b`; RMSNorm never has a shift. Linear biases
exist on every projection iff bias=True.

Initialisation follows GPT-2: weights and embeddings ~ N(0, 0.02), residual
output projections (attn.w_o, cross_attn.w_o, ffn.w_down) scaled by
1/sqrt(2 * n_layer) so the residual stream's variance does not grow with depth,
biases zero, norm gains one.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from engine.attention import causal_mask, scaled_dot_product_attention
from engine.config import ModelConfig
from engine.functional import embedding, gelu, layer_norm, linear, relu, rms_norm, silu
from engine.positional import alibi_bias, rope, sinusoidal_positions

Shapes = dict[str, tuple[int, ...]]
Params = dict[str, np.ndarray]

REL_MAX_DISTANCE = 128  # T5: distances beyond this share the last bucket


# ----------------------------------------------------------------------------- parameters

def _norm_shapes(name: str, config: ModelConfig) -> Shapes:
    d = config.d_model
    shapes = {f"{name}.g": (d,)}
    if config.norm == "layernorm" and config.bias:
        shapes[f"{name}.b"] = (d,)
    return shapes


def _linear_shapes(prefix: str, w: str, d_in: int, d_out: int, bias: bool) -> Shapes:
    shapes = {f"{prefix}.w_{w}": (d_in, d_out)}
    if bias:
        shapes[f"{prefix}.b_{w}"] = (d_out,)
    return shapes


def _attention_shapes(prefix: str, config: ModelConfig) -> Shapes:
    d, inner, kv_inner = config.d_model, config.n_head * config.head_dim, \
        config.kv_heads * config.head_dim
    shapes: Shapes = {}
    shapes |= _linear_shapes(prefix, "q", d, inner, config.bias)
    shapes |= _linear_shapes(prefix, "k", d, kv_inner, config.bias)
    shapes |= _linear_shapes(prefix, "v", d, kv_inner, config.bias)
    shapes |= _linear_shapes(prefix, "o", inner, d, config.bias)
    return shapes


def _ffn_shapes(prefix: str, config: ModelConfig) -> Shapes:
    d, f = config.d_model, config.ffn_dim
    shapes = _linear_shapes(prefix, "up", d, f, config.bias)
    if config.activation == "swiglu":
        shapes |= _linear_shapes(prefix, "gate", d, f, config.bias)
    shapes |= _linear_shapes(prefix, "down", f, d, config.bias)
    return shapes


def _stack_shapes(stack: str, config: ModelConfig, n_layer: int, cross: bool) -> Shapes:
    shapes: Shapes = {}
    if config.positional == "learned":
        shapes[f"{stack}pos_emb"] = (config.n_ctx, config.d_model)
    for i in range(n_layer):
        p = f"{stack}blocks.{i}."
        shapes |= _norm_shapes(p + "attn_norm", config)
        shapes |= _attention_shapes(p + "attn", config)
        if i == 0 and config.positional == "relative":
            shapes[p + "attn.rel_bias"] = (config.relative_buckets, config.n_head)
        if cross:
            shapes |= _norm_shapes(p + "cross_attn_norm", config)
            shapes |= _attention_shapes(p + "cross_attn", config)
        shapes |= _norm_shapes(p + "ffn_norm", config)
        shapes |= _ffn_shapes(p + "ffn", config)
    if config.final_norm:
        shapes |= _norm_shapes(f"{stack}final_norm", config)
    return shapes


def param_shapes(config: ModelConfig) -> Shapes:
    """Name -> shape of every parameter array, in a fixed order, without allocating."""
    d = config.d_model
    shapes: Shapes = {"tok_emb": (config.vocab_size, d)}
    if config.type_vocab_size > 0:
        shapes["type_emb"] = (config.type_vocab_size, d)
    if config.embedding_norm:
        shapes |= _norm_shapes("emb_norm", config)
    if config.arch == "encoder-decoder":
        shapes |= _stack_shapes("encoder.", config, config.n_layer, cross=False)
        shapes |= _stack_shapes("decoder.", config, config.decoder_layers, cross=True)
    else:
        shapes |= _stack_shapes("", config, config.n_layer, cross=False)
    if config.pooler:
        shapes["pooler.w"] = (d, d)
        if config.bias:
            shapes["pooler.b"] = (d,)
    if not config.tie_embeddings and config.arch != "encoder":
        shapes["lm_head"] = (d, config.vocab_size)
    return shapes


_RESIDUAL_OUTPUTS = ("attn.w_o", "cross_attn.w_o", "ffn.w_down")


def init_params(config: ModelConfig, rng: np.random.Generator, dtype=np.float32) -> Params:
    """GPT-2 style random parameters for any config (names: see the module docstring)."""
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise ValueError(f"dtype={dtype} must be a floating type")
    params: Params = {}
    for name, shape in param_shapes(config).items():
        last = name.rsplit(".", 1)[-1]
        if last == "g":
            params[name] = np.ones(shape, dtype)
        elif last == "b" or last.startswith("b_"):
            params[name] = np.zeros(shape, dtype)
        else:
            std = 0.02
            if name.endswith(_RESIDUAL_OUTPUTS):
                n = config.decoder_layers if name.startswith("decoder.") else config.n_layer
                std /= math.sqrt(2 * n)
            params[name] = (rng.standard_normal(shape, dtype=np.float64) * std).astype(dtype)
    return params


# ----------------------------------------------------------------------------- KV cache

class KVCache:
    """Keys and values of every token seen so far, one preallocated buffer per layer.

    With a cache, each new token costs one row of K/V per layer instead of
    recomputing the whole prefix. Buffers hold the n_kv_head heads as computed
    (before grouped-query repetition), which is exactly what GQA/MQA save.
    The model calls `layer(i)` for each block and `advance(n)` once per forward.
    """

    def __init__(self, n_layer: int, max_len: int):
        if n_layer < 1 or max_len < 1:
            raise ValueError(f"n_layer={n_layer} and max_len={max_len} must be >= 1")
        self.max_len = max_len
        self.length = 0
        self.keys: list[np.ndarray | None] = [None] * n_layer    # (..., n_kv_head, max_len, d_head)
        self.values: list[np.ndarray | None] = [None] * n_layer

    @property
    def n_layer(self) -> int:
        return len(self.keys)

    @property
    def nbytes(self) -> int:
        """Bytes held by the K and V buffers allocated so far."""
        return sum(a.nbytes for a in self.keys + self.values if a is not None)

    def layer(self, i: int) -> LayerKVCache:
        if not 0 <= i < self.n_layer:
            raise ValueError(f"layer {i} is out of range for a cache of {self.n_layer} layers")
        return LayerKVCache(self, i)

    def update(self, i: int, k: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Write the new rows after the cached ones; return all keys and values so far."""
        n = k.shape[-2]
        end = self.length + n
        if end > self.max_len:
            raise ValueError(f"cache holds {self.max_len} positions; {self.length} used + {n} new")
        if self.keys[i] is None:
            shape = k.shape[:-2] + (self.max_len, k.shape[-1])
            self.keys[i] = np.zeros(shape, k.dtype)
            self.values[i] = np.zeros(v.shape[:-2] + (self.max_len, v.shape[-1]), v.dtype)
        self.keys[i][..., self.length:end, :] = k
        self.values[i][..., self.length:end, :] = v
        return self.keys[i][..., :end, :], self.values[i][..., :end, :]

    def advance(self, n: int) -> None:
        if self.length + n > self.max_len:
            raise ValueError(f"cache holds {self.max_len} positions; cannot advance {n} "
                             f"past {self.length}")
        self.length += n


@dataclass(frozen=True)
class LayerKVCache:
    """One layer's view of a KVCache: where new tokens start, and how to store them."""

    cache: KVCache
    index: int

    @property
    def offset(self) -> int:
        return self.cache.length

    def update(self, k: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.cache.update(self.index, k, v)


# ----------------------------------------------------------------------------- sublayers

def norm(x: np.ndarray, params: Params, prefix: str, config: ModelConfig) -> np.ndarray:
    """The config's norm (LayerNorm or RMSNorm) with the gain/shift stored under prefix."""
    g = params[prefix + ".g"]
    if config.norm == "rmsnorm":
        return rms_norm(x, g, eps=config.eps)
    return layer_norm(x, g, params.get(prefix + ".b"), eps=config.eps)


_ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "relu": relu,
    "gelu": gelu,
    "gelu_tanh": lambda x: gelu(x, approximate="tanh"),
}


def ffn(x: np.ndarray, params: Params, prefix: str, activation: str) -> np.ndarray:
    """Position-wise feed-forward: down(act(up(x))), or down(silu(gate(x)) * up(x)) for SwiGLU.

    x: (..., d) -> (..., d); the hidden layer is (..., d_ff).
    """
    p = params
    up = linear(x, p[prefix + ".w_up"], p.get(prefix + ".b_up"))            # (..., d_ff)
    if activation == "swiglu":
        gate = linear(x, p[prefix + ".w_gate"], p.get(prefix + ".b_gate"))  # (..., d_ff)
        h = silu(gate) * up
    elif activation in _ACTIVATIONS:
        h = _ACTIVATIONS[activation](up)
    else:
        raise ValueError(f"activation={activation!r} is not one of swiglu, "
                         f"{', '.join(_ACTIVATIONS)}")
    return linear(h, p[prefix + ".w_down"], p.get(prefix + ".b_down"))     # (..., d)


def _split_heads(x: np.ndarray, n_head: int) -> np.ndarray:
    # (..., n, n_head * d_head) -> (..., n_head, n, d_head)
    return np.swapaxes(x.reshape(*x.shape[:-1], n_head, x.shape[-1] // n_head), -2, -3)


def _merge_heads(x: np.ndarray) -> np.ndarray:
    # (..., n_head, n, d_head) -> (..., n, n_head * d_head)
    x = np.swapaxes(x, -2, -3)
    return x.reshape(*x.shape[:-2], x.shape[-2] * x.shape[-1])


def combine_masks(*masks: np.ndarray | None) -> np.ndarray | None:
    """Merge bool masks (True = may attend) and additive float biases into one mask."""
    masks = [np.asarray(m) for m in masks if m is not None]
    if not masks:
        return None
    bools = [m for m in masks if m.dtype == bool]
    floats = [m for m in masks if m.dtype != bool]
    allowed = None
    for m in bools:
        allowed = m if allowed is None else allowed & m
    if not floats:
        return allowed
    bias = floats[0]
    for m in floats[1:]:
        bias = bias + m
    return bias if allowed is None else np.where(allowed, bias, -np.inf).astype(bias.dtype)


def multi_head_attention(x: np.ndarray, params: Params, prefix: str, n_head: int,
                         n_kv_head: int | None = None, kv_input: np.ndarray | None = None,
                         attn_mask: np.ndarray | None = None, is_causal: bool = False,
                         positions: np.ndarray | None = None, rope_theta: float | None = None,
                         cache: LayerKVCache | None = None, return_weights: bool = False,
                         scale: float | None = None):
    """Multi-head (or grouped-query) attention with separate Q, K, V projections.

    x: (..., n_q, d)  kv_input: (..., n_k, d) for cross-attention, else x  ->  (..., n_q, d).
    n_kv_head < n_head shares each K/V head among n_head // n_kv_head query heads (GQA;
    1 is MQA). attn_mask (bool, True = may attend, or an additive float bias)
    broadcasts to (..., n_head, n_q, n_k). positions: absolute positions of the
    queries, used for RoPE when rope_theta is set (default: cache offset + arange).
    cache: a LayerKVCache; new keys/values are appended and attention runs over all.
    return_weights=True returns (output, weights (..., n_head, n_q, n_k)).
    """
    n_kv_head = n_head if n_kv_head is None else n_kv_head
    if n_kv_head < 1 or n_head % n_kv_head:
        raise ValueError(f"n_head={n_head} is not divisible by n_kv_head={n_kv_head}")
    if cache is not None and kv_input is not None:
        raise ValueError("the KV cache holds self-attention keys; pass kv_input=None with cache")
    p = params
    src = x if kv_input is None else kv_input
    q = _split_heads(linear(x, p[prefix + ".w_q"], p.get(prefix + ".b_q")), n_head)
    k = _split_heads(linear(src, p[prefix + ".w_k"], p.get(prefix + ".b_k")), n_kv_head)
    v = _split_heads(linear(src, p[prefix + ".w_v"], p.get(prefix + ".b_v")), n_kv_head)
    # q: (..., n_head, n_q, d_head)   k, v: (..., n_kv_head, n_k, d_head)
    if rope_theta is not None:
        if kv_input is not None:
            raise ValueError("RoPE applies to self-attention only; got kv_input with rope_theta")
        if positions is None:
            offset = cache.offset if cache is not None else 0
            positions = offset + np.arange(x.shape[-2])
        q = rope(q, positions, theta=rope_theta)
        k = rope(k, positions, theta=rope_theta)  # rotated before caching: positions are fixed
    if cache is not None:
        k, v = cache.update(k, v)                      # (..., n_kv_head, n_past + n_q, d_head)
    groups = n_head // n_kv_head
    if groups > 1:
        k = np.repeat(k, groups, axis=-3)              # (..., n_head, n_k, d_head)
        v = np.repeat(v, groups, axis=-3)
    if is_causal and q.shape[-2] > 1:   # a single newest query may see every key: no mask
        # aligned bottom-right: with a cache the new queries are the last n_q positions
        attn_mask = combine_masks(causal_mask(q.shape[-2], k.shape[-2]), attn_mask)
    # Without weights, attention takes the blocked route that never holds all scores at
    # once; for a single new query (cached decoding) the one score row is tiny and the
    # plain route has far less overhead per call, so take it and drop the weights.
    plain = return_weights or q.shape[-2] == 1
    res = scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, scale=scale,
                                       return_weights=plain)
    out, w = res if plain else (res, None)
    out = linear(_merge_heads(out), p[prefix + ".w_o"], p.get(prefix + ".b_o"))  # (..., n_q, d)
    return (out, w) if return_weights else out


def transformer_block(x: np.ndarray, params: Params, prefix: str, config: ModelConfig, *,
                      norm_position: str | None = None, attn_mask: np.ndarray | None = None,
                      is_causal: bool = False, positions: np.ndarray | None = None,
                      cache: LayerKVCache | None = None, memory: np.ndarray | None = None,
                      memory_mask: np.ndarray | None = None, return_weights: bool = False):
    """One block: self-attention, [cross-attention over `memory`], feed-forward.

    norm_position="pre" (GPT-2, LLaMA, T5):  x = x + sublayer(norm(x))
    norm_position="post" (original Transformer, BERT): x = norm(x + sublayer(x))
    The residual path of a pre-norm block is an identity, so gradients reach
    early layers unscaled; post-norm renormalises the stream after every sublayer.
    x: (..., n, d) -> (..., n, d). return_weights=True returns (x, {sublayer: weights}).
    """
    position = config.norm_position if norm_position is None else norm_position
    if position not in ("pre", "post"):
        raise ValueError(f"norm_position={position!r} must be 'pre' or 'post'")
    weights: dict[str, np.ndarray] = {}

    def residual(x, name, sublayer):
        if position == "pre":
            return x + sublayer(norm(x, params, f"{prefix}.{name}_norm", config))
        return norm(x + sublayer(x), params, f"{prefix}.{name}_norm", config)

    def self_attention(h):
        out = multi_head_attention(
            h, params, prefix + ".attn", config.n_head, config.kv_heads, attn_mask=attn_mask,
            is_causal=is_causal, positions=positions,
            rope_theta=config.rope_theta if config.positional == "rope" else None,
            cache=cache, return_weights=return_weights, scale=config.attn_scale)
        if return_weights:
            out, weights["attn"] = out
        return out

    def cross_attention(h):
        out = multi_head_attention(
            h, params, prefix + ".cross_attn", config.n_head, config.kv_heads, kv_input=memory,
            attn_mask=memory_mask, return_weights=return_weights, scale=config.attn_scale)
        if return_weights:
            out, weights["cross_attn"] = out
        return out

    x = residual(x, "attn", self_attention)
    if memory is not None:
        x = residual(x, "cross_attn", cross_attention)
    x = residual(x, "ffn", lambda h: ffn(h, params, prefix + ".ffn", config.activation))
    return (x, weights) if return_weights else x


# ----------------------------------------------------------------------------- positions

def relative_position_bucket(relative_position: np.ndarray, bidirectional: bool = True,
                             n_buckets: int = 32, max_distance: int = REL_MAX_DISTANCE
                             ) -> np.ndarray:
    """T5's bucket for key_pos - query_pos: exact for short distances, log-spaced beyond.

    Bidirectional (encoder) buckets split in half by direction; a causal decoder
    only sees the past, so all buckets go to distances >= 0 into the past.
    """
    rel = np.asarray(relative_position)
    bucket = np.zeros(rel.shape, dtype=np.int64)
    n = -rel                                                # > 0: key is in the past
    if bidirectional:
        n_buckets //= 2
        bucket += (n < 0) * n_buckets
        n = np.abs(n)
    else:
        n = np.maximum(n, 0)
    max_exact = n_buckets // 2
    # log of distances >= max_exact only; clip below so log never sees 0
    far = max_exact + (np.log(np.maximum(n, max_exact) / max_exact)
                       / math.log(max_distance / max_exact)
                       * (n_buckets - max_exact)).astype(np.int64)
    far = np.minimum(far, n_buckets - 1)
    return bucket + np.where(n < max_exact, n, far)


def relative_position_bias(table: np.ndarray, q_positions: np.ndarray, k_positions: np.ndarray,
                           bidirectional: bool) -> np.ndarray:
    """Additive attention bias from a (buckets, n_head) table.  -> (n_head, n_q, n_k)"""
    rel = k_positions[None, :] - q_positions[:, None]      # (n_q, n_k)
    buckets = relative_position_bucket(rel, bidirectional, n_buckets=table.shape[0])
    return np.moveaxis(table[buckets], -1, 0)             # (n_head, n_q, n_k)


def _alibi(config: ModelConfig, q_pos: np.ndarray, k_pos: np.ndarray, dtype) -> np.ndarray:
    # -slope_h * |i - j|; the queries are always the last len(q_pos) key positions, and
    # a decoder's causal mask removes the future half
    return alibi_bias(config.n_head, len(q_pos), len(k_pos), dtype=dtype)  # (n_head, n_q, n_k)


def _sinusoidal(positions: np.ndarray, d: int, dtype) -> np.ndarray:
    table = sinusoidal_positions(int(positions.max()) + 1, d)
    return np.asarray(table)[positions].astype(dtype, copy=False)


def _position_bias(params: Params, stack: str, config: ModelConfig, q_pos: np.ndarray,
                   k_pos: np.ndarray, bidirectional: bool, dtype) -> np.ndarray | None:
    # Position information that enters as an attention bias, computed once per stack
    # (T5 computes it in the first layer and shares it with every later layer).
    if config.positional == "relative":
        table = params[f"{stack}blocks.0.attn.rel_bias"]
        return relative_position_bias(table, q_pos, k_pos, bidirectional)
    if config.positional == "alibi":
        return _alibi(config, q_pos, k_pos, dtype)
    return None


# ----------------------------------------------------------------------------- models

@dataclass(frozen=True)
class ModelOutput:
    """What a forward pass can return besides its output.

    output: logits (..., n, vocab) for decoders, final hidden states (..., n, d) for encoders.
    hidden_states: the residual stream after the embedding and after each block
    (n_layer + 1 arrays, the last before any final norm), or None.
    attentions: per block, a dict {"attn": (..., n_head, n_q, n_k), "cross_attn": ...}, or None.
    """

    output: np.ndarray
    hidden_states: tuple[np.ndarray, ...] | None = None
    attentions: tuple[dict[str, np.ndarray], ...] | None = None


def _embed(ids: np.ndarray, params: Params, stack: str, config: ModelConfig,
           positions: np.ndarray, token_type_ids: np.ndarray | None = None) -> np.ndarray:
    x = embedding(ids, params["tok_emb"])                              # (..., n, d)
    if config.positional == "learned":
        if positions.max(initial=0) >= config.n_ctx:
            raise ValueError(f"position {int(positions.max())} is beyond n_ctx={config.n_ctx}")
        x = x + params[f"{stack}pos_emb"][positions]
    elif config.positional == "sinusoidal":
        x = x + _sinusoidal(positions, config.d_model, x.dtype)
    if "type_emb" in params:
        types = np.zeros_like(ids) if token_type_ids is None else token_type_ids
        x = x + embedding(types, params["type_emb"])
    if config.embedding_norm:
        x = norm(x, params, "emb_norm", config)
    return x


def _stack(x: np.ndarray, params: Params, stack: str, config: ModelConfig, n_layer: int, *,
           norm_position: str | None, attn_mask, is_causal: bool, positions, cache,
           memory=None, memory_mask=None, return_hidden=False, return_attention=False):
    hidden = [x] if return_hidden else None
    attentions = [] if return_attention else None
    for i in range(n_layer):
        x = transformer_block(
            x, params, f"{stack}blocks.{i}", config, norm_position=norm_position,
            attn_mask=attn_mask, is_causal=is_causal, positions=positions,
            cache=cache.layer(i) if cache is not None else None, memory=memory,
            memory_mask=memory_mask, return_weights=return_attention)
        if return_attention:
            x, w = x
            attentions.append(w)
        if hidden is not None:
            hidden.append(x)
    if config.final_norm:
        x = norm(x, params, f"{stack}final_norm", config)
    return x, hidden, attentions


def _head(x: np.ndarray, params: Params, config: ModelConfig) -> np.ndarray:
    if config.output_scale != 1.0:   # T5 rescales before its tied head
        x = x * x.dtype.type(config.output_scale)
    w = params["tok_emb"].T if config.tie_embeddings else params["lm_head"]   # (d, vocab)
    return x @ w                                                             # (..., n, vocab)


def _output(out, hidden, attentions, return_hidden, return_attention):
    if not (return_hidden or return_attention):
        return out
    return ModelOutput(out, tuple(hidden) if hidden is not None else None,
                       tuple(attentions) if attentions is not None else None)


def _padding_mask(padding_mask: np.ndarray | None) -> np.ndarray | None:
    # (..., n_k) True = real token  ->  (..., 1, 1, n_k), broadcast over heads and queries
    if padding_mask is None:
        return None
    m = np.asarray(padding_mask, dtype=bool)
    return m[..., None, None, :]


def decoder(ids: np.ndarray, params: Params, config: ModelConfig, cache: KVCache | None = None,
            *, norm_position: str | None = None, return_hidden: bool = False,
            return_attention: bool = False):
    """Causal language model: token ids (..., n) -> next-token logits (..., n, vocab).

    With a KVCache, `ids` are the new tokens only; they sit at positions
    cache.length, ..., and the cache advances by n. return_hidden/return_attention
    return a ModelOutput instead of the bare logits.
    """
    if config.arch != "decoder":
        raise ValueError(f"arch={config.arch!r}; decoder() runs decoder-only models "
                         "(use encoder_decoder for an encoder-decoder)")
    ids = np.asarray(ids)
    if ids.ndim < 1 or ids.shape[-1] < 1:
        raise ValueError(f"ids of shape {ids.shape} must have at least one token")
    if cache is not None and cache.n_layer != config.n_layer:
        raise ValueError(f"cache has {cache.n_layer} layers; config has {config.n_layer}")
    offset = cache.length if cache is not None else 0
    n = ids.shape[-1]
    q_pos = offset + np.arange(n)
    x = _embed(ids, params, "", config, q_pos)
    bias = _position_bias(params, "", config, q_pos, np.arange(offset + n), False, x.dtype)
    x, hidden, attn = _stack(x, params, "", config, config.n_layer, norm_position=norm_position,
                             attn_mask=bias, is_causal=True, positions=q_pos, cache=cache,
                             return_hidden=return_hidden, return_attention=return_attention)
    if cache is not None:
        cache.advance(n)
    return _output(_head(x, params, config), hidden, attn, return_hidden, return_attention)


def encoder(ids: np.ndarray, params: Params, config: ModelConfig, *,
            token_type_ids: np.ndarray | None = None, padding_mask: np.ndarray | None = None,
            norm_position: str | None = None, return_hidden: bool = False,
            return_attention: bool = False, stack: str | None = None):
    """Bidirectional encoder: ids (..., n) -> hidden states (..., n, d).

    padding_mask (..., n), True = real token, keeps padding out of every key set.
    stack: the parameter prefix; defaults to "" for an encoder and "encoder." for
    the encoder of an encoder-decoder.
    """
    if config.arch == "decoder":
        raise ValueError("arch='decoder' has no encoder; use decoder()")
    if stack is None:
        stack = "encoder." if config.arch == "encoder-decoder" else ""
    ids = np.asarray(ids)
    n = ids.shape[-1]
    pos = np.arange(n)
    x = _embed(ids, params, stack, config, pos, token_type_ids)
    bias = _position_bias(params, stack, config, pos, pos, True, x.dtype)
    mask = combine_masks(_padding_mask(padding_mask), bias)
    x, hidden, attn = _stack(x, params, stack, config, config.n_layer,
                             norm_position=norm_position, attn_mask=mask, is_causal=False,
                             positions=pos, cache=None, return_hidden=return_hidden,
                             return_attention=return_attention)
    return _output(x, hidden, attn, return_hidden, return_attention)


def pool(hidden: np.ndarray, params: Params) -> np.ndarray:
    """BERT's pooler: tanh(W h_[CLS] + b), from the first token.  (..., n, d) -> (..., d)"""
    return np.tanh(linear(hidden[..., 0, :], params["pooler.w"], params.get("pooler.b")))


def encoder_decoder(src_ids: np.ndarray, tgt_ids: np.ndarray, params: Params,
                    config: ModelConfig, *, src_padding_mask: np.ndarray | None = None,
                    norm_position: str | None = None, return_hidden: bool = False,
                    return_attention: bool = False):
    """Encode src_ids (..., n_src); decode tgt_ids (..., n_tgt) -> logits (..., n_tgt, vocab).

    The decoder's self-attention is causal; its cross-attention reads the final
    encoder states. With return_hidden/return_attention, the ModelOutput holds the
    decoder's hidden states and attention weights.
    """
    if config.arch != "encoder-decoder":
        raise ValueError(f"arch={config.arch!r}; encoder_decoder needs 'encoder-decoder'")
    memory = encoder(src_ids, params, config, padding_mask=src_padding_mask,
                     norm_position=norm_position)
    tgt_ids = np.asarray(tgt_ids)
    pos = np.arange(tgt_ids.shape[-1])
    x = _embed(tgt_ids, params, "decoder.", config, pos)
    bias = _position_bias(params, "decoder.", config, pos, pos, False, x.dtype)
    x, hidden, attn = _stack(x, params, "decoder.", config, config.decoder_layers,
                             norm_position=norm_position, attn_mask=bias, is_causal=True,
                             positions=pos, cache=None, memory=memory,
                             memory_mask=_padding_mask(src_padding_mask),
                             return_hidden=return_hidden, return_attention=return_attention)
    return _output(_head(x, params, config), hidden, attn, return_hidden, return_attention)
