"""Multi-head latent attention (MLA), DeepSeek-V2/V3's way to shrink the KV cache.

Instead of caching H keys and H values per token, MLA caches one compressed
latent c_kv = RMSNorm(x W_dkv) of width r = kv_lora_rank, from which every head's
key and value are re-expanded: k_nope = c_kv W_uk, v = c_kv W_uv. RoPE cannot
pass through that compression (a rotation between c_kv and W_uk would depend on
the position), so position goes into a separate, small "decoupled" part:
a query part q_rope per head and one key part k_rope = RoPE(x W_kr) shared by
all heads. Per token and layer the cache holds r + d_rope numbers, against
2 H d_head for multi-head attention.

    c_q    = RMSNorm(x W_dq)                (n, r_q)   or x itself if q_lora_rank is None
    q_nope = c_q W_uq                       (H, n, d_nope)
    q_rope = RoPE(c_q W_qr)                 (H, n, d_rope)
    c_kv   = RMSNorm(x W_dkv)               (n, r)        cached
    k_rope = RoPE(x W_kr)                   (n, d_rope)   cached, shared by the heads
    score  = (q_nope . k_nope + q_rope . k_rope) * scale,   scale = mscale^2 / sqrt(d_nope + d_rope)
    out    = softmax(score) v, heads merged, then W_o

Weight absorption: q_nope . (c_kv W_uk,h) = (q_nope W_uk,h^T) . c_kv, so W_uk folds
into the query and attention runs directly on the cached latents, one shared
key/value "head" of width r + d_rope (like MQA). Likewise W_uv folds into W_o.
`absorb=True` takes that route; it gives the same output.

RoPE layout: DeepSeek's checkpoints pair dimensions (0, 1), (2, 3), ...
(rope_interleave=True). As transformers does, the pairs are first gathered into
the rotate-half layout [even dims | odd dims] and then rotated; queries and keys
get the same permutation, so scores are unchanged by it. Scaled RoPE (YaRN, as
long-context DeepSeek checkpoints use) arrives as precomputed rotary tables from
the model (engine.model.rotary_tables); its mscale^2 enters the softmax scale
(mla_softmax_scale).

Parameter names (weights stored (in, out)); c = r_q if q_lora_rank else d
------------------------------------------------------------------------
    {p}.w_dq (d, r_q), b_dq       query compression, if q_lora_rank (b_dq if bias)
    {p}.q_norm.g (r_q,)           its RMSNorm
    {p}.w_uq (c, H*d_nope)        query, content part
    {p}.w_qr (c, H*d_rope)        query, rotary part
    {p}.w_dkv (d, r), b_dkv       KV compression to the cached latent
    {p}.kv_norm.g (r,)            its RMSNorm
    {p}.w_kr (d, d_rope), b_kr    the shared rotary key
    {p}.w_uk (r, H*d_nope)        latent -> per-head keys (content part)
    {p}.w_uv (r, H*d_v)           latent -> per-head values
    {p}.w_o (H*d_v, d), b_o       output projection
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from engine.attention import causal_mask, scaled_dot_product_attention
from engine.functional import linear, rms_norm
from engine.positional import apply_rope, rope

if TYPE_CHECKING:
    from engine.model import LayerKVCache

Params = dict[str, np.ndarray]


@dataclass(frozen=True)
class MLAConfig:
    n_head: int
    kv_lora_rank: int                 # r: width of the cached latent
    qk_nope_head_dim: int             # d_nope: per-head key/query width without position
    qk_rope_head_dim: int             # d_rope: the decoupled rotary part
    v_head_dim: int                   # d_v
    q_lora_rank: int | None = None    # r_q; None: queries come straight from x
    rope_theta: float = 10000.0
    rope_interleave: bool = True      # DeepSeek's paired layout (see the module docstring)
    softmax_scale: float | None = None  # None: 1/sqrt(d_nope + d_rope); see mla_softmax_scale
    latent_eps: float = 1e-6          # eps of the two latent RMSNorms
    bias: bool = False                # biases on w_dq, w_dkv, w_kr and w_o (attention_bias)

    def __post_init__(self) -> None:
        problems = []
        for field in ("n_head", "kv_lora_rank", "qk_nope_head_dim", "qk_rope_head_dim",
                      "v_head_dim"):
            if getattr(self, field) < 1:
                problems.append(f"{field}={getattr(self, field)} must be >= 1")
        if self.qk_rope_head_dim % 2:
            problems.append(f"qk_rope_head_dim={self.qk_rope_head_dim} must be even "
                            "(RoPE rotates pairs)")
        if self.q_lora_rank is not None and self.q_lora_rank < 1:
            problems.append(f"q_lora_rank={self.q_lora_rank} must be >= 1 or None")
        if problems:
            raise ValueError("; ".join(problems))

    @property
    def qk_head_dim(self) -> int:
        return self.qk_nope_head_dim + self.qk_rope_head_dim

    @property
    def scale(self) -> float:
        return self.softmax_scale if self.softmax_scale is not None \
            else 1 / math.sqrt(self.qk_head_dim)

    @property
    def cache_width(self) -> int:
        """Numbers cached per token and layer: the latent plus the shared rotary key."""
        return self.kv_lora_rank + self.qk_rope_head_dim

    def replace(self, **changes) -> MLAConfig:
        return dataclasses.replace(self, **changes)


def yarn_mscale(scale: float, mscale: float = 1.0) -> float:
    """YaRN's attention temperature: 0.1 * mscale * ln(scale) + 1, and 1 for scale <= 1."""
    return 1.0 if scale <= 1 else 0.1 * mscale * math.log(scale) + 1.0


