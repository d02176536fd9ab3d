"""Transformer blocks and whole models as functions of a flat dict of named arrays.

Every flavour the tutor talks about is one `ModelConfig` away: GPT-2 (pre-norm,
learned positions, GELU, tied head), LLaMA (RMSNorm, RoPE, SwiGLU, no biases,
untied head, grouped-query attention), BERT (post-norm encoder with segment
embeddings, an embedding LayerNorm and a pooler) and T5 (encoder-decoder with
relative position buckets, cross-attention and bias-free RMSNorm). Today's
families are switches on the same block: Mistral (sliding-window attention with a
rolling KV cache), Qwen2 (q/k/v biases only), Qwen3 and OLMo 2 (QK-norm), OLMo 2
(norm after each sublayer, inside the residual), Gemma (a (1 + w) RMSNorm gain,
sqrt(d) embedding scale, GeGLU), Gemma 2 (sandwich norms, soft-capped attention
and logits, alternating local/global layers), GPT-NeoX (parallel attention and
FFN, partial rotary) and RoPE scaling (linear, dynamic NTK, YaRN, LongRoPE,
Llama 3). engine.hf loads all of them from Hugging Face checkpoints.

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
    {S}blocks.{i}.attn.w_o       (H*dh, d)         b_o; q/k/v biases follow qkv_bias, b_o out_bias
    {S}blocks.{i}.attn.q_norm.g  (dh,) or (H*dh,)  QK-norm gains per head, or over the whole
    {S}blocks.{i}.attn.k_norm.g  (dh,) or (Hkv*dh,)  projection (qk_norm="head" / "whole")
    {S}blocks.0.attn.rel_bias    (buckets, H)      relative positions: first block of a stack
    {S}blocks.{i}.cross_attn_norm.*, {S}blocks.{i}.cross_attn.*   decoder of an encoder-decoder
    {S}blocks.{i}.ffn_norm.*     (d,)
    {S}blocks.{i}.ffn.w_up       (d, d_ff)         b_up
    {S}blocks.{i}.ffn.w_gate     (d, d_ff)         b_gate; SwiGLU / GeGLU only
    {S}blocks.{i}.ffn.w_down     (d_ff, d)         b_down; FFN biases follow ffn_bias
    {S}blocks.{i}.attn_post_norm.*, {S}blocks.{i}.ffn_post_norm.*   norm_position="sandwich":
                                                   the norms on each sublayer's output
    {S}final_norm.*              (d,)              if final_norm
    pooler.w (d, d), pooler.b    (d,)              if pooler (BERT's [CLS] head)
    lm_head                      (d, vocab)        only when the head is untied (never a bias);
                                                   an encoder-only model has no head

{S} is "" for decoder-only and encoder-only models, and "encoder." / "decoder."
for the two stacks of an encoder-decoder. A norm has a gain `.g` and, for a
LayerNorm with bias=True, a shift `.b`; RMSNorm never has a shift. Linear biases
exist on every projection iff bias=True, unless qkv_bias / out_bias / ffn_bias say
otherwise. With norm_position "post_in_residual" (OLMo 2) the `attn_norm` and
`ffn_norm` gains normalise the sublayer outputs instead of their inputs.

Sublayers are looked up by kind: `ATTENTION[config.attention]` and
`FFN[config.ffn_of(layer)]` (see `mha_sublayer` and `dense_ffn_sublayer` for the call
signatures), so a new kind of attention or FFN plugs in without touching the block.
attention="mla" (DeepSeek's latent attention) stores the arrays engine.mla lists
under blocks.{i}.attn, and ffn="moe" the router and experts engine.moe lists under
blocks.{i}.ffn, except in config.dense_layers, which keep the dense FFN above.

Initialisation follows GPT-2: weights and embeddings ~ N(0, 0.02), residual
output projections (attn.w_o, cross_attn.w_o, ffn.w_down) scaled by
1/sqrt(2 * n_layer) so the residual stream's variance does not grow with depth,
biases zero, norm gains one (the stored gain is 1 - norm_offset, so the applied
gain is one).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from engine.attention import causal_mask, scaled_dot_product_attention
from engine.config import _CHOICES, GATED_ACTIVATIONS, ModelConfig
from engine.functional import embedding, gelu, layer_norm, linear, relu, rms_norm, silu
from engine.mla import mla_param_shapes, multi_head_latent_attention
from engine.moe import moe_ffn, moe_param_shapes
from engine.positional import (
    LENGTH_DEPENDENT_ROPE,
    alibi_bias,
    apply_rope,
    rope_angles,
    rope_inv_freq,
    rope_type,
    sinusoidal_positions,
)
from engine.sampling import sample

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
    if config.attention == "mla":
        return mla_param_shapes(prefix, config.d_model, config.mla)
    d, inner, kv_inner = config.d_model, config.n_head * config.head_dim, \
        config.kv_heads * config.head_dim
    qkv_bias = config.bias_of("qkv")
    shapes: Shapes = {}
    shapes |= _linear_shapes(prefix, "q", d, inner, qkv_bias)
    shapes |= _linear_shapes(prefix, "k", d, kv_inner, qkv_bias)
    shapes |= _linear_shapes(prefix, "v", d, kv_inner, qkv_bias)
    shapes |= _linear_shapes(prefix, "o", inner, d, config.bias_of("out"))
    if config.qk_norm == "head":
        shapes |= {f"{prefix}.q_norm.g": (config.head_dim,),
                   f"{prefix}.k_norm.g": (config.head_dim,)}
    elif config.qk_norm == "whole":
        shapes |= {f"{prefix}.q_norm.g": (inner,), f"{prefix}.k_norm.g": (kv_inner,)}
    return shapes


def _ffn_shapes(prefix: str, config: ModelConfig, layer: int | None = None) -> Shapes:
    if config.ffn_of(layer) == "moe":
        return moe_param_shapes(prefix, config.d_model, config.moe)
    d, f, bias = config.d_model, config.ffn_dim, config.bias_of("ffn")
    shapes = _linear_shapes(prefix, "up", d, f, bias)
    if config.activation in GATED_ACTIVATIONS:
        shapes |= _linear_shapes(prefix, "gate", d, f, bias)
    shapes |= _linear_shapes(prefix, "down", f, d, bias)
    return shapes


def _sublayer_norm_shapes(p: str, name: str, config: ModelConfig) -> Shapes:
    shapes = _norm_shapes(f"{p}{name}_norm", config)
    if config.norm_position == "sandwich":
        shapes |= _norm_shapes(f"{p}{name}_post_norm", config)
    return shapes


def _stack_shapes(stack: str, config: ModelConfig, n_layer: int, cross: bool) -> Shapes:
    shapes: Shapes = {}
    if config.positional == "learned":
        shapes[f"{stack}pos_emb"] = (config.n_ctx, config.d_model)
    for i in range(n_layer):
        p = f"{stack}blocks.{i}."
        shapes |= _sublayer_norm_shapes(p, "attn", config)
        shapes |= _attention_shapes(p + "attn", config)
        if i == 0 and config.positional == "relative":
            shapes[p + "attn.rel_bias"] = (config.relative_buckets, config.n_head)
        if cross:
            shapes |= _sublayer_norm_shapes(p, "cross_attn", config)
            shapes |= _attention_shapes(p + "cross_attn", config)
        shapes |= _sublayer_norm_shapes(p, "ffn", config)
        shapes |= _ffn_shapes(p + "ffn", config, i)
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


_RESIDUAL_OUTPUTS = ("attn.w_o", "cross_attn.w_o", "ffn.w_down", "ffn.experts.w_down",
                     "ffn.shared.w_down")


def init_params(config: ModelConfig, rng: np.random.Generator, dtype=np.float32) -> Params:
    """GPT-2 style random parameters for any config (names: see the module docstring)."""
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise ValueError(f"dtype={dtype} must be a floating type")
    params: Params = {}
    for name, shape in param_shapes(config).items():
        last = name.rsplit(".", 1)[-1]
        if last == "g":
            params[name] = np.full(shape, 1.0 - config.norm_offset, dtype)
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

    windows[i] = w makes layer i a rolling cache for sliding-window attention: a
    ring of w slots where position p lives in slot p % w, so the layer never holds
    more than the last w positions however long the sequence grows (Mistral:
    4,096 of a 32k context). Attention sums over keys, so their order in the ring
    does not matter; `append` reports each returned key's position for the mask.
    rope_inv_freq records the RoPE frequencies the cached keys were rotated with.
    """

    def __init__(self, n_layer: int, max_len: int, windows=None):
        if n_layer < 1 or max_len < 1:
            raise ValueError(f"n_layer={n_layer} and max_len={max_len} must be >= 1")
        windows = (None,) * n_layer if windows is None else tuple(windows)
        if len(windows) != n_layer or any(w is not None and w < 1 for w in windows):
            raise ValueError(f"windows={windows} must give n_layer={n_layer} entries, "
                             "each None or >= 1")
        self.max_len = max_len
        self.length = 0
        self.windows = windows
        self.rope_inv_freq: np.ndarray | None = None
        self.keys: list[np.ndarray | None] = [None] * n_layer    # (..., n_kv_head, slots, d_head)
        self.values: list[np.ndarray | None] = [None] * n_layer

    @classmethod
    def for_config(cls, config: ModelConfig, max_len: int) -> KVCache:
        """A cache with a rolling buffer for every windowed layer of `config`."""
        return cls(config.n_layer, max_len, [config.window(i) for i in range(config.n_layer)])

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

    def slots(self, i: int) -> int:
        """Positions layer i can hold: max_len, or its window when that is smaller."""
        w = self.windows[i]
        return self.max_len if w is None else min(w, self.max_len)

    def update(self, i: int, k: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Write the new rows after the cached ones; return all keys and values so far."""
        keys, values, _ = self.append(i, k, v)
        return keys, values

    def append(self, i: int, k: np.ndarray, v: np.ndarray):
        """Store the new rows; -> (keys, values, positions) to attend over.

        positions (n_keys,) holds the position of each returned key row, or is None
        when the keys are simply positions 0 .. n_keys-1 in order (a full buffer).
        """
        n = k.shape[-2]
        start, end = self.length, self.length + n
        if end > self.max_len:
            raise ValueError(f"cache holds {self.max_len} positions; {self.length} used + {n} new")
        w = self.slots(i)
        if self.keys[i] is None:
            self.keys[i] = np.zeros(k.shape[:-2] + (w, k.shape[-1]), k.dtype)
            self.values[i] = np.zeros(v.shape[:-2] + (w, v.shape[-1]), v.dtype)
        keys, values = self.keys[i], self.values[i]
        if w == self.max_len:                          # full buffer: append in order
            keys[..., start:end, :] = k
            values[..., start:end, :] = v
            return keys[..., :end, :], values[..., :end, :], None
        # rolling buffer: the ring holds positions max(0, start - w) .. start - 1
        held = np.arange(max(0, start - w), start)
        if n == 1:   # decoding: overwrite the oldest slot; all min(end, w) keys are in the window
            keys[..., start % w, :] = k[..., 0, :]
            values[..., start % w, :] = v[..., 0, :]
            m = min(end, w)
            slot = np.arange(m)
            return keys[..., :m, :], values[..., :m, :], slot + w * ((end - 1 - slot) // w)
        k_all = np.concatenate([keys[..., held % w, :], k], axis=-2)   # (..., held + n, d)
        v_all = np.concatenate([values[..., held % w, :], v], axis=-2)
        keep = np.arange(max(start, end - w), end)    # the newest rows the ring can keep
        keys[..., keep % w, :] = k[..., keep - start, :]
        values[..., keep % w, :] = v[..., keep - start, :]
        return k_all, v_all, np.arange(start - len(held), end)

    def advance(self, n: int) -> None:
        if self.length + n > self.max_len:
            raise ValueError(f"cache holds {self.max_len} positions; cannot advance {n} "
                             f"past {self.length}")
        self.length += n

    def check_fits(self, config: ModelConfig) -> None:
        """Refuse a cache whose layers, or rolling windows, cannot serve `config`."""
        if self.n_layer != config.n_layer:
            raise ValueError(f"cache has {self.n_layer} layers; config has {config.n_layer}")
        for i, w in enumerate(self.windows):
            need = config.window(i)
            if w is not None and w < self.max_len and (need is None or w < need):
                raise ValueError(f"cache layer {i} keeps {w} positions; the model's layer {i} "
                                 f"attends to {need or 'all'}")


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

    def append(self, k: np.ndarray, v: np.ndarray):
        """-> (keys, values, positions or None); see KVCache.append."""
        return self.cache.append(self.index, k, v)


# ----------------------------------------------------------------------------- sublayers

def norm(x: np.ndarray, params: Params, prefix: str, config: ModelConfig) -> np.ndarray:
    """The config's norm (LayerNorm or RMSNorm) with the gain/shift stored under prefix.

    The applied gain is norm_offset + g: Gemma stores w and scales by (1 + w).
    """
    g = params[prefix + ".g"]
    if config.norm_offset:
        g = g + g.dtype.type(config.norm_offset)
    if config.norm == "rmsnorm":
        return rms_norm(x, g, eps=config.eps)
    return layer_norm(x, g, params.get(prefix + ".b"), eps=config.eps)


_ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "relu": relu,
    "gelu": gelu,
    "gelu_tanh": lambda x: gelu(x, approximate="tanh"),
}
# gated FFNs: activation of the gate times the up projection
_GATES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "swiglu": silu,
    "geglu": lambda x: gelu(x, approximate="tanh"),
}


def ffn(x: np.ndarray, params: Params, prefix: str, activation: str) -> np.ndarray:
    """Position-wise feed-forward: down(act(up(x))), or down(act(gate(x)) * up(x)) when gated.

    Gated: SwiGLU (act = SiLU, LLaMA) and GeGLU (act = tanh GELU, Gemma).
    x: (..., d) -> (..., d); the hidden layer is (..., d_ff).
    """
    p = params
    up = linear(x, p[prefix + ".w_up"], p.get(prefix + ".b_up"))            # (..., d_ff)
    if activation in _GATES:
        gate = linear(x, p[prefix + ".w_gate"], p.get(prefix + ".b_gate"))  # (..., d_ff)
        h = _GATES[activation](gate) * up
    elif activation in _ACTIVATIONS:
        h = _ACTIVATIONS[activation](up)
    else:
        raise ValueError(f"activation={activation!r} is not one of "
                         f"{', '.join([*_GATES, *_ACTIVATIONS])}")
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


def causal_window_mask(n_q: int, n_k: int, window: int | None = None,
                       key_positions: np.ndarray | None = None,
                       query_start: int | None = None) -> np.ndarray | None:
    """Which keys each query may see: earlier ones, and only the last `window` of them.

    -> (n_q, n_k) bool, or None when every query sees every key. The queries are
    positions query_start .. query_start + n_q - 1 (default: the last n_q of the
    keys); the keys are key_positions (default 0 .. n_k - 1, as in a full cache).
    A window of w lets position i see i - w + 1 .. i, itself included (Mistral).
    """
    if key_positions is None and window is None:
        # a single newest query may see every key
        return None if n_q == 1 and (query_start is None or query_start == n_k - 1) \
            else causal_mask(n_q, n_k, offset=None if query_start is None else query_start)
    k_pos = np.arange(n_k) if key_positions is None else np.asarray(key_positions)
    start = n_k - n_q if query_start is None else query_start
    dist = (start + np.arange(n_q))[:, None] - k_pos[None, :]                  # (n_q, n_k)
    allowed = dist >= 0
    if window is not None:
        allowed &= dist < window
    return None if allowed.all() else allowed


def multi_head_attention(x: np.ndarray, params: Params, prefix: str, n_head: int,
                         n_kv_head: int | None = None, kv_input: np.ndarray | None = None,
                         attn_mask: np.ndarray | None = None, is_causal: bool = False,
                         positions: np.ndarray | None = None, rope_theta: float | None = None,
                         cache: LayerKVCache | None = None, return_weights: bool = False,
                         scale: float | None = None, *,
                         rotary: tuple[np.ndarray, np.ndarray] | None = None,
                         window: int | None = None, qk_norm: str | None = None,
                         qk_norm_eps: float = 1e-6, softcap: float | None = None):
    """Multi-head (or grouped-query) attention with separate Q, K, V projections.

    x: (..., n_q, d)  kv_input: (..., n_k, d) for cross-attention, else x  ->  (..., n_q, d).
    n_kv_head < n_head shares each K/V head among n_head // n_kv_head query heads (GQA;
    1 is MQA). attn_mask (bool, True = may attend, or an additive float bias)
    broadcasts to (..., n_head, n_q, n_k). positions: absolute positions of the
    queries, used for RoPE when rope_theta is set (default: cache offset + arange).
    rotary: precomputed RoPE (cos, sin) tables (n_q, r) for the queries' positions
    (see engine.model.rotary_tables); r < d_head rotates only the first r dims.
    window: with is_causal, each query sees only the `window` most recent positions.
    qk_norm: RMSNorm (gains `{prefix}.q_norm.g`, `.k_norm.g`, eps qk_norm_eps) on q and
    k before RoPE: "head" normalises each head's vector (Qwen3), "whole" the whole
    projection (OLMo 2). softcap: scores -> softcap * tanh(scores / softcap) (Gemma 2).
    cache: a LayerKVCache; new keys/values are appended and attention runs over all.
    return_weights=True returns (output, weights (..., n_head, n_q, n_k)).
    """
    n_kv_head = n_head if n_kv_head is None else n_kv_head
    if n_kv_head < 1 or n_head % n_kv_head:
        raise ValueError(f"n_head={n_head} is not divisible by n_kv_head={n_kv_head}")
    if cache is not None and kv_input is not None:
        raise ValueError("the KV cache holds self-attention keys; pass kv_input=None with cache")
    if window is not None and not is_causal:
        raise ValueError("window needs is_causal=True (sliding-window attention is causal)")
    p = params
    src = x if kv_input is None else kv_input
    q = linear(x, p[prefix + ".w_q"], p.get(prefix + ".b_q"))          # (..., n_q, H*dh)
    k = linear(src, p[prefix + ".w_k"], p.get(prefix + ".b_k"))        # (..., n_k, Hkv*dh)
    v = linear(src, p[prefix + ".w_v"], p.get(prefix + ".b_v"))
    if qk_norm == "whole":
        q = rms_norm(q, p[prefix + ".q_norm.g"], eps=qk_norm_eps)
        k = rms_norm(k, p[prefix + ".k_norm.g"], eps=qk_norm_eps)
    q, k, v = _split_heads(q, n_head), _split_heads(k, n_kv_head), _split_heads(v, n_kv_head)
    # q: (..., n_head, n_q, d_head)   k, v: (..., n_kv_head, n_k, d_head)
    if qk_norm == "head":
        q = rms_norm(q, p[prefix + ".q_norm.g"], eps=qk_norm_eps)
        k = rms_norm(k, p[prefix + ".k_norm.g"], eps=qk_norm_eps)
    elif qk_norm not in (None, "whole"):
        raise ValueError(f"qk_norm={qk_norm!r} must be None, 'head' or 'whole'")
    if rope_theta is not None or rotary is not None:
        if kv_input is not None:
            raise ValueError("RoPE applies to self-attention only; got kv_input with rope")
        if rotary is None:
            if positions is None:
                offset = cache.offset if cache is not None else 0
                positions = offset + np.arange(x.shape[-2])
            cos, sin = rope_angles(positions, q.shape[-1], rope_theta)
            rotary = cos.astype(q.dtype, copy=False), sin.astype(q.dtype, copy=False)
        q = apply_rope(q, *rotary)
        k = apply_rope(k, *rotary)   # rotated before caching: positions are fixed
    k_pos, q_start = None, None
    if cache is not None:
        q_start = cache.offset
        k, v, k_pos = cache.append(k, v)   # (..., n_kv_head, n_keys, d_head)
    groups = n_head // n_kv_head
    if groups > 1:
        k = np.repeat(k, groups, axis=-3)              # (..., n_head, n_k, d_head)
        v = np.repeat(v, groups, axis=-3)
    if is_causal:
        # aligned bottom-right: with a cache the new queries are the last n_q positions
        attn_mask = combine_masks(causal_window_mask(q.shape[-2], k.shape[-2], window, k_pos,
                                                     q_start), attn_mask)
    # Without weights, attention takes the blocked route that never holds all scores at
    # once; for a single new query (cached decoding) the one score row is tiny and the
    # plain route has far less overhead per call, so take it and drop the weights.
    plain = return_weights or q.shape[-2] == 1
    res = scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, scale=scale,
                                       return_weights=plain, softcap=softcap)
    out, w = res if plain else (res, None)
    out = linear(_merge_heads(out), p[prefix + ".w_o"], p.get(prefix + ".b_o"))  # (..., n_q, d)
    return (out, w) if return_weights else out


def _query_rotary(h: np.ndarray, config: ModelConfig, cache: LayerKVCache | None,
                  positions: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    # RoPE tables for the queries in h: `positions`, or the cache offset + 0 .. n-1
    offset = cache.offset if cache is not None else 0
    q_pos = offset + np.arange(h.shape[-2]) if positions is None else positions
    return rotary_tables(config, q_pos, offset + h.shape[-2], h.dtype)


def mha_sublayer(h: np.ndarray, params: Params, prefix: str, config: ModelConfig, *,
                 window: int | None = None, attn_mask: np.ndarray | None = None,
                 is_causal: bool = False, positions: np.ndarray | None = None,
                 rotary: tuple[np.ndarray, np.ndarray] | None = None,
                 cache: LayerKVCache | None = None, kv_input: np.ndarray | None = None,
                 return_weights: bool = False):
    """config.attention == "mha": multi_head_attention with the config's switches.

    This is the call every ATTENTION entry answers: h (..., n, d) is the normed
    input, prefix the layer's attention ("blocks.3.attn"); -> (..., n, d), plus
    the weights when return_weights.
    """
    if rotary is None and config.positional == "rope" and kv_input is None:
        rotary = _query_rotary(h, config, cache, positions)
    return multi_head_attention(
        h, params, prefix, config.n_head, config.kv_heads, kv_input=kv_input,
        attn_mask=attn_mask, is_causal=is_causal, positions=positions, cache=cache,
        return_weights=return_weights, scale=config.attn_scale,
        rotary=rotary if kv_input is None else None, window=window, qk_norm=config.qk_norm,
        qk_norm_eps=config.eps, softcap=config.attn_softcap)


def dense_ffn_sublayer(h: np.ndarray, params: Params, prefix: str,
                       config: ModelConfig) -> np.ndarray:
    """config.ffn == "dense": the position-wise FFN.  h (..., d) normed input -> (..., d)."""
    return ffn(h, params, prefix, config.activation)


def mla_sublayer(h: np.ndarray, params: Params, prefix: str, config: ModelConfig, *,
                 window: int | None = None, attn_mask: np.ndarray | None = None,
                 is_causal: bool = False, positions: np.ndarray | None = None,
                 rotary: tuple[np.ndarray, np.ndarray] | None = None,
                 cache: LayerKVCache | None = None, kv_input: np.ndarray | None = None,
                 return_weights: bool = False):
    """config.attention == "mla": multi-head latent attention (engine.mla).

    The layer's cache holds c_kv as its keys and the shared rotary key as its values.
    """
    if kv_input is not None or window is not None:
        raise ValueError("attention='mla' is causal self-attention without windows")
    if rotary is None:
        rotary = _query_rotary(h, config, cache, positions)
    return multi_head_latent_attention(h, params, prefix, config.mla, positions=positions,
                                       cache=cache, attn_mask=attn_mask, is_causal=is_causal,
                                       rotary=rotary, return_weights=return_weights)


def moe_ffn_sublayer(h: np.ndarray, params: Params, prefix: str,
                     config: ModelConfig) -> np.ndarray:
    """config.ffn == "moe": routed SwiGLU experts (engine.moe).  h (..., d) -> (..., d)."""
    return moe_ffn(h, params, prefix, config.moe)


# The sublayer implementations a block can use, by config.attention and config.ffn.
ATTENTION: dict[str, Callable[..., np.ndarray]] = {"mha": mha_sublayer, "mla": mla_sublayer}
FFN: dict[str, Callable[..., np.ndarray]] = {"dense": dense_ffn_sublayer,
                                             "moe": moe_ffn_sublayer}


def transformer_block(x: np.ndarray, params: Params, prefix: str, config: ModelConfig, *,
                      norm_position: str | None = None, attn_mask: np.ndarray | None = None,
                      is_causal: bool = False, positions: np.ndarray | None = None,
                      cache: LayerKVCache | None = None, memory: np.ndarray | None = None,
                      memory_mask: np.ndarray | None = None, return_weights: bool = False,
                      layer: int | None = None,
                      rotary: tuple[np.ndarray, np.ndarray] | None = None):
    """One block: self-attention, [cross-attention over `memory`], feed-forward.

    norm_position="pre" (GPT-2, LLaMA, T5):  x = x + sublayer(norm(x))
    norm_position="post" (original Transformer, BERT): x = norm(x + sublayer(x))
    norm_position="post_in_residual" (OLMo 2):  x = x + norm(sublayer(x))
    norm_position="sandwich" (Gemma 2):  x = x + post_norm(sublayer(norm(x)))
    The residual path of a pre-norm block is an identity, so gradients reach
    early layers unscaled; post-norm renormalises the stream after every sublayer.
    OLMo 2 keeps the identity path but bounds what each sublayer adds to it.
    config.parallel_residual (GPT-NeoX): x = x + attn(norm1(x)) + ffn(norm2(x)), both
    sublayers reading the same input, so they can run side by side.
    layer: the block's index in its stack, which picks its attention window
    (config.window(layer)); needed when the config has windows. rotary: the RoPE
    tables of the positions (computed from the config when None).
    x: (..., n, d) -> (..., n, d). return_weights=True returns (x, {sublayer: weights}).
    """
    position = config.norm_position if norm_position is None else norm_position
    if position not in _CHOICES["norm_position"]:
        raise ValueError(f"norm_position={position!r} must be one of "
                         f"{', '.join(_CHOICES['norm_position'])}")
    if layer is None and config.has_windows:
        raise ValueError("this config has attention windows: pass layer= (the block index)")
    window = config.window(layer) if layer is not None else None
    weights: dict[str, np.ndarray] = {}

    def normed(h, name):
        return norm(h, params, f"{prefix}.{name}", config)

    def residual(x, name, sublayer):
        if position == "pre":
            return x + sublayer(normed(x, name + "_norm"))
        if position == "post":
            return normed(x + sublayer(x), name + "_norm")
        if position == "post_in_residual":
            return x + normed(sublayer(x), name + "_norm")
        return x + normed(sublayer(normed(x, name + "_norm")), name + "_post_norm")

    attention = ATTENTION[config.attention]

    def self_attention(h):
        out = attention(h, params, prefix + ".attn", config, window=window,
                        attn_mask=attn_mask, is_causal=is_causal, positions=positions,
                        rotary=rotary, cache=cache, return_weights=return_weights)
        if return_weights:
            out, weights["attn"] = out
        return out

    def cross_attention(h):
        out = attention(h, params, prefix + ".cross_attn", config, kv_input=memory,
                        attn_mask=memory_mask, return_weights=return_weights)
        if return_weights:
            out, weights["cross_attn"] = out
        return out

    def feed_forward(h):
        return FFN[config.ffn_of(layer)](h, params, prefix + ".ffn", config)

    if config.parallel_residual:
        if position != "pre" or memory is not None:
            raise ValueError("parallel_residual needs norm_position='pre' and no cross-attention")
        x = x + self_attention(normed(x, "attn_norm")) + feed_forward(normed(x, "ffn_norm"))
        return (x, weights) if return_weights else x
    x = residual(x, "attn", self_attention)
    if memory is not None:
        x = residual(x, "cross_attn", cross_attention)
    x = residual(x, "ffn", feed_forward)
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


def rope_frequencies(config: ModelConfig, seq_len: int) -> tuple[np.ndarray, float]:
    """The config's RoPE inverse frequencies (rotary_dims/2,) and attention factor at a length.

    Plain RoPE and most scalings do not depend on seq_len; dynamic NTK and LongRoPE
    do (see engine.positional.rope_inv_freq). n_ctx plays max_position_embeddings.
    """
    return rope_inv_freq(config.rotary_dims, config.rope_theta, config.rope_scaling_dict,
                         seq_len=seq_len, max_position_embeddings=config.n_ctx)


def rotary_tables(config: ModelConfig, positions: np.ndarray, seq_len: int,
                  dtype=np.float64) -> tuple[np.ndarray, np.ndarray]:
    """RoPE (cos, sin) for the given positions, (..., n, rotary_dims) each, in `dtype`.

    Angles are taken in float64 and rounded once to the model dtype; the
    attention factor (YaRN, LongRoPE) is folded into both tables.
    """
    inv_freq, factor = rope_frequencies(config, seq_len)
    cos, sin = rope_angles(positions, config.rotary_dims, inv_freq=inv_freq,
                           attention_factor=factor)
    return cos.astype(dtype, copy=False), sin.astype(dtype, copy=False)


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
    if config.embedding_scale != 1.0:   # Gemma: sqrt(d), rounded to the model dtype first
        x = x * x.dtype.type(config.embedding_scale)
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
           memory=None, memory_mask=None, return_hidden=False, return_attention=False,
           rotary=None):
    hidden = [x] if return_hidden else None
    attentions = [] if return_attention else None
    for i in range(n_layer):
        x = transformer_block(
            x, params, f"{stack}blocks.{i}", config, norm_position=norm_position,
            attn_mask=attn_mask, is_causal=is_causal, positions=positions,
            cache=cache.layer(i) if cache is not None else None, memory=memory,
            memory_mask=memory_mask, return_weights=return_attention, layer=i, rotary=rotary)
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
    logits = x @ w                                                           # (..., n, vocab)
    if config.final_softcap is not None:   # Gemma 2: cap * tanh(logits / cap)
        cap = logits.dtype.type(config.final_softcap)
        logits = np.tanh(logits / cap) * cap
    return logits


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
    return a ModelOutput instead of the bare logits. RoPE whose frequencies move with
    the length (dynamic NTK, LongRoPE) leaves cached keys rotated by the old ones; a
    ValueError says so rather than mixing the two (generate() recomputes instead).
    """
    if config.arch != "decoder":
        raise ValueError(f"arch={config.arch!r}; decoder() runs decoder-only models "
                         "(use encoder_decoder for an encoder-decoder)")
    ids = np.asarray(ids)
    if ids.ndim < 1 or ids.shape[-1] < 1:
        raise ValueError(f"ids of shape {ids.shape} must have at least one token")
    if cache is not None:
        cache.check_fits(config)
    offset = cache.length if cache is not None else 0
    n = ids.shape[-1]
    q_pos = offset + np.arange(n)
    x = _embed(ids, params, "", config, q_pos)
    rotary, inv_freq = None, None
    if config.positional == "rope":
        inv_freq = rope_frequencies(config, offset + n)[0]
        if cache is not None and cache.length and cache.rope_inv_freq is not None \
                and not np.array_equal(cache.rope_inv_freq, inv_freq):
            raise ValueError(f"rope_type={rope_type(config.rope_scaling_dict)!r} changes the "
                             f"RoPE frequencies at length {offset + n}: the cached keys were "
                             "rotated with others; recompute the prefix without the cache")
        rotary = rotary_tables(config, q_pos, offset + n, x.dtype)
    bias = _position_bias(params, "", config, q_pos, np.arange(offset + n), False, x.dtype)
    x, hidden, attn = _stack(x, params, "", config, config.n_layer, norm_position=norm_position,
                             attn_mask=bias, is_causal=True, positions=q_pos, cache=cache,
                             return_hidden=return_hidden, return_attention=return_attention,
                             rotary=rotary)
    if cache is not None:
        cache.advance(n)
        cache.rope_inv_freq = inv_freq
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


