"""Every demo's name, topics, aliases and typed parameters, without importing NumPy.

The bank validator, `tutor demo` with no name, and shell completion read this
table; only running a demo imports its module (`tutor.demos.<module>`), which
holds `compute(p, rng, progress) -> dict` and `render(result) -> rich renderable`.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Param:
    """A typed demo option with a default and safe bounds (`--name-with-dashes` on the CLI)."""

    name: str
    type: type  # int, float, str or bool
    default: Any
    help: str
    min: float | None = None
    max: float | None = None
    choices: tuple[str, ...] | None = None
    multiple: bool = False          # a list of values: --opt 1 --opt 2 (or 1,2 in YAML lists)
    max_items: int = 16
    bound_reason: str = "it would need more memory or time than a demo should take"

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


@dataclass(frozen=True)
class DemoInfo:
    name: str
    summary: str
    topics: tuple[str, ...]
    params: tuple[Param, ...] = ()
    aliases: tuple[str, ...] = ()
    module: str = ""

    def __post_init__(self) -> None:
        if not self.module:
            object.__setattr__(self, "module", "tutor.demos." + self.name.replace("-", "_"))

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)


_PRESETS = ("gpt2", "gpt2-medium", "gpt2-large", "gpt2-xl", "bert-base", "bert-large",
            "t5-small", "llama-2-7b", "llama-2-13b", "llama-2-70b", "llama-3-8b", "mistral-7b")
# published Hugging Face configs (engine.hf_configs.HF_PRESETS), counted by the params demo
HF_PRESETS = ("mixtral-8x7b", "qwen2.5-7b", "qwen3-30b-a3b", "gemma-2-9b", "llama-3.1-8b",
              "llama-3.1-70b", "llama-3.1-405b", "phi-3-mini", "gpt-neox-20b", "olmo-2-7b",
              "deepseek-v3")
# the bound of an option that only sizes arithmetic, not work
_REAL = "far beyond any published model"
SEED = Param("seed", int, 0, "Random seed: the same seed gives the same figures.", 0, 2**32 - 1)

_DEMOS = [
    DemoInfo("scaling", "Softmax saturation with and without 1/sqrt(d_k)",
             ("scaling", "attention"), aliases=("sqrt-dk", "softmax"), params=(
                 Param("d_k", int, [4, 16, 64, 256, 1024], "Head dimensions to compare.",
                       1, 16384, multiple=True),
                 Param("n_keys", int, 64, "Keys each query attends over.", 2, 4096),
                 Param("trials", int, 200, "Random queries averaged per d_k.", 1, 5000),
             )),
    DemoInfo("complexity", "Measured O(n^2) attention time and memory against the FFN",
             ("complexity", "systems"), aliases=("quadratic", "timing"), params=(
                 Param("n_min", int, 128, "Smallest sequence length timed.", 64, 1024),
                 Param("n_max", int, 1024, "Largest sequence length timed.", 128, 4096),
                 Param("d_model", int, 64, "Head dimension of the timed attention.", 8, 512),
                 Param("repeats", int, 5, "Timings per size (the median is kept).", 1, 20),
                 Param("dtype", str, "float64", "Float type of the timed arrays.",
                       choices=("float64", "float32")),
             )),
    DemoInfo("params", "Itemised parameter counts: the 12d^2 rule against the exact count",
             ("params", "architecture"), aliases=("parameters", "param-count"), params=(
                 Param("preset", str, "gpt2", "Start from a real model's config.",
                       choices=_PRESETS + HF_PRESETS),
                 Param("hf_config", str, None, "A Hugging Face config.json to count exactly "
                       "(total and active parameters)."),
                 Param("d_model", int, None, "Width d (overrides the preset).", 1, 65536),
                 Param("layers", int, None, "Number of blocks.", 1, 1024),
                 Param("heads", int, None, "Query heads.", 1, 1024),
                 Param("kv_heads", int, None, "Key/value heads (GQA; 1 = MQA).", 1, 1024),
                 Param("vocab", int, None, "Vocabulary size.", 1, 10_000_000),
                 Param("context", int, None, "Context length (learned positions).", 1, 10_000_000),
                 Param("ffn_dim", int, None, "FFN hidden size (default 4d, SwiGLU 8/3 d).",
                       1, 1_000_000),
                 Param("activation", str, None, "FFN activation.",
                       choices=("gelu", "relu", "swiglu")),
                 Param("norm", str, None, "Normalisation.", choices=("layernorm", "rmsnorm")),
                 Param("bias", bool, None, "Biases on linear layers and norms."),
                 Param("tie", bool, None, "Tie the output head to the token embedding."),
                 Param("positional", str, None, "Position scheme.",
                       choices=("learned", "sinusoidal", "rope", "alibi")),
             )),
    DemoInfo("masks", "Causal and padding masks, proved by perturbation",
             ("masks",), aliases=("mask", "causal", "padding"), params=(
                 Param("n", int, 8, "Sequence length.", 2, 32),
                 Param("d", int, 16, "Model width.", 2, 512),
                 Param("lengths", int, [8, 5], "Real lengths of the sequences in the batch "
                       "(the rest is padding).", 1, 32, multiple=True, max_items=8),
             )),
    DemoInfo("norms", "LayerNorm vs BatchNorm vs RMSNorm, and pre-norm vs post-norm in depth",
             ("norms",), aliases=("layernorm", "prenorm", "pre-norm", "post-norm"), params=(
                 Param("layers", int, 24, "Depth of the stack.", 1, 96),
                 Param("d", int, 128, "Model width.", 8, 1024),
                 Param("seq", int, 16, "Tokens per sequence.", 2, 256),
                 Param("batch", int, 8, "Sequences per batch.", 2, 64),
             )),
    DemoInfo("positional", "Why positions are needed, and how sinusoidal, RoPE and ALiBi work",
             ("positional",), aliases=("position", "rope", "alibi", "sinusoidal"), params=(
                 Param("n", int, 32, "Sequence length.", 4, 1024),
                 Param("d", int, 64, "Model (or head) width; even.", 4, 1024),
                 Param("train_len", int, 64, "Training length for the extrapolation check.",
                       8, 2048),
             )),
    DemoInfo("heads", "Multi-head against single-head attention at the same parameter count",
             ("attention",), aliases=("multi-head", "mha"), params=(
                 Param("d_model", int, 64, "Model width.", 8, 1024),
                 Param("heads", int, 8, "Heads in the multi-head layer.", 1, 64),
                 Param("n", int, 32, "Sequence length.", 4, 512),
             )),
    DemoInfo("kv-cache", "Generation with and without a KV cache: same tokens, less work",
             ("inference",), aliases=("kv", "cache"), params=(
                 Param("new_tokens", int, 64, "Tokens generated for the timing.", 1, 512),
                 Param("d_model", int, 128, "Width of the timed model.", 16, 1024),
                 Param("layers", int, 2, "Depth of the timed model.", 1, 12),
                 Param("preset", str, "llama-2-7b", "Real model for the cache-size table.",
                       choices=_PRESETS),
                 Param("context", int, 4096, "Context length for the cache-size table.",
                       1, 10_000_000),
                 Param("bytes_per", int, 2, "Bytes per cached number (2 = fp16).", 1, 8),
             )),
    DemoInfo("flash", "Tiled online-softmax attention: equal output, a fraction of the memory",
             ("efficient-attention",), aliases=("flash-attention", "tiled"), params=(
                 Param("n_max", int, 4096, "Largest sequence length measured.", 256, 16384),
                 Param("block", int, 256, "Tile size.", 16, 2048),
                 Param("d", int, 64, "Head dimension.", 8, 256),
             )),
    DemoInfo("sparse", "Local, global and strided attention patterns and their cost",
             ("efficient-attention",), aliases=("longformer", "bigbird", "local", "window"),
             params=(
                 Param("n", int, 32, "Sequence length drawn.", 8, 64),
                 Param("window", int, 3, "Local window (each side).", 1, 32),
                 Param("stride", int, 8, "Stride of the strided pattern.", 2, 32),
                 Param("global_tokens", int, 2, "Global tokens (Longformer).", 0, 16),
                 Param("layers", int, 6, "Depth for the receptive-field growth.", 1, 64),
             )),
    DemoInfo("linear-attention", "(QK^T)V against Q(K^T V); Performer and Linformer errors",
             ("efficient-attention",), aliases=("performer", "linformer", "kernel"), params=(
                 Param("n", int, 512, "Sequence length.", 16, 4096),
                 Param("d", int, 32, "Head dimension.", 4, 256),
                 Param("features", int, [16, 64, 256, 1024], "Performer feature counts.",
                       1, 4096, multiple=True),
                 Param("ranks", int, [8, 32, 128], "Linformer ranks.", 1, 4096, multiple=True),
             )),
    DemoInfo("memory", "Training and inference memory: weights, gradients, Adam, activations",
             ("systems",), aliases=("mem", "gpu-memory"), params=(
                 Param("params", float, 175e9, "Parameter count (ignored with --preset).",
                       1, 1e13),
                 Param("preset", str, None, "Use a real model's config.", choices=_PRESETS),
                 Param("batch", int, 1, "Batch size for activations and KV cache.", 1, 4096),
                 Param("seq", int, 2048, "Sequence length.", 1, 1_000_000),
             )),
    DemoInfo("flops", "FLOPs per token, 6ND training compute, and Chinchilla-optimal tokens",
             ("systems", "complexity"), aliases=("compute", "chinchilla"), params=(
                 Param("preset", str, "gpt2", "Model config.", choices=_PRESETS),
                 Param("context", int, [512, 2048, 8192, 32768, 131072],
                       "Context lengths for the attention share.", 1, 10_000_000,
                       multiple=True),
                 Param("tokens", float, None, "Training tokens (default: Chinchilla-optimal).",
                       1, 1e15),
             )),
    DemoInfo("decoding", "Greedy, temperature, top-k, top-p, min-p, repetition penalty, beams",
             ("inference",), aliases=("sampling", "top-p", "top-k", "temperature", "min-p",
                                      "beam-search", "repetition-penalty"), params=(
                 Param("temperature", float, 0.8, "Sampling temperature.", 0.05, 5.0),
                 Param("top_k", int, 5, "k for top-k.", 1, 1000),
                 Param("top_p", float, 0.9, "p for nucleus sampling.", 0.01, 1.0),
                 Param("steps", int, 40, "Tokens to generate.", 1, 200),
                 Param("min_p", float, 0.1, "min-p: keep tokens with p >= min_p x top p.",
                       0.0, 1.0),
                 Param("repetition_penalty", float, 1.3, "Penalty for tokens already seen "
                       "(1 = none).", 1.0, 10.0),
                 Param("beam_width", int, 4, "Beams kept by beam search.", 1, 32),
             )),
    DemoInfo("tokenization", "Byte-level BPE trained live: vocabulary size against cost",
             ("tokenization",), aliases=("bpe", "vocab", "tokens"), params=(
                 Param("vocab", int, [260, 300, 500, 1000], "Vocabulary sizes to train.",
                       257, 5000, multiple=True),
                 Param("d_model", int, 4096, "Width for embedding-parameter cost.", 1, 65536),
             )),
    DemoInfo("activations", "ReLU, GELU (exact and tanh) and SwiGLU; SwiGLU's 8/3 ratio",
             ("training", "architecture"), aliases=("gelu", "swiglu", "relu"), params=(
                 Param("d_model", int, 4096, "Width for the FFN parameter match.", 8, 65536),
             )),
    DemoInfo("residual", "Signal and gradient through depth, with and without residuals",
             ("architecture",), aliases=("residuals", "vanishing-gradients", "rnn"), params=(
                 Param("layers", int, 32, "Depth of the stack.", 1, 256),
                 Param("d", int, 64, "Width.", 4, 1024),
                 Param("steps", int, 50, "RNN time steps for the gradient-through-time view.",
                       2, 1000),
             )),
    DemoInfo("training", "Warmup schedules and label smoothing",
             ("training",), aliases=("warmup", "label-smoothing", "lr"), params=(
                 Param("warmup", int, 4000, "Warmup steps.", 1, 1_000_000),
                 Param("steps", int, 100000, "Total steps.", 10, 100_000_000),
                 Param("d_model", int, 512, "Width (for the inverse-sqrt schedule).", 1, 65536),
                 Param("smoothing", float, 0.1, "Label smoothing epsilon.", 0.0, 0.99),
                 Param("classes", int, 10, "Classes for the label-smoothing example.", 2, 100000),
             )),
    DemoInfo("cross-attention", "Decoder queries over encoder keys: shapes and masks",
             ("attention", "architecture"), aliases=("cross", "encoder-decoder"), params=(
                 Param("n_src", int, 7, "Encoder (source) length.", 1, 48),
                 Param("n_tgt", int, 5, "Decoder (target) length.", 1, 48),
                 Param("d", int, 16, "Model width.", 2, 512),
                 Param("pad", int, 2, "Padding tokens at the end of the source.", 0, 47),
             )),
    DemoInfo("additive", "Bahdanau additive attention against scaled dot-product attention",
             ("attention",), aliases=("bahdanau",), params=(
                 Param("n", int, 16, "Sequence length.", 2, 2048),
                 Param("d", int, 32, "Width.", 2, 1024),
             )),
    DemoInfo("lora", "LoRA: a rank-r update B·A, merged exactly; QLoRA's NF4 memory",
             ("fine-tuning", "peft", "training"),
             aliases=("qlora", "adapters", "low-rank", "lora-rank"), params=(
                 Param("ranks", int, [1, 2, 4, 8, 16], "Adapter ranks to train.", 1, 64,
                       multiple=True, max_items=8),
                 Param("alpha", float, 16.0, "LoRA alpha (the update is scaled by alpha/r).",
                       0.01, 1024.0),
                 Param("task_rank", int, 4, "Rank of the update the task needs.", 1, 64),
                 Param("steps", int, 200, "Adam steps per rank.", 1, 3000),
                 Param("preset", str, "llama-2-7b", "Real model for the counts and memory.",
                       choices=_PRESETS),
                 Param("rank", int, 16, "Rank for the real model's adapters.", 1, 1024),
             )),
    DemoInfo("quantize", "int8/int4 absmax and zero-point, groups, NF4; LLM.int8 and AWQ",
             ("quantization", "inference", "systems"),
             aliases=("quantization", "int8", "int4", "llm-int8", "awq", "nf4"), params=(
                 Param("group_size", int, 32, "Values per scale for group-wise quantization.",
                       2, 64),
                 Param("outlier", float, 20.0, "Scale of the injected outlier feature.",
                       1.0, 1000.0),
                 Param("threshold", float, 6.0, "LLM.int8 outlier threshold.", 0.1, 100.0),
             )),
    DemoInfo("speculative", "Speculative decoding: acceptance, tokens per call, same output",
             ("inference", "serving"),
             aliases=("speculative-decoding", "draft-model", "spec-decoding"), params=(
                 Param("gamma", int, 4, "Draft tokens per target call.", 1, 16),
                 Param("tokens", int, 48, "Tokens to generate.", 1, 400),
                 Param("draft", str, "noise", "Draft: the target with noise, or its first "
                       "layer only.", choices=("noise", "shallow")),
                 Param("noise", float, 0.5, "Noise added to the draft's weights (x their std).",
                       0.0, 5.0),
                 Param("draws", int, 200_000, "Draws for the distribution check.", 1000,
                       2_000_000),
             )),
    DemoInfo("mixed-precision", "fp16 overflow/underflow, loss scaling, bf16, FP8 block scales",
             ("training", "systems", "precision"),
             aliases=("fp16", "bf16", "fp8", "loss-scaling", "half-precision", "precision"),
             params=(
                 Param("vocab", int, 32000, "Vocabulary of the gradient example.", 256, 262144),
                 Param("rows", int, 8, "Token positions whose gradients are cast.", 1, 512),
                 Param("batch_tokens", int, 8192, "Tokens the loss is averaged over.", 1,
                       10_000_000),
                 Param("block", int, 32, "Values per FP8 scale.", 1, 4096),
             )),
    DemoInfo("roofline", "Arithmetic intensity of prefill and decode on A100 and H100",
             ("systems", "inference", "serving"),
             aliases=("arithmetic-intensity", "memory-bound", "compute-bound"), params=(
                 Param("preset", str, "llama-3-8b", "Model shape.", choices=_PRESETS),
                 Param("context", int, 512, "Tokens already in each sequence's KV cache.",
                       1, 1_000_000),
                 Param("prompt", int, 512, "Prompt length for prefill.", 1, 1_000_000),
                 Param("bytes_per", int, 2, "Bytes per weight and cached number.", 1, 4),
                 Param("batches", int, [1, 4, 16, 64, 256, 1024], "Batch sizes.", 1,
                       1_000_000, multiple=True),
             )),
    DemoInfo("paged-kv", "Contiguous against paged KV memory; prefix sharing, copy-on-write",
             ("inference", "serving"),
             aliases=("paged-attention", "pagedattention", "vllm", "prefix-caching"), params=(
                 Param("requests", int, 200, "Requests in the stream.", 1, 2000),
                 Param("capacity", int, 16384, "KV memory in token slots.", 256, 1_000_000),
                 Param("block", int, 16, "Tokens per block.", 1, 256),
                 Param("reserve", int, 2048, "Tokens reserved per request (contiguous).",
                       16, 32768),
                 Param("max_prompt", int, 512, "Longest prompt (uniform from 16).", 16, 16384),
                 Param("max_output", int, 512, "Longest output (uniform from 16).", 16, 16384),
                 Param("rate", float, 0.2, "Arrivals per step.", 0.01, 10.0),
                 Param("system_prompt", int, 500, "Shared system prompt, tokens.", 0, 16384),
                 Param("preset", str, "llama-2-7b", "Model for bytes per token.",
                       choices=_PRESETS),
             )),
    DemoInfo("preference", "DPO loss and gradient against beta; GRPO advantages; the KL term",
             ("post-training", "alignment", "rlhf"),
             aliases=("dpo", "grpo", "rlhf", "kl-penalty"), params=(
                 Param("beta", float, [0.03, 0.1, 0.3, 1.0], "DPO beta values.", 0.001, 100.0,
                       multiple=True, max_items=8),
                 Param("pairs", int, 16, "Preference pairs.", 1, 1000),
                 Param("length", int, 4, "Tokens per response.", 1, 32),
                 Param("vocab", int, 8, "Tokens per position.", 2, 256),
                 Param("steps", int, 200, "Gradient steps per beta.", 1, 5000),
                 Param("group", int, 8, "GRPO group size.", 2, 1024),
                 Param("samples", int, 20000, "Samples for the KL estimators.", 10, 1_000_000),
             )),
    DemoInfo("moe", "Mixture of experts: routing, the balancing loss, capacity drops, "
             "active parameters", ("mixture-of-experts", "architecture", "systems"),
             aliases=("experts", "router", "routing", "load-balancing", "aux-loss",
                      "expert-capacity", "capacity-factor", "mixtral", "sparse-moe"), params=(
                 Param("experts", int, 8, "Routed experts in the layer.", 2, 64),
                 Param("top_k", int, 2, "Experts each token is sent to.", 1, 8),
                 Param("tokens", int, 512, "Tokens routed.", 64, 4096),
                 Param("capacity_factor", float, 1.0, "Expert capacity as a multiple of an "
                       "even share.", 0.1, 8.0),
                 Param("aux_coef", float, 0.01, "Weight of the balancing loss (Switch "
                       "Transformer: 0.01).", 0.0, 10.0),
                 Param("steps", int, 60, "Gradient steps on the router.", 1, 1000),
                 Param("preset", str, "mixtral-8x7b", "Published config for the parameter "
                       "count.", choices=("mixtral-8x7b", "qwen3-30b-a3b", "deepseek-v3")),
             )),
    DemoInfo("mla", "Multi-head latent attention: KV bytes per token against MHA, GQA, MQA; "
             "absorption exact", ("latent-attention", "inference", "attention"),
             aliases=("multi-head-latent-attention", "deepseek", "kv-compression",
                      "latent-kv", "weight-absorption"), params=(
                 Param("layers", int, 61, "Layers (DeepSeek-V3: 61).", 1, 1024,
                       bound_reason=_REAL),
                 Param("heads", int, 128, "Query heads (DeepSeek-V3: 128).", 1, 1024,
                       bound_reason=_REAL),
                 Param("kv_heads", int, 8, "Key/value heads of the GQA row.", 1, 1024,
                       bound_reason=_REAL),
                 Param("qk_nope_dim", int, 128, "Per-head key width without position.",
                       1, 4096, bound_reason=_REAL),
                 Param("qk_rope_dim", int, 64, "Decoupled RoPE key width (even).", 2, 4096,
                       bound_reason=_REAL),
                 Param("v_dim", int, 128, "Per-head value width.", 1, 4096,
                       bound_reason=_REAL),
                 Param("kv_lora_rank", int, 512, "Width of the cached latent.", 1, 65536,
                       bound_reason=_REAL),
                 Param("bytes_per", int, 2, "Bytes per cached number (2 = bf16).", 1, 8,
                       bound_reason="float64, 8 bytes, is the widest format"),
                 Param("context", int, 32768, "Tokens for the cache-size figure.",
                       1, 100_000_000, bound_reason=_REAL),
                 Param("tokens", int, 64, "Tokens through the small layer for the "
                       "absorption check.", 2, 1024),
             )),
    DemoInfo("rope-scaling", "Context extension: RoPE angles past the trained length with "
             "linear, NTK, YaRN, llama3", ("positional", "long-context"),
             aliases=("yarn", "long-context", "ntk", "ntk-aware", "dynamic-ntk",
                      "position-interpolation", "context-extension", "llama3-rope"), params=(
                 Param("factor", float, 4.0, "Context extension factor.", 1.0, 256.0,
                       bound_reason=_REAL),
                 Param("trained_len", int, 4096, "Length trained on "
                       "(original_max_position_embeddings).", 16, 10_000_000, bound_reason=_REAL),
                 Param("target", int, None, "Length to reach (default: factor x trained "
                       "length).", 1, 1_000_000_000, bound_reason=_REAL),
                 Param("head_dim", int, 128, "Rotated dims per head (even).", 4, 1024,
                       bound_reason=_REAL),
                 Param("theta", float, 10000.0, "RoPE base.", 2.0, 1e9,
                       bound_reason=_REAL),
             )),
]

DEMOS: dict[str, DemoInfo] = {d.name: d for d in _DEMOS}


def all_params(info: DemoInfo) -> tuple[Param, ...]:
    return (*info.params, SEED)


def lookup(name: str, topic_aliases: dict[str, tuple[str, ...]] | None = None) -> DemoInfo | None:
    """A demo by name, alias or topic (its first demo); None when nothing matches."""
    key = name.strip().lower().replace("_", "-")
    if key in DEMOS:
        return DEMOS[key]
    for info in _DEMOS:
        if key in info.aliases:
            return info
    topics = {key}
    for topic, aliases in (topic_aliases or {}).items():
        if key in aliases:
            topics.add(topic)
    for info in _DEMOS:
        if topics & set(info.topics):
            return info
    return None


def suggestions(name: str, extra: list[str] | None = None) -> list[str]:
    words = list(DEMOS) + [a for d in _DEMOS for a in d.aliases] + list(extra or [])
    return difflib.get_close_matches(name, words, n=3, cutoff=0.5)


def coerce_args(info: DemoInfo, args: dict[str, Any]) -> tuple[dict[str, Any], list[tuple]]:
    """Defaults filled in and values checked.

    Returns (params, problems); each problem is (key as given, Param or None, message).
    """
    problems: list[tuple] = []
    out = {p.name: p.default for p in all_params(info)}
    for key, value in args.items():
        name = str(key).replace("-", "_")
        param = next((p for p in all_params(info) if p.name == name), None)
        if param is None:
            names = [p.name for p in all_params(info)]
            close = difflib.get_close_matches(name, names, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; options: {', '.join(names)}"
            problems.append((key, None, f"demo {info.name!r} has no option {key!r}{hint}"))
            continue
        value, message = _check_value(param, value)
        if message:
            problems.append((key, param, message))
        else:
            out[name] = value
    return out, problems


def _check_value(p: Param, value: Any) -> tuple[Any, str | None]:
    if p.multiple:
        values = value if isinstance(value, list | tuple) else [value]
        if not values:
            return value, "give at least one value"
        if len(values) > p.max_items:
            return value, f"at most {p.max_items} values"
        checked = []
        for v in values:
            v, msg = _check_scalar(p, v)
            if msg:
                return value, msg
            checked.append(v)
        return checked, None
    return _check_scalar(p, value)


def _check_scalar(p: Param, value: Any) -> tuple[Any, str | None]:
    if value is None:
        return None, None
    if p.type is bool:
        if not isinstance(value, bool):
            return value, f"expected true or false, got {value!r}"
        return value, None
    if p.type in (int, float) and isinstance(value, float) and not math.isfinite(value):
        return value, _not_finite(p, value)
    if p.type is int:
        if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
            return value, f"expected a whole number, got {value!r}"
        value = int(value)
    elif p.type is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return value, f"expected a number, got {value!r}"
        try:
            value = float(value)
        except OverflowError:  # an int too large for a float
            return value, _not_finite(p, math.inf)
    elif p.type is str:
        if not isinstance(value, str):
            return value, f"expected text, got {value!r}"
        if p.choices and value not in p.choices:
            return value, f"{value!r} is not one of {', '.join(p.choices)}"
        return value, None
    if p.min is not None and value < p.min:
        return value, f"{_fmt(value)} is below the minimum {_fmt(p.min)}"
    if p.max is not None and value > p.max:
        return value, (f"{_fmt(value)} is above the largest allowed value {_fmt(p.max)} "
                       f"({p.bound_reason})")
    return value, None


def _not_finite(p: Param, value: float) -> str:
    """NaN and the infinities pass `<` and `>` tests in odd ways: refuse them by name."""
    what = "nan is not a number" if math.isnan(value) else f"{value} is not a finite number"
    if p.min is not None and p.max is not None:
        return f"{what}; give a value from {_fmt(p.min)} to {_fmt(p.max)}"
    if p.max is not None:
        return f"{what}; the largest allowed value is {_fmt(p.max)}"
    return f"{what}; give a finite value"


def _fmt(x: float) -> str:
    return f"{int(x):,}" if float(x).is_integer() and abs(x) < 1e15 else f"{x:g}"


def check_demo_args(name: str, args: dict[str, Any]) -> list[tuple[tuple, str]]:
    """Problems with a question's `demo:` entry, for the bank validator."""
    info = DEMOS.get(name)
    if info is None:
        close = suggestions(name)
        hint = f"; did you mean {close[0]!r}?" if close else "; see `tutor demo` for the list"
        return [(("name",), f"unknown demo {name!r}{hint}")]
    return [(("args", key), f"option {key}: {msg}" if param else msg)
            for key, param, msg in coerce_args(info, args)[1]]
