"""One frozen, validated description of a transformer, with named presets.

The same `ModelConfig` drives parameter counting (engine.accounting), random
initialisation and the forward pass (engine.model), so a count can always be
checked against the arrays of a model built from the same config.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

Arch = Literal["decoder", "encoder", "encoder-decoder"]
Activation = Literal["gelu", "gelu_tanh", "relu", "swiglu"]
Norm = Literal["layernorm", "rmsnorm"]
NormPosition = Literal["pre", "post"]
Positional = Literal["learned", "sinusoidal", "rope", "alibi", "relative"]

_CHOICES = {
    "arch": ("decoder", "encoder", "encoder-decoder"),
    "activation": ("gelu", "gelu_tanh", "relu", "swiglu"),
    "norm": ("layernorm", "rmsnorm"),
    "norm_position": ("pre", "post"),
    "positional": ("learned", "sinusoidal", "rope", "alibi", "relative"),
}


def swiglu_hidden(d_model: int, multiple_of: int = 256) -> int:
    """The SwiGLU hidden size LLaMA uses: 8/3 d, rounded up to a multiple.

    Three matrices of d x 8/3 d hold the same weights as two of d x 4d.
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
    activation: Activation = "gelu"
    norm: Norm = "layernorm"
    norm_position: NormPosition = "pre"
    bias: bool = True                 # biases on every linear layer and on the norms
    tie_embeddings: bool = True       # output head shares the token embedding
    positional: Positional = "learned"
    type_vocab_size: int = 0          # BERT's segment embeddings
    embedding_norm: bool = False      # BERT normalises the summed embeddings
    final_norm: bool = True           # a norm after the last block (pre-norm models)
    pooler: bool = False              # BERT's [CLS] pooler: one d x d dense layer
    relative_buckets: int = 32        # T5 relative-position buckets (positional="relative")
    eps: float = 1e-5
    rope_theta: float = 10000.0
    attn_scale: float | None = None   # None: 1/sqrt(d_head); T5 uses 1.0 (folded into its init)
    output_scale: float = 1.0         # multiplies the final states before the head; T5: d**-0.5

    def __post_init__(self) -> None:
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
        if problems:
            raise ValueError("; ".join(problems))

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
        return swiglu_hidden(self.d_model) if self.activation == "swiglu" else 4 * self.d_model

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
                              n_head=32, n_kv_head=8, d_ff=14336, **_LLAMA),
}


def preset(name: str) -> ModelConfig:
    """The named preset; a ValueError lists the known names otherwise."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown preset {name!r}; known: {', '.join(PRESETS)}") from None