# ----------------------------------------------------------------------------- generation

def rope_cache_still_valid(config: ModelConfig, cache: KVCache, new_length: int) -> bool:
    """Whether keys cached so far were rotated with the frequencies used at new_length.

    Always true except for length-dependent RoPE (dynamic NTK past n_ctx, LongRoPE
    when it switches from its short to its long factors).
    """
    if config.positional != "rope" or cache.rope_inv_freq is None \
            or rope_type(config.rope_scaling_dict) not in LENGTH_DEPENDENT_ROPE:
        return True
    return np.array_equal(rope_frequencies(config, new_length)[0], cache.rope_inv_freq)


def generate(ids: np.ndarray, params: Params, config: ModelConfig, n_new: int, *,
             use_cache: bool = True, temperature: float = 1.0, top_k: int | None = None,
             top_p: float | None = None, rng: np.random.Generator | None = None) -> np.ndarray:
    """Append n_new tokens to ids (..., n); returns only the new ones (..., n_new).

    Greedy (argmax) when temperature=0, or when rng is None and neither top_k nor
    top_p is set; otherwise sampled (engine.sampling.sample), which needs an rng.
    use_cache=False recomputes the whole sequence every step: the same tokens, much
    slower. With a cache, a rolling buffer serves each windowed layer, and when
    length-dependent RoPE moves its frequencies the prefix is recomputed, so cached
    and uncached decoding always agree. (transformers keeps the stale keys for
    dynamic NTK, so its cached generation differs from its uncached one there.)
    """
    ids = np.asarray(ids)
    if ids.ndim < 1 or ids.shape[-1] < 1:
        raise ValueError(f"ids of shape {ids.shape} must hold at least one token")
    if n_new < 0:
        raise ValueError(f"n_new={n_new} must be >= 0")
    total = ids.shape[-1] + n_new
    if config.positional == "learned" and total > config.n_ctx:
        raise ValueError(f"{ids.shape[-1]} prompt + {n_new} new tokens exceed the "
                         f"n_ctx={config.n_ctx} learned positions")
    is_greedy = temperature == 0 or (rng is None and top_k is None and top_p is None)
    if not is_greedy and rng is None:
        raise ValueError("sampling with top_k or top_p needs an rng")
    cache, pending = None, ids              # pending: tokens the cache has not seen yet
    new = np.zeros(ids.shape[:-1] + (n_new,), dtype=np.int64)
    for t in range(n_new):
        if not use_cache:
            logits = decoder(ids, params, config)[..., -1, :]                    # (..., vocab)
        else:
            if cache is not None and not rope_cache_still_valid(
                    config, cache, cache.length + pending.shape[-1]):
                cache = None                # stale rotations: start again from the prefix
            if cache is None:
                cache, pending = KVCache.for_config(config, total), ids
            logits = decoder(pending, params, config, cache=cache)[..., -1, :]
        token = (np.argmax(logits, axis=-1) if is_greedy
                 else sample(logits, rng, temperature, top_k, top_p).token)
        new[..., t] = token
        ids = np.concatenate([ids, token[..., None]], axis=-1)
        pending = token[..., None]
    return new


