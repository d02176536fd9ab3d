"""One frozen, validated description of a transformer, with named presets.

The same `ModelConfig` drives parameter counting (engine.accounting), random
initialisation and the forward pass (engine.model), so a count can always be
checked against the arrays of a model built from the same config.

Each architectural idea of a model family is one field: where the norms sit
(`norm_position`, `parallel_residual`), which projections carry biases
(`qkv_bias`, `out_bias`, `ffn_bias`), QK-norm, Gemma's (1 + w) norm gain
(`norm_offset`), the embedding scale, soft-capping, partial rotary and RoPE
scaling, and sliding-window attention per layer. How a block attends and what
its feed-forward network is are chosen by `attention` and `ffn`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from engine.mla import MLAConfig
    from engine.moe import MoEConfig

Arch = Literal["decoder", "encoder", "encoder-decoder"]
Activation = Literal["gelu", "gelu_tanh", "relu", "swiglu", "geglu"]
Norm = Literal["layernorm", "rmsnorm"]
NormPosition = Literal["pre", "post", "post_in_residual", "sandwich"]
Positional = Literal["learned", "sinusoidal", "rope", "alibi", "relative"]
AttentionKind = Literal["mha", "mla"]
FFNKind = Literal["dense", "moe"]
QKNorm = Literal["head", "whole"]

_CHOICES = {
    "arch": ("decoder", "encoder", "encoder-decoder"),
    "activation": ("gelu", "gelu_tanh", "relu", "swiglu", "geglu"),
    "norm": ("layernorm", "rmsnorm"),
    "norm_position": ("pre", "post", "post_in_residual", "sandwich"),
    "positional": ("learned", "sinusoidal", "rope", "alibi", "relative"),
    # the sublayer kinds engine.model knows (its ATTENTION and FFN tables)
    "attention": ("mha", "mla"),
    "ffn": ("dense", "moe"),
    "qk_norm": (None, "head", "whole"),
}
GATED_ACTIVATIONS = ("swiglu", "geglu")   # act(x W_gate) * (x W_up): three FFN matrices


def _freeze(value: Any) -> Any:
    # dicts -> sorted (key, value) tuples and lists -> tuples, so the config stays hashable
    if isinstance(value, Mapping):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    return value


def swiglu_hidden(d_model: int, multiple_of: int = 256) -> int:
    """The SwiGLU hidden size LLaMA uses: 8/3 d, rounded up to a multiple.

    Three matrices of d x 8/3 d hold the same weights as two of d x 4d. GeGLU
    uses the same default.
    """
    hidden = int(2 * (4 * d_model) / 3)
    return multiple_of * ((hidden + multiple_of - 1) // multiple_of)


@dataclass(frozen=True)
class ModelConfig:
    name: str = "custom"
    arch: Arch = "decoder"
    vocab_size: int = 50257
    n_ctx: int = 1024                 # longest sequence; size of a learned position table
    d_model: int = 768
    n_layer: int = 12                 # encoder layers for an encoder-decoder
    n_head: int = 12
    n_kv_head: int | None = None      # None: one K/V head per query head (MHA); 1: MQA
    d_head: int | None = None         # None: d_model // n_head
    d_ff: int | None = None           # None: 4d, or swiglu_hidden(d) for SwiGLU
    n_decoder_layer: int | None = None  # encoder-decoder only; None: same as n_layer
    activation: Activation = "gelu"   # swiglu: silu(x W_gate) * x W_up; geglu: gelu_tanh gate
    norm: Norm = "layernorm"
    # pre: x + f(norm(x))   post: norm(x + f(x))   post_in_residual (OLMo 2): x + norm(f(x))
    # sandwich (Gemma 2): x + post_norm(f(norm(x)))
    norm_position: NormPosition = "pre"
    bias: bool = True                 # biases on every linear layer and on the norms
    qkv_bias: bool | None = None      # biases on q/k/v only; None: as `bias` (Qwen2: True)
    out_bias: bool | None = None      # bias on the attention output projection; None: as `bias`
    ffn_bias: bool | None = None      # biases inside the FFN; None: as `bias`
    tie_embeddings: bool = True       # output head shares the token embedding
    positional: Positional = "learned"
    type_vocab_size: int = 0          # BERT's segment embeddings
    embedding_norm: bool = False      # BERT normalises the summed embeddings
    final_norm: bool = True           # a norm after the last block (pre-norm models)
    pooler: bool = False              # BERT's [CLS] pooler: one d x d dense layer
    relative_buckets: int = 32        # T5 relative-position buckets (positional="relative")
    eps: float = 1e-5
    rope_theta: float = 10000.0
    attn_scale: float | None = None   # None: 1/sqrt(d_head); T5 uses 1.0 (folded into its init);
    #                                   Gemma 2: query_pre_attn_scalar**-0.5
    output_scale: float = 1.0         # multiplies the final states before the head; T5: d**-0.5
    attention: AttentionKind = "mha"  # how a block attends: "mha" covers MHA, GQA and MQA
    ffn: FFNKind = "dense"            # the block's feed-forward network
    parallel_residual: bool = False   # x + attn(norm1(x)) + ffn(norm2(x)) (GPT-NeoX)
    qk_norm: QKNorm | None = None     # RMSNorm on q and k: per "head" (Qwen3) or "whole"
    #                                   projection (OLMo 2), before RoPE
    norm_offset: float = 0.0          # norm gain is (norm_offset + g); Gemma: 1, i.e. (1 + w)
    embedding_scale: float = 1.0      # token embeddings times this, in the model dtype (Gemma:
    #                                   sqrt(d_model))
    attn_softcap: float | None = None   # scores -> cap * tanh(scores / cap) (Gemma 2: 50)
    final_softcap: float | None = None  # logits -> cap * tanh(logits / cap) (Gemma 2: 30)
    rotary_dim: int | None = None     # RoPE rotates the first rotary_dim dims per head; None: all
    # transformers' rope dict ({"rope_type": "llama3", "factor": 8, ...}; see
    # engine.positional.rope_inv_freq); stored as sorted (key, value) pairs
    rope_scaling: Any = None
    sliding_window: int | None = None  # every layer attends to the last `sliding_window` tokens
    layer_windows: tuple[int | None, ...] | None = None  # per-layer window, None = global
    # attention="mla": DeepSeek's multi-head latent attention (engine.mla); d_head is then
    # qk_nope_head_dim + qk_rope_head_dim and rotary_dim qk_rope_head_dim
    mla: MLAConfig | None = None
    moe: MoEConfig | None = None      # ffn="moe": router and experts (engine.moe)
    dense_layers: tuple[int, ...] = ()  # ffn="moe": blocks that keep a dense FFN of width d_ff
    #                                     (DeepSeek's first_k_dense_replace, Qwen's mlp_only_layers)

    def __post_init__(self) -> None:
        if isinstance(self.rope_scaling, (Mapping, list)):
            object.__setattr__(self, "rope_scaling", _freeze(self.rope_scaling))
        if isinstance(self.layer_windows, list):
            object.__setattr__(self, "layer_windows", tuple(self.layer_windows))
        if isinstance(self.dense_layers, list):
            object.__setattr__(self, "dense_layers", tuple(self.dense_layers))
        problems = []
        for field, allowed in _CHOICES.items():
            if getattr(self, field) not in allowed:
                problems.append(f"{field}={getattr(self, field)!r} is not one of "
                                f"{', '.join(allowed)}")
        for field in ("vocab_size", "n_ctx", "d_model", "n_layer", "n_head"):
            if getattr(self, field) < 1:
                problems.append(f"{field}={getattr(self, field)} must be >= 1")
        if self.d_head is None and self.n_head >= 1 and self.d_model % self.n_head:
            problems.append(f"d_model={self.d_model} is not divisible by n_head={self.n_head}")
        kv = self.kv_heads
        if self.n_head >= 1 and (kv < 1 or self.n_head % kv):
            problems.append(f"n_head={self.n_head} is not divisible by n_kv_head={kv}")
        if self.d_ff is not None and self.d_ff < 1:
            problems.append(f"d_ff={self.d_ff} must be >= 1")
        problems += self._family_problems() + self._sparse_problems()
        if problems:
            raise ValueError("; ".join(problems))

    def _family_problems(self) -> list[str]:
        problems = []
        if self.parallel_residual and self.norm_position != "pre":
            problems.append(f"parallel_residual needs norm_position='pre', "
                            f"not {self.norm_position!r}")
        if self.parallel_residual and self.arch == "encoder-decoder":
            problems.append("parallel_residual has no cross-attention form")
        for field in ("attn_softcap", "final_softcap"):
            if getattr(self, field) is not None and not getattr(self, field) > 0:
                problems.append(f"{field}={getattr(self, field)} must be > 0")
        if self.positional != "rope":
            for field in ("rotary_dim", "rope_scaling"):
                if getattr(self, field) is not None:
                    problems.append(f"{field} needs positional='rope', not {self.positional!r}")
        elif self.n_head >= 1 and self.head_dim >= 1:
            r = self.rotary_dims
            if self.rotary_dim is not None and (r < 2 or r % 2 or r > self.head_dim):
                problems.append(f"rotary_dim={r} must be even and in [2, head_dim="
                                f"{self.head_dim}]")
            elif self.rope_scaling is not None:   # (keeps numpy out of plain configs)
                from engine.positional import check_rope_scaling
                try:
                    check_rope_scaling(self.rope_scaling_dict, r)
                except ValueError as e:
                    problems.append(f"rope_scaling: {e}")
        windows = [] if self.sliding_window is None else [self.sliding_window]
        if self.layer_windows is not None:
            if self.sliding_window is not None:
                problems.append("give sliding_window or layer_windows, not both")
            if len(self.layer_windows) != self.n_layer:
                problems.append(f"layer_windows has {len(self.layer_windows)} entries; "
                                f"n_layer={self.n_layer}")
            windows += [w for w in self.layer_windows if w is not None]
        if any(not isinstance(w, int) or w < 1 for w in windows):
            problems.append(f"attention windows {windows} must be integers >= 1")
        if windows and self.arch != "decoder":
            problems.append(f"sliding-window attention is causal: arch={self.arch!r} "
                            "must be 'decoder'")
        return problems

    @property
    def head_dim(self) -> int:
        return self.d_head if self.d_head is not None else self.d_model // self.n_head

    @property
    def kv_heads(self) -> int:
        return self.n_kv_head if self.n_kv_head is not None else self.n_head

    @property
    def ffn_dim(self) -> int:
        if self.d_ff is not None:
            return self.d_ff
        return (swiglu_hidden(self.d_model) if self.activation in GATED_ACTIVATIONS
                else 4 * self.d_model)

    @property
    def rotary_dims(self) -> int:
        """Dims of each head that RoPE rotates (all of them unless rotary_dim is set)."""
        return self.rotary_dim if self.rotary_dim is not None else self.head_dim

    @property
    def rope_scaling_dict(self) -> dict | None:
        """rope_scaling as the dict transformers writes (lists for the longrope factors)."""
        if self.rope_scaling is None:
            return None
        return {k: list(v) if isinstance(v, tuple) else v for k, v in self.rope_scaling}

    def window(self, layer: int) -> int | None:
        """The attention window of block `layer` (None: it attends to every earlier token)."""
        if self.layer_windows is not None:
            return self.layer_windows[layer]
        return self.sliding_window

    @property
    def has_windows(self) -> bool:
        return self.sliding_window is not None or any(
            w is not None for w in self.layer_windows or ())

    def _sparse_problems(self) -> list[str]:
        # latent attention and mixture-of-experts FFNs
        problems = []
        if (self.attention == "mla") != (self.mla is not None):
            problems.append(f"attention={self.attention!r} with mla={self.mla!r}: "
                            "attention='mla' needs an MLAConfig, and only it takes one")
        elif self.mla is not None:
            m = self.mla
            if self.arch != "decoder" or self.positional != "rope":
                problems.append("attention='mla' needs arch='decoder' and positional='rope'")
            elif m.n_head != self.n_head or self.head_dim != m.qk_head_dim \
                    or self.rotary_dims != m.qk_rope_head_dim:
                problems.append(f"MLA needs n_head={m.n_head}, d_head={m.qk_head_dim} "
                                f"(qk_nope + qk_rope) and rotary_dim={m.qk_rope_head_dim}; "
                                f"got {self.n_head}, {self.head_dim}, {self.rotary_dims}")
            if self.has_windows or self.qk_norm is not None or self.attn_softcap is not None:
                problems.append("attention='mla' has no sliding windows, QK-norm or soft-capping")
        if (self.ffn == "moe") != (self.moe is not None):
            problems.append(f"ffn={self.ffn!r} with moe={self.moe!r}: ffn='moe' needs a "
                            "MoEConfig, and only it takes one")
        elif self.moe is not None and self.activation != "swiglu":
            problems.append(f"ffn='moe' has SwiGLU experts: activation={self.activation!r} "
                            "must be 'swiglu'")
        if self.dense_layers and (self.ffn != "moe" or any(
                not isinstance(i, int) or not 0 <= i < self.n_layer for i in self.dense_layers)):
            problems.append(f"dense_layers={self.dense_layers} needs ffn='moe' and block "
                            f"indices in 0..{self.n_layer - 1}")
        return problems

    def ffn_of(self, layer: int | None) -> str:
        """The FFN kind of block `layer`: "dense" for the dense_layers, else `ffn`."""
        if layer is None and self.dense_layers:
            raise ValueError("this config mixes dense and MoE blocks: pass layer= (the block "
                             "index)")
        return "dense" if layer in self.dense_layers else self.ffn

    def bias_of(self, part: str) -> bool:
        """Whether the "qkv", "out" (attention output) or "ffn" projections have biases."""
        own = {"qkv": self.qkv_bias, "out": self.out_bias, "ffn": self.ffn_bias}[part]
        return self.bias if own is None else own

    @property
    def decoder_layers(self) -> int:
        return self.n_decoder_layer if self.n_decoder_layer is not None else self.n_layer

    def replace(self, **changes) -> ModelConfig:
        return dataclasses.replace(self, **changes)


_GPT2 = dict(arch="decoder", vocab_size=50257, n_ctx=1024, activation="gelu_tanh",
             norm="layernorm", bias=True, tie_embeddings=True, positional="learned")
_BERT = dict(arch="encoder", vocab_size=30522, n_ctx=512, activation="gelu", norm="layernorm",
             norm_position="post", bias=True, tie_embeddings=True, positional="learned",
             type_vocab_size=2, embedding_norm=True, final_norm=False, pooler=True, eps=1e-12)
_LLAMA = dict(arch="decoder", vocab_size=32000, activation="swiglu", norm="rmsnorm",
              bias=False, tie_embeddings=False, positional="rope", eps=1e-5)

PRESETS: dict[str, ModelConfig] = {
    "gpt2": ModelConfig(name="gpt2", d_model=768, n_layer=12, n_head=12, **_GPT2),
    "gpt2-medium": ModelConfig(name="gpt2-medium", d_model=1024, n_layer=24, n_head=16, **_GPT2),
    "gpt2-large": ModelConfig(name="gpt2-large", d_model=1280, n_layer=36, n_head=20, **_GPT2),
    "gpt2-xl": ModelConfig(name="gpt2-xl", d_model=1600, n_layer=48, n_head=25, **_GPT2),
    "bert-base": ModelConfig(name="bert-base", d_model=768, n_layer=12, n_head=12, **_BERT),
    "bert-large": ModelConfig(name="bert-large", d_model=1024, n_layer=24, n_head=16, **_BERT),
    "t5-small": ModelConfig(name="t5-small", arch="encoder-decoder", vocab_size=32128, n_ctx=512,
                            d_model=512, n_layer=6, n_head=8, d_head=64, d_ff=2048,
                            activation="relu", norm="rmsnorm", bias=False, tie_embeddings=True,
                            positional="relative", relative_buckets=32, eps=1e-6,
                            attn_scale=1.0, output_scale=512**-0.5),
    "llama-2-7b": ModelConfig(name="llama-2-7b", n_ctx=4096, d_model=4096, n_layer=32,
                              n_head=32, d_ff=11008, **_LLAMA),
    "llama-2-13b": ModelConfig(name="llama-2-13b", n_ctx=4096, d_model=5120, n_layer=40,
                               n_head=40, d_ff=13824, **_LLAMA),
    "llama-2-70b": ModelConfig(name="llama-2-70b", n_ctx=4096, d_model=8192, n_layer=80,
                               n_head=64, n_kv_head=8, d_ff=28672, **_LLAMA),
    "llama-3-8b": ModelConfig(name="llama-3-8b", **{**_LLAMA, "vocab_size": 128256},
                              n_ctx=8192, d_model=4096, n_layer=32, n_head=32, n_kv_head=8,
                              d_ff=14336, rope_theta=500000.0),
    "mistral-7b": ModelConfig(name="mistral-7b", n_ctx=32768, d_model=4096, n_layer=32,
                              n_head=32, n_kv_head=8, d_ff=14336, sliding_window=4096,
                              **_LLAMA),
}


def preset(name: str) -> ModelConfig:
    """The named preset; a ValueError lists the known names otherwise."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown preset {name!r}; known: {', '.join(PRESETS)}") from None
