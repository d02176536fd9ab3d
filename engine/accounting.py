"""Counting a transformer: parameters, forward FLOPs and training/inference memory.

Everything here is arithmetic on a `ModelConfig` (or on a few integers), so it
answers "how big is LLaMA-2-70B?" without allocating a single weight. The
parameter counts match the Hugging Face implementations of every preset
exactly; the FLOP count is exact for the matrix multiplications of one
forward pass; the memory figures are the standard estimates, each with its
source in the docstring.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from engine.config import ModelConfig, swiglu_hidden

_NORMS = ("layernorm", "rmsnorm")
_ACTIVATIONS = ("gelu", "gelu_tanh", "relu", "swiglu")

# Components in the order a forward pass meets them; count_params reports all
# of them (zero when a model does not have one) so tables line up across models.
COMPONENTS = (
    "token_embedding",
    "position_embedding",
    "token_type_embedding",
    "embedding_norm",
    "relative_position_bias",
    "attention",
    "cross_attention",
    "ffn",
    "layer_norms",
    "final_norm",
    "pooler",
    "lm_head",
)
# Kaplan et al. (2020) leave these out of N, the "non-embedding" parameter count.
EMBEDDING_COMPONENTS = ("token_embedding", "position_embedding", "token_type_embedding",
                        "relative_position_bias", "lm_head")


def _positive(**values: int | None) -> None:
    bad = [f"{k}={v}" for k, v in values.items() if v is not None and v < 1]
    if bad:
        raise ValueError(f"{', '.join(bad)} must be >= 1")


def _non_negative(**values: float) -> None:
    bad = [f"{k}={v}" for k, v in values.items() if v < 0]
    if bad:
        raise ValueError(f"{', '.join(bad)} must be >= 0")


# ---------------------------------------------------------------------------
# Parameters of the building blocks


def norm_params(d_model: int, norm: str = "layernorm", bias: bool = True) -> int:
    """One normalisation layer: LayerNorm has a gain and (with bias) a shift; RMSNorm a gain."""
    _positive(d_model=d_model)
    if norm not in _NORMS:
        raise ValueError(f"norm={norm!r} is not one of {', '.join(_NORMS)}")
    return 2 * d_model if (norm == "layernorm" and bias) else d_model


def attention_params(d_model: int, n_head: int = 1, n_kv_head: int | None = None,
                     d_head: int | None = None, bias: bool = True) -> int:
    """Q, K, V and output projections of one attention layer.

    With grouped-query attention K and V have only `n_kv_head` heads, which is
    where GQA/MQA save parameters (and, more importantly, KV-cache memory).
    """
    _positive(d_model=d_model, n_head=n_head, n_kv_head=n_kv_head, d_head=d_head)
    if d_head is None:
        if d_model % n_head:
            raise ValueError(f"d_model={d_model} is not divisible by n_head={n_head}")
        d_head = d_model // n_head
    kv = n_head if n_kv_head is None else n_kv_head
    if n_head % kv:
        raise ValueError(f"n_head={n_head} is not divisible by n_kv_head={kv}")
    d_q, d_kv = n_head * d_head, kv * d_head
    weights = d_model * d_q + 2 * d_model * d_kv + d_q * d_model
    biases = d_q + 2 * d_kv + d_model
    return weights + (biases if bias else 0)


def ffn_params(d_model: int, d_ff: int | None = None, activation: str = "gelu",
               bias: bool = True) -> int:
    """The position-wise feed-forward network; SwiGLU has three matrices instead of two.

    `d_ff=None` means 4 d for GELU/ReLU and LLaMA's 8/3 d (rounded up to a
    multiple of 256) for SwiGLU, which keeps the two layouts about the same size.
    """
    _positive(d_model=d_model, d_ff=d_ff)
    if activation not in _ACTIVATIONS:
        raise ValueError(f"activation={activation!r} is not one of {', '.join(_ACTIVATIONS)}")
    gated = activation == "swiglu"
    if d_ff is None:
        d_ff = swiglu_hidden(d_model) if gated else 4 * d_model
    n_in = 2 if gated else 1                       # gate and up projections for SwiGLU
    weights = (n_in + 1) * d_model * d_ff
    biases = n_in * d_ff + d_model
    return weights + (biases if bias else 0)


def layer_params(d_model: int, d_ff: int | None = None, n_head: int = 1,
                 n_kv_head: int | None = None, d_head: int | None = None,
                 activation: str = "gelu", bias: bool = True, norm: str = "layernorm",
                 cross_attention: bool = False) -> int:
    """One transformer block: self-attention, FFN and their norms.

    `cross_attention=True` gives an encoder-decoder's decoder block, which adds
    a second attention layer and a third norm. With the defaults (4d FFN,
    biases, LayerNorm) this is 12 d^2 + 13 d, the source of the 12 d^2 rule.
    """
    n_attention = 2 if cross_attention else 1
    return (n_attention * attention_params(d_model, n_head, n_kv_head, d_head, bias)
            + ffn_params(d_model, d_ff, activation, bias)
            + (n_attention + 1) * norm_params(d_model, norm, bias))


# ---------------------------------------------------------------------------
# Whole models


@dataclass(frozen=True)
class ParamCount:
    """Parameters of a model, itemised by component.

    `items` maps every name in COMPONENTS to its count (0 when absent; the LM
    head is 0 when tied to the token embedding). `per_layer` is one block of
    the first (or only) stack, `per_decoder_layer` one decoder block of an
    encoder-decoder (equal to `per_layer` otherwise). `rule_12d2` is the
    textbook 12 * n_layer * d_model^2 for every block in the model.
    """

    name: str
    items: Mapping[str, int]
    total: int
    per_layer: int
    per_decoder_layer: int
    rule_12d2: int

    @property
    def embedding(self) -> int:
        """Parameters that scale with vocabulary or context rather than depth."""
        return sum(self.items[k] for k in EMBEDDING_COMPONENTS)

    @property
    def non_embedding(self) -> int:
        """Kaplan et al.'s N: everything except embeddings and the output head."""
        return self.total - self.embedding

    @property
    def embedding_share(self) -> float:
        return self.embedding / self.total


