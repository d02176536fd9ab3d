"""The drills: name, function, topic and difficulty. Plain data; importing it is cheap.

How each drill is graded (its cases and the engine function it is compared
with) lives in tutor.drills.specs, which imports NumPy.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from tutor.errors import UsageError

SOLUTIONS = Path(__file__).resolve().parent / "solutions"
DIFFICULTIES = ("easy", "medium", "hard")


class Drill(NamedTuple):
    name: str          # what the user types: tutor drill NAME
    function: str      # the function the file must define
    topic: str         # a topic of the question bank
    difficulty: str    # easy, medium or hard
    title: str         # one line

    @property
    def question_id(self) -> str:
        """The id its reviews are stored under."""
        return f"drills/{self.name}"

    @property
    def solution_path(self) -> Path:
        return SOLUTIONS / f"{self.name.replace('-', '_')}.py"


_TABLE = [
    # name, function, topic, difficulty, title
    ("softmax", "softmax", "scaling", "easy", "softmax along an axis, safe for large logits"),
    ("log-softmax", "log_softmax", "scaling", "easy",
     "log softmax without forming softmax (no -inf for far-behind logits)"),
    ("layer-norm", "layer_norm", "norms", "easy", "LayerNorm over the last axis, biased variance"),
    ("rms-norm", "rms_norm", "norms", "easy", "RMSNorm: scale by 1/RMS, no mean, no shift"),
    ("gelu", "gelu", "training", "easy", "exact GELU, x * Phi(x)"),
    ("swiglu", "swiglu", "architecture", "easy", "the SwiGLU feed-forward network"),
    ("causal-mask", "causal_mask", "masks", "easy",
     "causal mask for n_q queries over n_k keys, queries at the end"),
    ("sliding-window-mask", "sliding_window_mask", "masks", "easy",
     "causal sliding-window (local) attention mask"),
    ("attention", "attention", "scaling", "medium",
     "scaled dot-product attention with a boolean mask"),
    ("multi-head-attention", "multi_head_attention", "attention", "medium",
     "multi-head self-attention with a causal switch"),
    ("grouped-query-attention", "grouped_query_attention", "attention", "medium",
     "grouped-query attention: K/V heads shared by groups of query heads"),
    ("kv-cache", "kv_cache_decode", "inference", "medium",
     "one decoding step with a KV cache, O(n) per token"),
    ("flash-attention", "flash_attention", "efficient-attention", "hard",
     "attention over key blocks with an online softmax"),
    ("linear-attention", "linear_attention", "efficient-attention", "medium",
     "kernelised linear attention, never forming n x n"),
    ("rope", "rope", "positional", "medium", "rotary position embedding, rotate-half convention"),
    ("sinusoidal-positions", "sinusoidal_positions", "positional", "easy",
     "the sinusoidal position table of Vaswani et al."),
    ("alibi", "alibi_bias", "positional", "medium",
     "ALiBi head slopes and biases, any number of heads"),
    ("cross-entropy", "cross_entropy", "training", "medium",
     "cross-entropy with label smoothing and ignore_index, as PyTorch"),
    ("label-smoothing", "smooth_labels", "training", "easy", "label-smoothed target distributions"),
    ("softmax-backward", "softmax_backward", "training", "medium",
     "the gradient through softmax, without the n x n Jacobian"),
    ("layer-norm-backward", "layer_norm_backward", "training", "hard",
     "LayerNorm's backward pass: dx, dgamma, dbeta"),
    ("top-k", "top_k_filter", "inference", "easy", "top-k filtering of logits"),
    ("top-p", "top_p_filter", "inference", "medium", "nucleus (top-p) filtering of logits"),
    ("param-count", "param_count", "params", "easy",
     "exact parameter count of a GPT-2-style model"),
    ("kv-cache-bytes", "kv_cache_bytes", "systems", "easy", "memory of a KV cache, with GQA"),
    ("lora", "lora_forward", "training", "easy",
     "a LoRA linear layer: x W plus a scaled low-rank update"),
    ("int8-quantize", "quantize_int8", "systems", "medium",
     "per-row absmax int8 quantization and its scales"),
    ("moe-router", "top_k_router", "architecture", "medium",
     "a mixture-of-experts top-k router (Mixtral)"),
    ("bpe-merge", "merge_pair", "tokenization", "easy", "one BPE merge over a list of token ids"),
    ("beam-search", "beam_search", "inference", "medium",
     "beam search over a table of next-token logits"),
]

DRILLS: dict[str, Drill] = {row[0]: Drill(*row) for row in _TABLE}


def list_drills() -> list[Drill]:
    """Every drill, easiest first within the order above."""
    return list(DRILLS.values())


def get_drill(name: str) -> Drill:
    """The drill called `name`; a UsageError names the closest ones otherwise."""
    drill = DRILLS.get(name) or DRILLS.get(name.replace("_", "-"))
    if drill is not None:
        return drill
    by_function = [d for d in DRILLS.values() if d.function == name]
    if by_function:
        return by_function[0]
    import difflib

    close = difflib.get_close_matches(name, list(DRILLS), n=3, cutoff=0.5)
    hint = (f"did you mean {', '.join(close)}?" if close
            else "run `tutor drill` to list the drills")
    raise UsageError(f"no drill named {name!r}", hint)
