"""GPT-2, exactly: loads Hugging Face GPT2LMHeadModel weights and matches its logits.

GPT-2 is the `engine.model` decoder with one configuration: pre-norm blocks,
learned positions, the tanh approximation of GELU, LayerNorm with eps 1e-5 and
an output head tied to the token embedding. This module only translates
Hugging Face's parameter names and layouts, and adds generation.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from engine.config import ModelConfig
from engine.model import KVCache, Params, decoder, init_params, param_shapes
from engine.sampling import sample

# Hugging Face name (after "transformer.h.{i}.") -> engine name (after "blocks.{i}.").
# HF's Conv1D stores weights (in, out), the same layout as the engine's x @ w.
_BLOCK_NAMES = {
    "ln_1.weight": "attn_norm.g", "ln_1.bias": "attn_norm.b",
    "attn.c_proj.weight": "attn.w_o", "attn.c_proj.bias": "attn.b_o",
    "ln_2.weight": "ffn_norm.g", "ln_2.bias": "ffn_norm.b",
    "mlp.c_fc.weight": "ffn.w_up", "mlp.c_fc.bias": "ffn.b_up",
    "mlp.c_proj.weight": "ffn.w_down", "mlp.c_proj.bias": "ffn.b_down",
}
# causal-mask buffers some transformers versions put in the state dict; not parameters
_BUFFERS = ("attn.bias", "attn.masked_bias")


def gpt2_config(vocab_size: int, n_ctx: int, d_model: int, n_layer: int, n_head: int,
                eps: float = 1e-5, name: str = "gpt2") -> ModelConfig:
    """A ModelConfig with GPT-2's architecture choices and the given sizes."""
    return ModelConfig(name=name, arch="decoder", vocab_size=vocab_size, n_ctx=n_ctx,
                       d_model=d_model, n_layer=n_layer, n_head=n_head,
                       activation="gelu_tanh", norm="layernorm", norm_position="pre",
                       bias=True, tie_embeddings=True, positional="learned", eps=eps)