def _stacks(config: ModelConfig) -> int:
    return 2 if config.arch == "encoder-decoder" else 1


def count_params(config: ModelConfig) -> ParamCount:
    """Exact parameter count of the model `config` describes.

    Conventions (those of the reference implementations): tied weights count
    once; an encoder-decoder has one token embedding (and embedding norm)
    shared by both stacks and its own relative-position table, final norm and
    (if learned) position table per stack; BERT's pooler is one d x d dense
    layer; an encoder-only model has no LM head (only a masked-LM or
    classification head added on top would have one).
    """
    c = config
    d, stacks = c.d_model, _stacks(c)
    attn = attention_params(d, c.n_head, c.kv_heads, c.head_dim, c.bias)
    ffn = ffn_params(d, c.ffn_dim, c.activation, c.bias)
    norm = norm_params(d, c.norm, c.bias)
    n_enc = c.n_layer
    n_dec = c.decoder_layers if c.arch == "encoder-decoder" else 0
    n_blocks = n_enc + n_dec

    items = dict.fromkeys(COMPONENTS, 0)
    items["token_embedding"] = c.vocab_size * d
    if c.positional == "learned":
        items["position_embedding"] = stacks * c.n_ctx * d
    if c.positional == "relative":
        # one bias per (bucket, head), shared by all layers of a stack
        items["relative_position_bias"] = stacks * c.relative_buckets * c.n_head
    items["token_type_embedding"] = c.type_vocab_size * d
    if c.embedding_norm:
        items["embedding_norm"] = norm
    items["attention"] = n_blocks * attn
    items["cross_attention"] = n_dec * attn
    items["ffn"] = n_blocks * ffn
    items["layer_norms"] = (2 * n_enc + 3 * n_dec) * norm
    if c.final_norm:
        items["final_norm"] = stacks * norm
    if c.pooler:
        items["pooler"] = d * d + (d if c.bias else 0)
    if not c.tie_embeddings and c.arch != "encoder":
        items["lm_head"] = c.vocab_size * d

    per_layer = attn + ffn + 2 * norm
    per_decoder_layer = 2 * attn + ffn + 3 * norm if n_dec else per_layer
    return ParamCount(
        name=c.name,
        items=MappingProxyType(items),
        total=sum(items.values()),
        per_layer=per_layer,
        per_decoder_layer=per_decoder_layer,
        rule_12d2=12 * n_blocks * d * d,
    )


# ---------------------------------------------------------------------------
# FLOPs


