"""Counting a transformer: parameters, forward FLOPs and training/inference memory.

Everything here is arithmetic on a `ModelConfig`, on a Hugging Face
config.json dict, or on a few integers, so it answers "how big is
LLaMA-2-70B?" without allocating a single weight. The parameter counts match
the Hugging Face implementations exactly; the FLOP counts are exact for the
matrix multiplications of one forward pass; the memory figures are the
standard estimates, each with its source in the docstring.

The `hf_` functions read published configs (engine.hf_configs holds some) and
know what a ModelConfig cannot say: mixture-of-experts layers (total against
active parameters and FLOPs), multi-head latent attention (a compressed KV
cache), sliding-window layers (a cache that stops growing) and
group-quantised weights.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from engine.config import GATED_ACTIVATIONS, ModelConfig, swiglu_hidden

_NORMS = ("layernorm", "rmsnorm")
_ACTIVATIONS = ("gelu", "gelu_tanh", "relu", "swiglu", "geglu")

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
    gated = activation in GATED_ACTIVATIONS
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
    n_ffn_wide = 4 if c.activation in GATED_ACTIVATIONS else 2
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


# ---------------------------------------------------------------------------
# Published Hugging Face configs: exact counts, MoE, MLA, sliding windows

HF_COMPONENTS = (
    "token_embedding",
    "position_embedding",
    "attention",
    "ffn",
    "shared_experts",
    "routed_experts",
    "router",
    "layer_norms",
    "final_norm",
    "lm_head",
)
HF_MODEL_TYPES = ("gpt2", "llama", "mistral", "mixtral", "qwen2", "qwen3", "qwen3_moe", "gemma",
                  "gemma2", "olmo2", "gpt_neox", "phi3", "deepseek_v3")
_LLAMA_LIKE = ("llama", "mistral", "mixtral", "qwen2", "qwen3", "qwen3_moe", "gemma", "gemma2",
               "olmo2", "phi3")
# transformers' class defaults where a config.json leaves a field out
_KV_HEADS_DEFAULT = {"mistral": 8, "mixtral": 8, "qwen2": 32, "qwen3": 32, "qwen3_moe": 4,
                     "gemma": 16, "gemma2": 4}          # others: one K/V head per query head
_HEAD_DIM_DEFAULT = {"qwen3": 128, "gemma": 256, "gemma2": 256}   # others: hidden / heads
_TIED_DEFAULT = ("gpt2", "gemma", "gemma2")

# Fields that never change a parameter count: training, generation, tokenizer,
# position-scaling and routing-rule settings. Any other field that is not read,
# is not null or false, and whose name mentions a size (see _SIZE_WORDS) is refused.
_IGNORED = frozenset((
    "_name_or_path", "architectures", "auto_map", "model_type", "transformers_version",
    "torch_dtype", "dtype", "use_cache", "return_dict", "output_hidden_states",
    "output_attentions", "torchscript", "is_encoder_decoder", "is_decoder", "id2label", "label2id",
    "problem_type", "chunk_size_feed_forward", "tokenizer_class", "prefix", "task_specific_params",
    "finetuning_task", "pruned_heads", "tie_encoder_decoder", "bos_token_id", "eos_token_id",
    "pad_token_id", "sep_token_id", "decoder_start_token_id", "initializer_range", "hidden_act",
    "hidden_activation", "activation_function", "attention_dropout", "hidden_dropout",
    "classifier_dropout", "resid_pdrop", "embd_pdrop", "attn_pdrop", "rms_norm_eps",
    "layer_norm_eps", "layer_norm_epsilon", "rope_theta", "rope_scaling", "rope_parameters",
    "rope_interleave", "rotary_pct", "rotary_emb_base", "partial_rotary_factor",
    "original_max_position_embeddings", "max_position_embeddings", "n_ctx", "quantization_config",
    "pretraining_tp", "cache_implementation", "use_bidirectional_attention",
    "output_router_logits", "router_aux_loss_coef", "router_jitter_noise", "norm_topk_prob",
    "sliding_window", "sliding_window_size", "use_sliding_window", "max_window_layers",
    "layer_types", "use_mrope", "attn_logit_softcapping", "final_logit_softcapping",
    "query_pre_attn_scalar", "n_group", "topk_group", "topk_method", "scoring_func",
    "routed_scaling_factor", "aux_loss_alpha", "seq_aux", "ep_size", "use_parallel_residual",
    "scale_attn_weights", "scale_attn_by_inverse_layer_idx", "reorder_and_upcast_attn",
    "summary_type", "summary_use_proj", "summary_activation", "summary_proj_to_labels",
    "summary_first_dropout", "cross_attention_hidden_size", "num_beams", "num_beam_groups",
    "num_return_sequences", "no_repeat_ngram_size", "encoder_no_repeat_ngram_size", "max_length",
    "min_length", "do_sample", "early_stopping", "temperature", "top_k", "top_p", "typical_p",
    "repetition_penalty", "length_penalty", "bad_words_ids", "diversity_penalty",
    "forced_bos_token_id", "forced_eos_token_id", "remove_invalid_values",
    "exponential_decay_length_penalty", "suppress_tokens", "begin_suppress_tokens",
    "output_scores", "return_dict_in_generate", "tf_legacy_loss", "use_bfloat16",
))
# DeepSeek-V3 derives these from the fields it reads; MLA has no separate K/V head count
_IGNORED_BY_TYPE = {"deepseek_v3": frozenset({"head_dim", "qk_head_dim", "num_key_value_heads"})}
_SIZE_WORDS = re.compile(r"size|dim|num|(^|_)n_|rank|expert|layer|head|bias|vocab|tie|inner|embd"
                         r"|embed|moe|share|dense|proj|norm|width|depth|group|lora|mtp|nextn")


class _Fields:
    """Reads a config dict, remembering which fields were used (to refuse the rest)."""

    def __init__(self, config: Mapping, model_type: str):
        self.config, self.model_type, self.used = config, model_type, {"model_type"}

    def _where(self, key: str) -> str:
        return f"{self.model_type} config field {key!r}"

    def has(self, key: str) -> bool:
        return self.config.get(key) is not None

    def get(self, key: str, default=None):
        self.used.add(key)
        value = self.config.get(key)
        return default if value is None else value

    def size(self, key: str, default: int | None = None, minimum: int = 1) -> int:
        value = self.get(key, default)
        if value is None:
            raise ValueError(f"{self._where(key)} is missing; the count needs it")
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ValueError(f"{self._where(key)}={value!r} must be a whole number >= {minimum}")
        return value

    def flag(self, key: str, default: bool) -> bool:
        value = self.get(key, default)
        if not isinstance(value, bool):
            raise ValueError(f"{self._where(key)}={value!r} must be true or false")
        return value

    def either(self, keys: tuple[str, str], default: int | None = None) -> int:
        """A field that transformers accepts under two names (e.g. num_experts)."""
        given = {k: self.config[k] for k in keys if self.config.get(k) is not None}
        self.used.update(keys)
        if len(set(given.values())) > 1:
            raise ValueError(f"{self.model_type} config fields {' and '.join(map(repr, keys))} "
                             f"disagree: {given}")
        key = next(iter(given), keys[0])
        return self.size(key, default)

    def refuse_unknown(self) -> None:
        ignored = _IGNORED | _IGNORED_BY_TYPE.get(self.model_type, frozenset())
        for key, value in self.config.items():
            if (key in self.used or key in ignored or value is None or value is False
                    or not _SIZE_WORDS.search(key)):
                continue                  # null and false switch nothing on
            raise ValueError(f"{self._where(key)}={value!r} is not understood, and it may change "
                             "the parameter count; remove it if it does not")


@dataclass(frozen=True)
class _HFLayer:
    """Parameters of one block, split the way counting, FLOPs and memory need them."""

    attention: int            # Q, K, V, O projection weights (MLA: its low-rank pairs)
    attention_bias: int
    norms: int                # every norm in the block, QK-norms and MLA's latent norms too
    ffn: int                  # dense FFN weights (0 in an MoE layer)
    ffn_bias: int
    n_experts: int = 0        # routed experts (0: a dense layer)
    top_k: int = 0
    expert: int = 0           # parameters of one routed expert
    shared: int = 0           # always-on shared experts
    router: int = 0
    window: int | None = None  # sliding-window length (keys a query sees), None: full


@dataclass(frozen=True)
class _HFArch:
    model_type: str
    vocab: int
    d_model: int
    n_head: int
    d_qk: int                 # per-head width of queries and keys (the scores' inner dim)
    d_v: int                  # per-head width of values
    kv_cached: int            # numbers one token leaves in one layer's KV cache
    kv_expanded: int          # the same with MLA's latent expanded to per-head K and V
    position_embedding: int
    final_norm: int
    tied: bool
    layers: tuple[_HFLayer, ...]
    not_built: Mapping[str, int]


def _windows(f: _Fields, n_layer: int) -> list[int | None]:
    """Per layer, the sliding window (keys a query may see, itself included) or None."""
    t = f.model_type
    types = f.get("layer_types")
    window = f.get("sliding_window")
    if types is not None:
        if len(types) != n_layer or not set(types) <= {"full_attention", "sliding_attention"}:
            raise ValueError(f"{t} config field 'layer_types' must list 'full_attention' or "
                             f"'sliding_attention' for each of the {n_layer} layers")
        sliding = [kind == "sliding_attention" for kind in types]
    elif t in ("mistral", "mixtral", "phi3"):
        sliding = [True] * n_layer
    elif t in ("qwen2", "qwen3", "qwen3_moe"):
        if not f.flag("use_sliding_window", False):
            window = None
        first = 0 if t == "qwen3_moe" else f.size("max_window_layers", 28, minimum=0)
        sliding = [i >= first for i in range(n_layer)]
    elif t == "gemma2":
        window = f.get("sliding_window", 4096)
        sliding = [i % 2 == 0 for i in range(n_layer)]
    else:
        return [None] * n_layer
    if window is None:
        if types is not None and any(sliding):
            raise ValueError(f"{t} config has sliding layers but no 'sliding_window'")
        return [None] * n_layer
    window = f.size("sliding_window", window)
    return [window if s else None for s in sliding]


def _parse_gpt2(f: _Fields) -> _HFArch:
    d, n_layer, n_head = f.size("n_embd"), f.size("n_layer"), f.size("n_head")
    if d % n_head:
        raise ValueError(f"gpt2 config: n_embd={d} is not divisible by n_head={n_head}")
    if f.flag("add_cross_attention", False):
        raise ValueError("gpt2 config field 'add_cross_attention'=True (cross-attention "
                         "blocks) is not supported")
    inner = f.size("n_inner", 4 * d)
    layer = _HFLayer(attention=4 * d * d, attention_bias=4 * d, norms=4 * d,
                     ffn=2 * d * inner, ffn_bias=inner + d)
    return _HFArch("gpt2", f.size("vocab_size"), d, n_head, d // n_head, d // n_head, 2 * d, 2 * d,
                   position_embedding=f.size("n_positions") * d, final_norm=2 * d,
                   tied=f.flag("tie_word_embeddings", True), layers=(layer,) * n_layer,
                   not_built={})


def _parse_gpt_neox(f: _Fields) -> _HFArch:
    d, n_layer, n_head = f.size("hidden_size"), f.size("num_hidden_layers"), \
        f.size("num_attention_heads")
    if d % n_head:
        raise ValueError(f"gpt_neox config: hidden_size={d} is not divisible by "
                         f"num_attention_heads={n_head}")
    inner = f.size("intermediate_size")
    bias = f.flag("attention_bias", True)
    # fused query_key_value (d -> 3d) and dense (d -> d); the MLP always has biases
    layer = _HFLayer(attention=4 * d * d, attention_bias=4 * d if bias else 0, norms=4 * d,
                     ffn=2 * d * inner, ffn_bias=inner + d)
    return _HFArch("gpt_neox", f.size("vocab_size"), d, n_head, d // n_head, d // n_head,
                   2 * d, 2 * d, position_embedding=0, final_norm=2 * d,
                   tied=f.flag("tie_word_embeddings", False), layers=(layer,) * n_layer,
                   not_built={})


def _moe_layers(f: _Fields, n_layer: int) -> list[bool]:
    """Which layers hold experts."""
    t = f.model_type
    if t == "mixtral":
        return [True] * n_layer
    if t == "qwen3_moe":
        step = f.size("decoder_sparse_step", 1)
        dense = f.get("mlp_only_layers", [])
        if not isinstance(dense, list) or not all(isinstance(i, int) for i in dense):
            raise ValueError(f"qwen3_moe config field 'mlp_only_layers'={dense!r} must be a "
                             "list of layer indices")
        return [i not in dense and (i + 1) % step == 0 for i in range(n_layer)]
    return [False] * n_layer


def _parse_llama_like(f: _Fields) -> _HFArch:
    t = f.model_type
    d, n_layer, n_head = f.size("hidden_size"), f.size("num_hidden_layers"), \
        f.size("num_attention_heads")
    kv = f.size("num_key_value_heads", _KV_HEADS_DEFAULT.get(t, n_head))
    if n_head % kv:
        raise ValueError(f"{t} config: num_attention_heads={n_head} is not divisible by "
                         f"num_key_value_heads={kv}")
    hd = f.size("head_dim", _HEAD_DIM_DEFAULT.get(t, d // n_head))
    q, k = n_head * hd, kv * hd
    attention = d * q + 2 * d * k + q * d
    if t == "qwen2":                                   # q, k and v biases; none on o
        attention_bias = q + 2 * k
    elif t in ("llama", "gemma", "gemma2", "qwen3", "qwen3_moe", "olmo2"):
        attention_bias = q + 2 * k + d if f.flag("attention_bias", False) else 0
    else:
        attention_bias = 0
    norms = {"gemma2": 4 * d, "qwen3": 2 * d + 2 * hd, "qwen3_moe": 2 * d + 2 * hd,
             "olmo2": 2 * d + q + k}.get(t, 2 * d)   # QK-norms: per head (Qwen3), whole (OLMo-2)
    inner = f.size("intermediate_size")
    ffn = 3 * d * inner                                 # gated: gate, up and down
    ffn_bias = 2 * inner + d if t == "llama" and f.flag("mlp_bias", False) else 0
    windows = _windows(f, n_layer)
    moe = _moe_layers(f, n_layer)
    layers = []
    if any(moe):
        n_experts = f.either(("num_local_experts", "num_experts"))
        top_k = f.size("num_experts_per_tok")
        if top_k > n_experts:
            raise ValueError(f"{t} config: num_experts_per_tok={top_k} exceeds the "
                             f"{n_experts} experts")
        expert_inner = f.size("moe_intermediate_size") if t == "qwen3_moe" else inner
        expert = 3 * d * expert_inner
    for i in range(n_layer):
        if moe[i]:
            layers.append(_HFLayer(attention, attention_bias, norms, ffn=0, ffn_bias=0,
                                   n_experts=n_experts, top_k=top_k, expert=expert,
                                   router=d * n_experts, window=windows[i]))
        else:
            layers.append(_HFLayer(attention, attention_bias, norms, ffn, ffn_bias,
                                   window=windows[i]))
    return _HFArch(t, f.size("vocab_size"), d, n_head, hd, hd, 2 * k, 2 * k,
                   position_embedding=0, final_norm=d,
                   tied=f.flag("tie_word_embeddings", t in _TIED_DEFAULT), layers=tuple(layers),
                   not_built={})


def _parse_deepseek_v3(f: _Fields) -> _HFArch:
    d, n_layer, n_head = f.size("hidden_size"), f.size("num_hidden_layers"), \
        f.size("num_attention_heads")
    q_rank = f.get("q_lora_rank", None) if "q_lora_rank" in f.config else 1536
    f.used.add("q_lora_rank")
    kv_rank = f.size("kv_lora_rank")
    nope, rope, v = f.size("qk_nope_head_dim"), f.size("qk_rope_head_dim"), f.size("v_head_dim")
    qk = nope + rope
    bias = f.flag("attention_bias", False)
    # Multi-head latent attention: queries through a rank-q_rank bottleneck (or one
    # d x (heads * qk) matrix), keys and values through one shared kv_rank latent
    # plus a shared RoPE key of width `rope`, expanded per head by kv_b_proj.
    if q_rank is None:
        q_weights, q_bias, q_norm = d * n_head * qk, 0, 0
    else:
        q_rank = f.size("q_lora_rank", q_rank)
        q_weights, q_bias, q_norm = d * q_rank + q_rank * n_head * qk, q_rank, q_rank
    attention = q_weights + d * (kv_rank + rope) + kv_rank * n_head * (nope + v) + n_head * v * d
    attention_bias = (q_bias + kv_rank + rope + d) if bias else 0
    norms = 2 * d + q_norm + kv_rank
    if f.size("moe_layer_freq", 1) != 1:
        raise ValueError(f"deepseek_v3 config field 'moe_layer_freq'={f.get('moe_layer_freq')} "
                         "is not understood (transformers puts experts in every layer after "
                         "first_k_dense_replace)")
    first_dense = f.size("first_k_dense_replace", 3, minimum=0)
    n_experts = f.either(("n_routed_experts", "num_local_experts"))
    top_k = f.size("num_experts_per_tok")
    if top_k > n_experts:
        raise ValueError(f"deepseek_v3 config: num_experts_per_tok={top_k} exceeds the "
                         f"{n_experts} routed experts")
    expert = 3 * d * f.size("moe_intermediate_size")
    shared = f.size("n_shared_experts", 1, minimum=0) * expert
    dense = _HFLayer(attention, attention_bias, norms, 3 * d * f.size("intermediate_size"), 0)
    moe = _HFLayer(attention, attention_bias, norms, 0, 0, n_experts=n_experts, top_k=top_k,
                   expert=expert, shared=shared, router=n_experts * d)
    layers = tuple(dense if i < first_dense else moe for i in range(n_layer))
    vocab = f.size("vocab_size")
    # Multi-token prediction (DeepSeek-V3 paper, section 2.2): per extra depth one more
    # MoE block, RMSNorms of the hidden state and of the embedding, and a 2d -> d
    # projection; it shares the embedding and output head with the main model.
    # transformers does not build it.
    n_mtp = f.size("num_nextn_predict_layers", 0, minimum=0)
    mtp_block = attention + attention_bias + norms + n_experts * expert + shared + n_experts * d
    not_built = {"mtp": n_mtp * (mtp_block + 2 * d + 2 * d * d + d)} if n_mtp else {}
    return _HFArch("deepseek_v3", vocab, d, n_head, qk, v, kv_rank + rope,
                   n_head * (qk + v), position_embedding=0, final_norm=d,
                   tied=f.flag("tie_word_embeddings", False), layers=layers,
                   not_built=not_built)


_PARSERS = {"gpt2": _parse_gpt2, "gpt_neox": _parse_gpt_neox, "deepseek_v3": _parse_deepseek_v3,
            **dict.fromkeys(_LLAMA_LIKE, _parse_llama_like)}


def _hf_arch(config: Mapping) -> _HFArch:
    if not isinstance(config, Mapping):
        raise ValueError(f"expected a config dict (config.json), got {type(config).__name__}")
    model_type = config.get("model_type")
    if model_type not in _PARSERS:
        raise ValueError(f"model_type={model_type!r} is not supported; supported: "
                         f"{', '.join(HF_MODEL_TYPES)}")
    fields = _Fields(config, model_type)
    arch = _PARSERS[model_type](fields)
    fields.refuse_unknown()
    return arch


@dataclass(frozen=True)
class HFParamCount:
    """Exact parameters of a Hugging Face model, and those one token uses (MoE).

    `items` maps every name in HF_COMPONENTS to its count, as the transformers
    model holds them: tied weights once, norms inside attention (QK-norm, MLA's
    latent norms) under layer_norms, buffers not at all. `active_items` is the
    same with only `top_k` routed experts per MoE layer: what one token's
    forward pass multiplies by (plus its embedding row, counted in full by
    convention). `not_built` lists parameters of the release that the
    transformers model does not hold (DeepSeek-V3's multi-token-prediction
    module); they are in neither total. `biases` are the bias vectors inside
    attention and ffn.
    """

    name: str
    model_type: str
    items: Mapping[str, int]
    active_items: Mapping[str, int]
    total: int
    active: int
    n_layer: int
    n_moe_layers: int
    biases: int
    not_built: Mapping[str, int]

    @property
    def embedding(self) -> int:
        return sum(self.items[k] for k in ("token_embedding", "position_embedding", "lm_head"))

    @property
    def non_embedding(self) -> int:
        return self.total - self.embedding

    @property
    def active_share(self) -> float:
        return self.active / self.total


def count_hf_params(config: Mapping, name: str | None = None) -> HFParamCount:
    """Exact parameter count of the model a Hugging Face config.json describes.

    `config` is the dict of a config.json (or `PretrainedConfig.to_dict()`),
    for model_type gpt2, llama, mistral, mixtral, qwen2, qwen3, qwen3_moe,
    gemma, gemma2, olmo2, gpt_neox, phi3 or deepseek_v3. Missing optional
    fields take transformers' defaults. A ValueError names an unknown
    model_type, a missing size, or a field that could change the count and is
    not understood.
    """
    arch = _hf_arch(config)
    d, layers = arch.d_model, arch.layers
    items = dict.fromkeys(HF_COMPONENTS, 0)
    items["token_embedding"] = arch.vocab * d
    items["position_embedding"] = arch.position_embedding
    items["attention"] = sum(x.attention + x.attention_bias for x in layers)
    items["ffn"] = sum(x.ffn + x.ffn_bias for x in layers)
    items["shared_experts"] = sum(x.shared for x in layers)
    items["routed_experts"] = sum(x.n_experts * x.expert for x in layers)
    items["router"] = sum(x.router for x in layers)
    items["layer_norms"] = sum(x.norms for x in layers)
    items["final_norm"] = arch.final_norm
    items["lm_head"] = 0 if arch.tied else arch.vocab * d
    active = dict(items, routed_experts=sum(x.top_k * x.expert for x in layers))
    return HFParamCount(
        name=name or config.get("_name_or_path") or arch.model_type,
        model_type=arch.model_type, items=MappingProxyType(items),
        active_items=MappingProxyType(active), total=sum(items.values()),
        active=sum(active.values()), n_layer=len(layers),
        n_moe_layers=sum(1 for x in layers if x.n_experts),
        biases=sum(x.attention_bias + x.ffn_bias for x in layers),
        not_built=MappingProxyType(dict(arch.not_built)))


@dataclass(frozen=True)
class HFForwardFlops:
    """Matmul FLOPs (2 per multiply-add) per token of a forward pass, at context `n_ctx`.

    `attention` is the projections (for MLA its low-rank pairs), `context` the
    Q K^T and softmax(.) V products over the keys each query sees (n_ctx, or
    the window in a sliding layer), `ffn` the dense FFNs, `experts` the top_k
    routed experts a token visits, `shared_experts` and `router` the rest of
    an MoE layer. `all_experts` is `total` as it would be if every token ran
    every expert: the dense model with the same parameters.
    """

    n_ctx: int
    attention: int
    context: int
    ffn: int
    experts: int
    shared_experts: int
    router: int
    lm_head: int
    total: int
    all_experts: int


def _keys_seen(n_ctx: int, window: int | None) -> int:
    return n_ctx if window is None else min(n_ctx, window)


def hf_forward_flops_per_token(config: Mapping, n_ctx: int, head: bool = True) -> HFForwardFlops:
    """Exact matmul FLOPs per token of the model a config.json describes.

    Every weight matrix a token passes through costs 2 x its size: all of
    attention and the dense FFNs, and in an MoE layer the router, the shared
    experts and only `top_k` of the routed experts. Each query is scored
    against `n_ctx` keys, as a dense (masked) implementation computes them,
    except in sliding-window layers, where it sees at most `window` keys.
    MLA is counted as transformers runs it: K and V expanded from the latent
    once per token (kv_b_proj), then scores over qk_nope + qk_rope dims and
    values over v_head_dim per head. Biases, norms and activations are not
    matmuls and are left out.
    """
    _positive(n_ctx=n_ctx)
    arch = _hf_arch(config)
    layers = arch.layers
    attention = sum(2 * x.attention for x in layers)
    context = sum(2 * _keys_seen(n_ctx, x.window) * arch.n_head * (arch.d_qk + arch.d_v)
                  for x in layers)
    ffn = sum(2 * x.ffn for x in layers)
    experts = sum(2 * x.top_k * x.expert for x in layers)
    shared = sum(2 * x.shared for x in layers)
    router = sum(2 * x.router for x in layers)
    lm_head = 2 * arch.d_model * arch.vocab if head else 0
    total = attention + context + ffn + experts + shared + router + lm_head
    all_experts = total + sum(2 * (x.n_experts - x.top_k) * x.expert for x in layers)
    return HFForwardFlops(n_ctx=n_ctx, attention=attention, context=context, ffn=ffn,
                          experts=experts, shared_experts=shared, router=router,
                          lm_head=lm_head, total=total, all_experts=all_experts)


def hf_kv_cache_bytes(config: Mapping, batch: int, seq: int, bytes_per: float = 2,
                      latent: bool = True) -> int:
    """Bytes of KV cache for `batch` sequences of `seq` tokens, from a config.json.

    Per token and layer a model caches 2 x kv_heads x head_dim numbers (GPT-2
    and GPT-NeoX: 2 x d_model). MLA (DeepSeek-V3) caches its compressed latent
    and the shared RoPE key instead: kv_lora_rank + qk_rope_head_dim numbers,
    the saving MLA exists for; `latent=False` gives the expanded per-head K
    and V, heads x (qk_nope + qk_rope + v_head_dim), which is what
    transformers' own cache stores. A sliding-window layer keeps only the last
    `window` tokens (the keys a query can still see), so its share stops
    growing at seq = window.
    """
    _positive(batch=batch)
    _non_negative(seq=seq)
    if bytes_per <= 0:
        raise ValueError(f"bytes_per={bytes_per} must be > 0")
    arch = _hf_arch(config)
    per_token = arch.kv_cached if latent else arch.kv_expanded
    numbers = sum(batch * _keys_seen(seq, x.window) * per_token for x in arch.layers)
    return int(math.ceil(numbers * bytes_per))


def quantized_bits_per_weight(bits: float, group_size: int | None = None,
                              scale_bits: float = 16, zero_bits: float = 0) -> float:
    """Storage per weight of a group-quantised matrix: bits + (scale + zero point) / group.

    Each group of `group_size` consecutive weights shares one scale (and,
    for asymmetric schemes, one zero point), so int4 with groups of 128 and
    fp16 scales costs 4 + 16/128 = 4.125 bits per weight. `group_size=None`
    means no per-group overhead (per-tensor scales, or plain fp16/bf16).
    DeepSeek-V3's FP8 release scales 128 x 128 blocks with fp32 scales:
    bits=8, group_size=16384, scale_bits=32.
    """
    if bits <= 0:
        raise ValueError(f"bits={bits} must be > 0")
    _non_negative(scale_bits=scale_bits, zero_bits=zero_bits)
    if group_size is None:
        return float(bits)
    _positive(group_size=group_size)
    return bits + (scale_bits + zero_bits) / group_size


@dataclass(frozen=True)
class WeightMemory:
    """Bytes of a model's weights when its matrices are quantised.

    `quantized` parameters (the weight matrices of attention, FFNs, experts
    and router; embeddings and head too if asked) take `bits_per_weight`;
    the `kept` rest (norms, biases, by default embeddings and head) take
    `kept_bits`.
    """

    quantized: int
    kept: int
    bits_per_weight: float
    kept_bits: float
    total_bytes: int


def hf_weight_memory(config: Mapping, bits: float = 16, group_size: int | None = None,
                     scale_bits: float = 16, zero_bits: float = 0, kept_bits: float = 16,
                     quantize_embeddings: bool = False) -> WeightMemory:
    """Weight bytes of the model a config.json describes, with group-quantised matrices.

    The usual weight-only schemes (GPTQ, AWQ, bitsandbytes) quantise the
    linear layers and keep norms and biases, and often the embedding and the
    output head, in 16 bits; `quantize_embeddings=True` quantises those two
    as well. See quantized_bits_per_weight for the per-weight cost.
    """
    if kept_bits <= 0:
        raise ValueError(f"kept_bits={kept_bits} must be > 0")
    count = count_hf_params(config)
    matrices = sum(count.items[k] for k in ("attention", "ffn", "shared_experts",
                                            "routed_experts", "router")) - count.biases
    if quantize_embeddings:
        matrices += count.items["token_embedding"] + count.items["lm_head"]
    kept = count.total - matrices
    bpw = quantized_bits_per_weight(bits, group_size, scale_bits, zero_bits)
    total = int(math.ceil((matrices * bpw + kept * kept_bits) / 8))
    return WeightMemory(quantized=matrices, kept=kept, bits_per_weight=bpw, kept_bits=kept_bits,
                        total_bytes=total)


def hf_inference_memory(config: Mapping, batch: int = 1, seq: int = 4096,
                        bits: float = 16, group_size: int | None = None,
                        scale_bits: float = 16, kv_bytes: float = 2,
                        latent: bool = True) -> InferenceMemory:
    """Weights (quantised as in hf_weight_memory) plus the KV cache of `batch` x `seq` tokens.

    An MoE model must hold every expert, so its weights are those of the
    total count, not the active one.
    """
    weights = hf_weight_memory(config, bits, group_size, scale_bits).total_bytes
    kv = hf_kv_cache_bytes(config, batch, seq, kv_bytes, latent=latent)
    return InferenceMemory(weights=weights, kv_cache=kv, total=weights + kv)