class GPT2:
    """A GPT-2 language model: `model(ids)` gives logits, `model.generate` continues text."""

    def __init__(self, config: ModelConfig, params: Params):
        missing = set(param_shapes(config)) - set(params)
        if missing:
            raise ValueError(f"missing parameters: {', '.join(sorted(missing))}")
        self.config = config
        self.params = params

    # ------------------------------------------------------------------ constructors

    @classmethod
    def from_config(cls, config: ModelConfig, rng: np.random.Generator,
                    dtype=np.float32) -> GPT2:
        """Random GPT-2 style initialisation (see engine.model.init_params)."""
        return cls(config, init_params(config, rng, dtype))

    @classmethod
    def from_hf_state_dict(cls, state_dict: Mapping[str, np.ndarray], n_head: int,
                           dtype=None, eps: float = 1e-5) -> GPT2:
        """Build from arrays named and shaped as GPT2LMHeadModel.state_dict().

        Sizes (vocab, n_ctx, d_model, n_layer) are read from the arrays; n_head is
        not recoverable from shapes and must be given. dtype=None keeps the arrays'
        dtype. `lm_head.weight` is tied to `transformer.wte.weight` and not read.
        """
        sd = {k.removeprefix("transformer."): np.asarray(v) for k, v in state_dict.items()}
        for required in ("wte.weight", "wpe.weight", "ln_f.weight"):
            if required not in sd:
                raise ValueError(f"state dict has no 'transformer.{required}'")
        dtype = np.dtype(dtype) if dtype is not None else sd["wte.weight"].dtype
        vocab, d = sd["wte.weight"].shape
        n_ctx = sd["wpe.weight"].shape[0]
        n_layer = len({k.split(".")[1] for k in sd if k.startswith("h.")})
        if d % n_head:
            raise ValueError(f"n_embd={d} is not divisible by n_head={n_head}")
        config = gpt2_config(vocab, n_ctx, d, n_layer, n_head, eps=eps)

        params: Params = {"tok_emb": sd["wte.weight"], "pos_emb": sd["wpe.weight"],
                          "final_norm.g": sd["ln_f.weight"], "final_norm.b": sd["ln_f.bias"]}
        for i in range(n_layer):
            hf, ours = f"h.{i}.", f"blocks.{i}."
            for hf_name, name in _BLOCK_NAMES.items():
                params[ours + name] = sd[hf + hf_name]
            # c_attn fuses q, k, v along the output axis: (d, 3d) and (3d,)
            w_q, w_k, w_v = np.split(sd[hf + "attn.c_attn.weight"], 3, axis=-1)
            b_q, b_k, b_v = np.split(sd[hf + "attn.c_attn.bias"], 3, axis=-1)
            params |= {ours + "attn.w_q": w_q, ours + "attn.w_k": w_k, ours + "attn.w_v": w_v,
                       ours + "attn.b_q": b_q, ours + "attn.b_k": b_k, ours + "attn.b_v": b_v}
        known = {f"h.{i}.{n}" for i in range(n_layer) for n in
                 (*_BLOCK_NAMES, "attn.c_attn.weight", "attn.c_attn.bias", *_BUFFERS)}
        known |= {"wte.weight", "wpe.weight", "ln_f.weight", "ln_f.bias", "lm_head.weight"}
        unexpected = set(sd) - known
        if unexpected:
            raise ValueError(f"unexpected state dict entries: {', '.join(sorted(unexpected))}")
        shapes = param_shapes(config)
        for name, array in params.items():
            if array.shape != shapes[name]:
                raise ValueError(f"{name} has shape {array.shape}; expected {shapes[name]}")
        params = {k: np.ascontiguousarray(v, dtype=dtype) for k, v in params.items()}
        return cls(config, params)

    @classmethod
    def from_safetensors(cls, path, n_head: int, dtype=np.float32) -> GPT2:
        """Load a Hugging Face `model.safetensors` GPT-2 checkpoint (needs `safetensors`).

        Checkpoints saved from GPT2Model lack the "transformer." prefix; both forms load.
        """
        try:
            from safetensors.numpy import load_file
        except ImportError as e:  # an optional extra: pip install transformer-tutor[safetensors]
            raise ImportError("loading safetensors needs the 'safetensors' package") from e
        state_dict = load_file(str(path))
        return cls.from_hf_state_dict(state_dict, n_head=n_head, dtype=dtype)

    # ------------------------------------------------------------------ forward and generation

    @property
    def dtype(self) -> np.dtype:
        return self.params["tok_emb"].dtype

    def __call__(self, input_ids: np.ndarray, cache: KVCache | None = None, **kwargs):
        """Logits (..., n, vocab) for input_ids (..., n); kwargs as for engine.model.decoder."""
        return decoder(input_ids, self.params, self.config, cache=cache, **kwargs)

    def new_cache(self, max_len: int | None = None) -> KVCache:
        return KVCache(self.config.n_layer, max_len or self.config.n_ctx)

    def generate(self, input_ids: np.ndarray, max_new_tokens: int, use_cache: bool = True,
                 temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None,
                 rng: np.random.Generator | None = None) -> np.ndarray:
        """Append max_new_tokens tokens to input_ids (..., n); returns only the new (..., n_new).

        Greedy (argmax) when temperature=0, or when rng is None and neither top_k nor
        top_p is set. Otherwise tokens are sampled (engine.sampling.sample), which
        needs an rng. use_cache=False recomputes the whole sequence every step:
        the same tokens, much slower.
        """
        ids = np.asarray(input_ids)
        if ids.ndim < 1 or ids.shape[-1] < 1:
            raise ValueError(f"input_ids of shape {ids.shape} must hold at least one token")
        if max_new_tokens < 0:
            raise ValueError(f"max_new_tokens={max_new_tokens} must be >= 0")
        total = ids.shape[-1] + max_new_tokens
        if total > self.config.n_ctx:
            raise ValueError(f"{ids.shape[-1]} prompt + {max_new_tokens} new tokens exceed "
                             f"n_ctx={self.config.n_ctx}")
        is_greedy = temperature == 0 or (rng is None and top_k is None and top_p is None)
        if not is_greedy and rng is None:
            raise ValueError("sampling with top_k or top_p needs an rng")

        cache = self.new_cache(total) if use_cache else None
        new = np.zeros(ids.shape[:-1] + (max_new_tokens,), dtype=np.int64)
        step_input = ids
        for t in range(max_new_tokens):
            logits = self(step_input if use_cache else ids, cache=cache)[..., -1, :]  # (..., vocab)
            if is_greedy:
                token = np.argmax(logits, axis=-1)
            else:
                token = sample(logits, rng, temperature, top_k, top_p).token
            new[..., t] = token
            ids = np.concatenate([ids, token[..., None]], axis=-1)
            step_input = token[..., None]
        return new