@dataclass(frozen=True)
class ForwardFlops:
    """Matmul FLOPs (2 per multiply-add) of a forward pass, per token, at context `n_ctx`.

    Each field sums over all layers. `attention_scores` (Q K^T) and
    `attention_values` (softmax(.) V) grow with n_ctx; every other matmul is
    2 x (its weight count). Norms, softmax, activations and biases are not
    matmuls and are left out. `kaplan` is the approximation
    C_forward = 2N + 2 n_layer n_ctx d_attn of Kaplan et al. (2020, Table 1),
    with N the non-embedding parameters; it counts only one of the two
    n_ctx-dependent matmuls and leaves out the output head.
    """

    n_ctx: int
    qkv: int
    attention_scores: int
    attention_values: int
    attention_output: int
    cross_attention: int
    ffn: int
    lm_head: int
    total: int
    kaplan: int

    cross_attention_context: int = 0   # the part of cross_attention that grows with n_ctx

    @property
    def attention_context(self) -> int:
        """The FLOPs that grow with context: Q K^T and softmax(.) V (cross-attention's too)."""
        return self.attention_scores + self.attention_values + self.cross_attention_context


def forward_flops_per_token(config: ModelConfig, n_ctx: int | None = None,
                            head: bool | None = None) -> ForwardFlops:
    """Exact matmul FLOPs per token of one forward pass with `n_ctx` tokens of context.

    Every query is scored against all `n_ctx` keys, as a dense (masked)
    implementation computes them; a causal model that skipped the masked half
    would do about half of `attention_scores + attention_values`.
    For an encoder-decoder, "a token" is one source token through the encoder
    plus one target token through the decoder, both sequences `n_ctx` long;
    cross-attention includes projecting the encoder output to K and V.
    `head` says whether to count the output projection to the vocabulary;
    by default it is counted for models that generate (not for an encoder).
    """
    c = config
    n_ctx = c.n_ctx if n_ctx is None else n_ctx
    _positive(n_ctx=n_ctx)
    d, d_q, d_kv = c.d_model, c.n_head * c.head_dim, c.kv_heads * c.head_dim
    n_dec = c.decoder_layers if c.arch == "encoder-decoder" else 0
    n_blocks = c.n_layer + n_dec

    qkv = n_blocks * 2 * d * (d_q + 2 * d_kv)              # x @ W_q, x @ W_k, x @ W_v
    scores = n_blocks * 2 * n_ctx * d_q        # per head: (1, d_head) @ (d_head, n_ctx)
    values = n_blocks * 2 * n_ctx * d_q        # per head: (1, n_ctx) @ (n_ctx, d_head)
    out = n_blocks * 2 * d_q * d
    cross_context = n_dec * 2 * (2 * n_ctx * d_q)
    cross = n_dec * 2 * d * (d_q + 2 * d_kv + d_q) + cross_context
    ffn = n_blocks * 2 * (ffn_params(d, c.ffn_dim, c.activation, bias=False))
    if head is None:
        head = c.arch != "encoder"
    lm_head = 2 * d * c.vocab_size if head else 0
    total = qkv + scores + values + out + cross + ffn + lm_head

    n_attention_layers = n_blocks + n_dec                  # cross-attention layers count too
    kaplan = 2 * count_params(c).non_embedding + 2 * n_attention_layers * n_ctx * d_q
    return ForwardFlops(n_ctx=n_ctx, qkv=qkv, attention_scores=scores, attention_values=values,
                        attention_output=out, cross_attention=cross, ffn=ffn, lm_head=lm_head,
                        total=total, kaplan=kaplan,
                        cross_attention_context=cross_context)


def attention_flop_share(config: ModelConfig, n_ctx: int | None = None) -> float:
    """Fraction of forward matmul FLOPs spent on Q K^T and softmax(.) V at context n_ctx.

    These grow linearly with n_ctx per token (quadratically per sequence);
    the rest is fixed per token, so the share rises with context length.
    """
    flops = forward_flops_per_token(config, n_ctx)
    return flops.attention_context / flops.total


def training_flops(n_params: float, n_tokens: float) -> float:
    """C = 6 N D: 2 N per token forward, about twice that backward (Kaplan et al. 2020)."""
    _non_negative(n_params=n_params, n_tokens=n_tokens)
    return 6 * n_params * n_tokens


@dataclass(frozen=True)
class ComputeOptimal:
    n_params: float
    n_tokens: float
    compute_flops: float