class CausalLM:
    """A decoder-only language model: `model(ids)` gives logits, `model.generate` continues.

    Holds a ModelConfig and its parameters (see the module docstring for names);
    engine.hf.from_hf builds one from a Hugging Face checkpoint.
    """

    def __init__(self, config: ModelConfig, params: Params):
        if config.arch != "decoder":
            raise ValueError(f"arch={config.arch!r}: CausalLM runs decoder-only models")
        shapes = param_shapes(config)
        missing = sorted(set(shapes) - set(params))
        extra = sorted(set(params) - set(shapes))
        wrong = [f"{k} {params[k].shape} != {s}" for k, s in shapes.items()
                 if k in params and params[k].shape != s]
        if missing or extra or wrong:
            raise ValueError("; ".join(
                ([f"missing parameters: {', '.join(missing)}"] if missing else [])
                + ([f"unexpected parameters: {', '.join(extra)}"] if extra else [])
                + ([f"wrong shapes: {', '.join(wrong)}"] if wrong else [])))
        self.config = config
        self.params = params

    @property
    def dtype(self) -> np.dtype:
        return self.params["tok_emb"].dtype

    def __call__(self, ids: np.ndarray, cache: KVCache | None = None, **kwargs):
        """Logits (..., n, vocab) for ids (..., n); kwargs as for engine.model.decoder."""
        return decoder(ids, self.params, self.config, cache=cache, **kwargs)

    def new_cache(self, max_len: int | None = None) -> KVCache:
        """A KV cache for max_len positions (default n_ctx), rolling where layers have windows."""
        return KVCache.for_config(self.config, max_len or self.config.n_ctx)

    def generate(self, ids: np.ndarray, n_new: int, use_cache: bool = True, **sampling):
        """The n_new tokens after ids (..., n): greedy by default (see engine.model.generate)."""
        return generate(ids, self.params, self.config, n_new, use_cache=use_cache, **sampling)