def mla_softmax_scale(qk_head_dim: int, rope_scaling: Mapping | None = None) -> float:
    """1/sqrt(d_nope + d_rope), times mscale^2 when the context is stretched with YaRN.

    rope_scaling: a Hugging Face rope dict (rope_type, factor, mscale_all_dim).
    DeepSeek multiplies the softmax scale by yarn_mscale(factor, mscale_all_dim)
    squared: once for the query's, once for the key's share of the temperature.
    """
    scale = qk_head_dim ** -0.5
    if rope_scaling and rope_scaling.get("rope_type", rope_scaling.get("type", "default")) \
            != "default":
        m_all = rope_scaling.get("mscale_all_dim", 0)
        if m_all:
            m = yarn_mscale(rope_scaling["factor"], m_all)
            scale = scale * m * m
    return scale


# ----------------------------------------------------------------------------- pieces

def _split_heads(x: np.ndarray, n_head: int) -> np.ndarray:
    # (..., n, n_head * w) -> (..., n_head, n, w)
    return np.swapaxes(x.reshape(*x.shape[:-1], n_head, x.shape[-1] // n_head), -2, -3)


def _merge_heads(x: np.ndarray) -> np.ndarray:
    # (..., n_head, n, w) -> (..., n, n_head * w)
    x = np.swapaxes(x, -2, -3)
    return x.reshape(*x.shape[:-2], x.shape[-2] * x.shape[-1])


def rope_decoupled(x: np.ndarray, positions: np.ndarray, theta: float,
                   interleaved: bool = True,
                   rotary: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """RoPE on the decoupled part; interleaved pairs are first gathered as [evens | odds].

    x: (..., n, d_rope) -> (..., n, d_rope), in the rotate-half layout. rotary:
    precomputed (cos, sin) tables (n, d_rope) for the positions (scaled RoPE such
    as YaRN comes this way, see engine.model.rotary_tables); else plain RoPE at theta.
    """
    if interleaved:
        x = np.concatenate([x[..., 0::2], x[..., 1::2]], axis=-1)
    if rotary is not None:
        return apply_rope(x, *rotary)
    return rope(x, positions, theta=theta)


def latent_kv(x: np.ndarray, params: Params, prefix: str, config: MLAConfig,
              positions: np.ndarray, rotary=None) -> tuple[np.ndarray, np.ndarray]:
    """What MLA caches per token: c_kv (..., n, r) and the rotated shared key (..., n, d_rope)."""
    p = params
    c_kv = rms_norm(linear(x, p[prefix + ".w_dkv"], p.get(prefix + ".b_dkv")),
                    p[prefix + ".kv_norm.g"], eps=config.latent_eps)               # (..., n, r)
    k_rope = rope_decoupled(linear(x, p[prefix + ".w_kr"], p.get(prefix + ".b_kr")),
                            positions, config.rope_theta, config.rope_interleave,
                            rotary)                                                # (..., n, dr)
    return c_kv, k_rope


def _queries(x: np.ndarray, params: Params, prefix: str, config: MLAConfig,
             positions: np.ndarray, rotary=None) -> tuple[np.ndarray, np.ndarray]:
    # -> c_q (..., n, c) and q_rope (..., H, n, d_rope)
    p = params
    c_q = x
    if config.q_lora_rank is not None:
        c_q = rms_norm(linear(x, p[prefix + ".w_dq"], p.get(prefix + ".b_dq")),
                       p[prefix + ".q_norm.g"], eps=config.latent_eps)             # (..., n, r_q)
    q_rope = _split_heads(c_q @ p[prefix + ".w_qr"], config.n_head)               # (..., H, n, dr)
    return c_q, rope_decoupled(q_rope, positions, config.rope_theta, config.rope_interleave,
                               rotary)


def absorbed_weights(params: Params, prefix: str, config: MLAConfig
                     ) -> tuple[np.ndarray, np.ndarray]:
    """W_uq W_uk^T per head, and W_uv W_o per head.

    -> w_q_latent (c, H*r): c_q -> each head's query in latent space, and
       w_vo (H*r, d): each head's latent output -> the model dimension.
    """
    p, h = params, config.n_head
    r, dn, dv = config.kv_lora_rank, config.qk_nope_head_dim, config.v_head_dim
    w_uq = p[prefix + ".w_uq"].reshape(-1, h, dn)                  # (c, H, d_nope)
    w_uk = p[prefix + ".w_uk"].reshape(r, h, dn)                   # (r, H, d_nope)
    w_q_latent = np.einsum("chn,rhn->chr", w_uq, w_uk)             # (c, H, r)
    w_uv = p[prefix + ".w_uv"].reshape(r, h, dv)                   # (r, H, d_v)
    w_o = p[prefix + ".w_o"].reshape(h, dv, -1)                    # (H, d_v, d)
    w_vo = np.einsum("rhv,hvd->hrd", w_uv, w_o)                    # (H, r, d)
    return w_q_latent.reshape(w_q_latent.shape[0], h * r), w_vo.reshape(h * r, -1)


def absorb(params: Params, prefix: str, config: MLAConfig) -> Params:
    """A copy of params with `{p}.w_q_latent` and `{p}.w_vo` added, for absorb=True."""
    w_q_latent, w_vo = absorbed_weights(params, prefix, config)
    return {**params, prefix + ".w_q_latent": w_q_latent, prefix + ".w_vo": w_vo}


# ----------------------------------------------------------------------------- attention

def multi_head_latent_attention(x: np.ndarray, params: Params, prefix: str, config: MLAConfig,
                                *, positions: np.ndarray | None = None,
                                cache: LayerKVCache | None = None, absorb: bool = False,
                                attn_mask: np.ndarray | None = None, is_causal: bool = True,
                                rotary: tuple[np.ndarray, np.ndarray] | None = None,
                                return_weights: bool = False):
    """MLA self-attention.   x: (..., n, d) -> (..., n, d)

    positions: the queries' absolute positions (default: cache offset + arange(n)).
    cache: one layer of an engine.model.KVCache; its "keys" hold c_kv (..., r) and
    its "values" k_rope (..., d_rope): nothing per head is ever stored.
    absorb=True folds W_uk into the query and W_uv into W_o and attends over the
    latents directly (uses `{p}.w_q_latent`, `{p}.w_vo` if present, see `absorb`).
    is_causal: the queries are the last n of the keys (bottom-right aligned);
    attn_mask (bool or additive float, broadcast to (..., H, n_q, n_k)) is combined
    with it. rotary: (cos, sin) tables (n, d_rope) for the positions, in place of
    plain RoPE at config.rope_theta (how a model passes scaled RoPE such as YaRN).
    return_weights=True returns (output, weights (..., H, n_q, n_k)).
    """
    p, h = params, config.n_head
    n = x.shape[-2]
    if positions is None:
        positions = (cache.offset if cache is not None else 0) + np.arange(n)
    c_q, q_rope = _queries(x, p, prefix, config, positions, rotary)   # (.., n, c), (.., H, n, dr)
    c_kv, k_rope = latent_kv(x, p, prefix, config, positions, rotary)  # (.., n, r), (.., n, dr)
    if cache is not None:
        c_kv, k_rope = cache.update(c_kv, k_rope)                 # (..., N, r), (..., N, dr)
    k_rope = k_rope[..., None, :, :]                              # (..., 1, N, dr) all heads
    mask = _mask(attn_mask, is_causal, n, c_kv.shape[-2])
    if absorb:
        w_q_latent, w_vo = p.get(prefix + ".w_q_latent"), p.get(prefix + ".w_vo")
        if w_q_latent is None or w_vo is None:
            w_q_latent, w_vo = absorbed_weights(p, prefix, config)
        q_lat = _split_heads(c_q @ w_q_latent, h)                 # (..., H, n, r)
        q = np.concatenate([q_lat, q_rope], axis=-1)              # (..., H, n, r + dr)
        k = np.concatenate([c_kv[..., None, :, :], k_rope], axis=-1)   # (..., 1, N, r + dr)
        v = c_kv[..., None, :, :]                                 # (..., 1, N, r)
    else:
        q_nope = _split_heads(c_q @ p[prefix + ".w_uq"], h)      # (..., H, n, d_nope)
        k_nope = _split_heads(c_kv @ p[prefix + ".w_uk"], h)     # (..., H, N, d_nope)
        v = _split_heads(c_kv @ p[prefix + ".w_uv"], h)          # (..., H, N, d_v)
        q = np.concatenate([q_nope, q_rope], axis=-1)            # (..., H, n, d_qk)
        k = np.concatenate([k_nope, np.broadcast_to(k_rope, k_nope.shape[:-1]
                                                    + k_rope.shape[-1:])], axis=-1)
    res = scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=config.scale,
                                       return_weights=return_weights)
    o, w = res if return_weights else (res, None)                # (..., H, n, r or d_v)
    o = _merge_heads(o)                                          # (..., n, H*r or H*d_v)
    out = linear(o, w_vo if absorb else p[prefix + ".w_o"], p.get(prefix + ".b_o"))
    return (out, w) if return_weights else out


def _mask(attn_mask: np.ndarray | None, is_causal: bool, n_q: int, n_k: int):
    if not is_causal or n_q == 1:       # one newest query sees every key
        return attn_mask
    causal = causal_mask(n_q, n_k)
    if attn_mask is None:
        return causal
    attn_mask = np.asarray(attn_mask)
    if attn_mask.dtype == bool:
        return attn_mask & causal
    return np.where(causal, attn_mask, -np.inf).astype(attn_mask.dtype)


# ----------------------------------------------------------------------------- memory

Attention = Literal["mha", "gqa", "mqa", "mla"]


def kv_bytes_per_token(attention: Attention, n_layer: int, *, n_head: int | None = None,
                       d_k: int | None = None, d_v: int | None = None,
                       n_kv_head: int | None = None, kv_lora_rank: int | None = None,
                       d_rope: int | None = None, bytes_per: int = 2) -> int:
    """Bytes the KV cache grows by per generated token (one sequence, all layers).

    mha: L * H * (d_k + d_v) * bytes        gqa: L * n_kv_head * (d_k + d_v) * bytes
    mqa: L * (d_k + d_v) * bytes            mla: L * (kv_lora_rank + d_rope) * bytes
    d_v defaults to d_k. For MLA only the latent and the shared rotary key count.
    """
    need = {"mha": ("n_head", "d_k"), "gqa": ("n_kv_head", "d_k"), "mqa": ("d_k",),
            "mla": ("kv_lora_rank", "d_rope")}
    if attention not in need:
        raise ValueError(f"attention={attention!r} is not one of {', '.join(need)}")
    given = dict(n_head=n_head, d_k=d_k, n_kv_head=n_kv_head, kv_lora_rank=kv_lora_rank,
                 d_rope=d_rope)
    bad = [f"{k}={given[k]}" for k in need[attention] if given[k] is None or given[k] < 1]
    if n_layer < 1 or bytes_per < 1 or (d_v is not None and d_v < 1):
        bad.append(f"n_layer={n_layer}, bytes_per={bytes_per}, d_v={d_v}")
    if bad:
        raise ValueError(f"attention={attention!r} needs positive {', '.join(bad)}")
    if attention == "mla":
        return n_layer * (kv_lora_rank + d_rope) * bytes_per
    width = d_k + (d_k if d_v is None else d_v)
    heads = {"mha": n_head, "gqa": n_kv_head, "mqa": 1}[attention]
    return n_layer * heads * width * bytes_per


# ----------------------------------------------------------------------------- layout

def mla_param_shapes(prefix: str, d_model: int, config: MLAConfig
                     ) -> dict[str, tuple[int, ...]]:
    """Name -> shape of the layer's arrays (names: see the module docstring)."""
    d, h = d_model, config.n_head
    r, dn, dr, dv = (config.kv_lora_rank, config.qk_nope_head_dim, config.qk_rope_head_dim,
                     config.v_head_dim)
    shapes: dict[str, tuple[int, ...]] = {}
    c = d
    if config.q_lora_rank is not None:
        c = config.q_lora_rank
        shapes[prefix + ".w_dq"] = (d, c)
        if config.bias:
            shapes[prefix + ".b_dq"] = (c,)
        shapes[prefix + ".q_norm.g"] = (c,)
    shapes |= {prefix + ".w_uq": (c, h * dn), prefix + ".w_qr": (c, h * dr),
               prefix + ".w_dkv": (d, r)}
    if config.bias:
        shapes[prefix + ".b_dkv"] = (r,)
    shapes[prefix + ".kv_norm.g"] = (r,)
    shapes[prefix + ".w_kr"] = (d, dr)
    if config.bias:
        shapes[prefix + ".b_kr"] = (dr,)
    shapes |= {prefix + ".w_uk": (r, h * dn), prefix + ".w_uv": (r, h * dv),
               prefix + ".w_o": (h * dv, d)}
    if config.bias:
        shapes[prefix + ".b_o"] = (d,)
    return shapes


def mla_config_from_hf(hf: Mapping, rope_theta: float = 10000.0,
                       rope_scaling: Mapping | None = None) -> MLAConfig:
    """The MLAConfig of a Hugging Face DeepseekV3Config's attention fields.

    hf holds num_attention_heads, kv_lora_rank, qk_nope_head_dim, qk_rope_head_dim and
    v_head_dim, and may hold q_lora_rank, rope_interleave (default True) and
    attention_bias (default False); a None value means the default. rope_scaling
    (a transformers rope dict, e.g. YaRN) sets the softmax scale; the scaled rotary
    tables themselves come from the model (engine.model.rotary_tables).
    """
    def optional(key, default):
        return default if hf.get(key) is None else hf[key]

    dn, dr = hf["qk_nope_head_dim"], hf["qk_rope_head_dim"]
    return MLAConfig(n_head=hf["num_attention_heads"], kv_lora_rank=hf["kv_lora_rank"],
                     qk_nope_head_dim=dn, qk_rope_head_dim=dr, v_head_dim=hf["v_head_dim"],
                     q_lora_rank=hf.get("q_lora_rank"), rope_theta=float(rope_theta),
                     rope_interleave=bool(optional("rope_interleave", True)),
                     softmax_scale=mla_softmax_scale(dn + dr, rope_scaling),
                     bias=bool(optional("attention_bias", False)))


WeightMap = dict[str, Callable[[np.ndarray], Params]]


def _split_rows(name: str, parts: dict[str, int], per: int = 1, meaning: str = ""):
    # fused (per * sum(parts), in) weight or (sum(parts),) bias -> transposed parts; with
    # per > 1 (heads) the rows repeat [part 0 | part 1 | ...] once per head
    def split(a):
        rows = per * sum(parts.values())
        if a.shape[0] != rows:
            raise ValueError(f"state dict does not fit the MLA config: {name} has shape "
                             f"{a.shape}, expected {rows} rows ({meaning})")
        blocks = a.reshape(per, sum(parts.values()), *a.shape[1:])
        out, start = {}, 0
        for key, size in parts.items():
            part = blocks[:, start:start + size].reshape(per * size, *a.shape[1:])
            out[key] = part.T if part.ndim == 2 else part
            start += size
        return out
    return split


def mla_weight_map(prefix: str, config: MLAConfig) -> WeightMap:
    """Hugging Face name inside a DeepseekV3Attention -> function giving the engine arrays.

    HF keeps fused projections, (out, in): q_b_proj / q_proj give each head
    [nope | rope] rows, kv_a_proj_with_mqa gives [latent | rotary key] rows and
    kv_b_proj gives each head [k_nope | v] rows. They are split and transposed.
    """
    p, h, r = prefix, config.n_head, config.kv_lora_rank
    dn, dr, dv = config.qk_nope_head_dim, config.qk_rope_head_dim, config.v_head_dim
    m: WeightMap = {}
    query = "q_proj"
    if config.q_lora_rank is not None:
        query = "q_b_proj"
        m["q_a_proj.weight"] = lambda a: {p + ".w_dq": a.T}
        if config.bias:
            m["q_a_proj.bias"] = lambda a: {p + ".b_dq": a}
        m["q_a_layernorm.weight"] = lambda a: {p + ".q_norm.g": a}
    m[query + ".weight"] = _split_rows(query, {p + ".w_uq": dn, p + ".w_qr": dr}, per=h,
                                       meaning=f"n_head * (d_nope + d_rope) = {h} * ({dn} + {dr})")
    kv_a = {p + ".w_dkv": r, p + ".w_kr": dr}
    m["kv_a_proj_with_mqa.weight"] = _split_rows("kv_a_proj_with_mqa", kv_a,
                                                 meaning=f"kv_lora_rank + d_rope = {r} + {dr}")
    if config.bias:
        m["kv_a_proj_with_mqa.bias"] = _split_rows(
            "kv_a_proj_with_mqa.bias", {p + ".b_dkv": r, p + ".b_kr": dr})
    m["kv_a_layernorm.weight"] = lambda a: {p + ".kv_norm.g": a}
    m["kv_b_proj.weight"] = _split_rows("kv_b_proj", {p + ".w_uk": dn, p + ".w_uv": dv}, per=h,
                                        meaning=f"n_head * (d_nope + d_v) = {h} * ({dn} + {dv})")
    m["o_proj.weight"] = lambda a: {p + ".w_o": a.T}
    if config.bias:
        m["o_proj.bias"] = lambda a: {p + ".b_o": a}
    return m