def chinchilla_optimal(compute_flops: float | None = None, n_params: float | None = None,
                       tokens_per_param: float = 20.0) -> ComputeOptimal:
    """The compute-optimal model and data size by Hoffmann et al.'s (2022) rule of thumb.

    The rule: train on about 20 tokens per parameter (Chinchilla: 70B
    parameters, 1.4T tokens), with C = 6 N D. Given `n_params`, D = 20 N;
    given `compute_flops`, C = 6 N (20 N) so N = sqrt(C / 120). Pass exactly one.
    """
    if (compute_flops is None) == (n_params is None):
        raise ValueError(f"pass exactly one of compute_flops={compute_flops} and "
                         f"n_params={n_params}")
    if tokens_per_param <= 0:
        raise ValueError(f"tokens_per_param={tokens_per_param} must be > 0")
    if n_params is None:
        _non_negative(compute_flops=compute_flops)
        n_params = math.sqrt(compute_flops / (6 * tokens_per_param))
    else:
        _non_negative(n_params=n_params)
    n_tokens = tokens_per_param * n_params
    return ComputeOptimal(n_params=n_params, n_tokens=n_tokens,
                          compute_flops=training_flops(n_params, n_tokens))


# ---------------------------------------------------------------------------
# Memory

_PRECISIONS = {
    # bytes per parameter: (weights, gradients, fp32 master copy)
    "fp32": (4, 4, 0),
    "mixed": (2, 2, 4),  # fp16/bf16 compute; the optimizer updates an fp32 master copy
}
# optimizer state bytes per parameter, kept in fp32
_OPTIMIZERS = {"adam": 8, "adamw": 8, "momentum": 4, "sgd": 0}


@dataclass(frozen=True)
class TrainingMemory:
    """Bytes of model state during training (activations not included)."""

    n_params: int
    weights: int
    gradients: int
    master_weights: int
    optimizer_states: int
    total: int

    @property
    def bytes_per_param(self) -> float:
        return self.total / self.n_params if self.n_params else 0.0


def training_memory(n_params: int, precision: str = "mixed",
                    optimizer: str = "adam") -> TrainingMemory:
    """Weights, gradients and optimizer states, as tabulated in the ZeRO paper.

    Adam keeps two fp32 moments (m and v) per parameter. Mixed precision:
    2 (fp16 weights) + 2 (fp16 grads) + 4 (fp32 master) + 4 (m) + 4 (v) = 16
    bytes per parameter (Rajbhandari et al. 2020); plain fp32 Adam is also
    4 + 4 + 8 = 16. Mixed precision saves activation memory and time, not state.
    """
    _non_negative(n_params=n_params)
    if precision not in _PRECISIONS:
        raise ValueError(f"precision={precision!r} is not one of {', '.join(_PRECISIONS)}")
    if optimizer not in _OPTIMIZERS:
        raise ValueError(f"optimizer={optimizer!r} is not one of {', '.join(_OPTIMIZERS)}")
    w, g, master = _PRECISIONS[precision]
    parts = dict(weights=w * n_params, gradients=g * n_params, master_weights=master * n_params,
                 optimizer_states=_OPTIMIZERS[optimizer] * n_params)
    return TrainingMemory(n_params=n_params, total=sum(parts.values()), **parts)


@dataclass(frozen=True)
class ActivationMemory:
    """Activation bytes kept for the backward pass."""

    per_layer: int
    n_layer: int
    total: int
    quadratic: int  # the part of `total` that grows with seq^2 (attention probabilities)


def activation_memory(config: ModelConfig, batch: int, seq: int, bytes_per: int = 2,
                      checkpointing: bool = False, dropout: bool = True) -> ActivationMemory:
    """Activations stored for backprop, by Korthikanti et al. (2022), "Reducing Activation
    Recomputation in Large Transformer Models", Section 4.

    Per GPT-style layer with 16-bit activations and dropout this is
    s b h (34 + 5 a s / h) bytes (s = seq, b = batch, h = d_model,
    a = n_head): 16 s b h + 2 a s^2 b values at `bytes_per` bytes, plus
    1-byte dropout masks of 2 s b h + a s^2 b. The same bookkeeping is applied
    to other layouts: Q, K, V at their real widths (GQA), d_ff instead of 4h,
    four d_ff-wide tensors for SwiGLU (gate, up, silu(gate), product) instead
    of two, and a cross-attention block in decoder layers of an
    encoder-decoder. With full checkpointing only each layer's input
    (s b h values) is kept and the rest is recomputed. Embeddings, the final
    norm and the logits are not included.
    """
    _positive(batch=batch, seq=seq, bytes_per=bytes_per)
    c = config
    s, b, p, d, a = seq, batch, bytes_per, c.d_model, c.n_head
    n_dec = c.decoder_layers if c.arch == "encoder-decoder" else 0
    n_blocks = c.n_layer + n_dec
    if checkpointing:
        per_layer = p * s * b * d
        return ActivationMemory(per_layer=per_layer, n_layer=n_blocks,
                                total=n_blocks * per_layer, quadratic=0)

    d_q, d_kv, f = a * c.head_dim, c.kv_heads * c.head_dim, c.ffn_dim
    mask = 1 if dropout else 0
    # attention: projections' input, Q, K, V, output projection's input | dropout mask on output
    attn_lin = p * s * b * (d + d_q + 2 * d_kv + d_q) + mask * s * b * d
    # softmax output, dropout output, dropout mask (1 byte), per head
    attn_quad = (p * (1 + mask) + mask) * a * s * s * b
    n_ffn_wide = 4 if c.activation == "swiglu" else 2
    ffn = p * s * b * (d + n_ffn_wide * f) + mask * s * b * d
    norms = p * 2 * s * b * d
    per_layer = attn_lin + attn_quad + ffn + norms
    cross = n_dec * (attn_lin + attn_quad + p * s * b * d)   # plus the third norm's input
    total = n_blocks * per_layer + cross
    return ActivationMemory(per_layer=per_layer, n_layer=n_blocks, total=total,
                            quadratic=(n_blocks + n_dec) * attn_quad)


def _kv_dims(model) -> tuple[int, int, int]:
    if isinstance(model, ModelConfig):
        if model.arch == "encoder":
            raise ValueError(f"{model.name!r} is an encoder: it has no KV cache "
                             "(it does not generate token by token)")
        n_layer = model.decoder_layers if model.arch == "encoder-decoder" else model.n_layer
        return n_layer, model.kv_heads, model.head_dim
    if isinstance(model, Mapping):
        try:
            dims = (model["n_layer"], model["n_kv_head"], model["head_dim"])
        except KeyError as e:
            raise ValueError(f"KV dims {dict(model)} need n_layer, n_kv_head and head_dim; "
                             f"missing {e}") from None
    elif isinstance(model, Sequence) and len(model) == 3:
        dims = tuple(model)
    else:
        raise ValueError(f"expected a ModelConfig, a mapping or (n_layer, n_kv_head, head_dim); "
                         f"got {model!r}")
    n_layer, n_kv_head, head_dim = (int(x) for x in dims)
    _positive(n_layer=n_layer, n_kv_head=n_kv_head, head_dim=head_dim)
    return n_layer, n_kv_head, head_dim


def kv_cache_bytes(model, batch: int, seq: int, bytes_per: int = 2) -> int:
    """Bytes of cached keys and values: 2 x batch x seq x layers x kv_heads x head_dim x bytes.

    `model` is a ModelConfig, a mapping with n_layer, n_kv_head and head_dim,
    or the tuple (n_layer, n_kv_head, head_dim). For an encoder-decoder this
    is the decoder's self-attention cache.
    """
    n_layer, n_kv_head, head_dim = _kv_dims(model)
    _positive(batch=batch, bytes_per=bytes_per)
    _non_negative(seq=seq)
    return 2 * batch * seq * n_layer * n_kv_head * head_dim * bytes_per


@dataclass(frozen=True)
class InferenceMemory:
    weights: int
    kv_cache: int
    total: int


def inference_memory(config: ModelConfig, batch: int = 1, seq: int | None = None,
                     weight_bytes: float = 2, kv_bytes: int = 2,
                     n_params: int | None = None) -> InferenceMemory:
    """Weights plus KV cache for generation; activations of one step are comparatively small.

    `weight_bytes` is bytes per parameter (2 for fp16/bf16, 1 for int8,
    0.5 for 4-bit); `seq` defaults to the full context.
    """
    if weight_bytes <= 0:
        raise ValueError(f"weight_bytes={weight_bytes} must be > 0")
    seq = config.n_ctx if seq is None else seq
    n = count_params(config).total if n_params is None else n_params
    weights = int(math.ceil(n * weight_bytes))
    kv = kv_cache_bytes(config, batch, seq, kv_bytes)
    return InferenceMemory(weights=weights, kv_cache=kv, total=weights + kv)
