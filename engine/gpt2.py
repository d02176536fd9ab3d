"""GPT-2, exactly: loads Hugging Face GPT2LMHeadModel weights and matches its logits.

GPT-2 is the `engine.model` decoder with one configuration: pre-norm blocks,
learned positions, the tanh approximation of GELU, LayerNorm with eps 1e-5 and
an output head tied to the token embedding. This module only translates
Hugging Face's parameter names and layouts, and adds generation.

A checkpoint whose `lm_head.weight` differs from the token embedding (saved
with tie_word_embeddings=False) loads with an untied head. The config fields
that change the computation (activation_function, layer_norm_epsilon,
scale_attn_weights, ...) are not visible in the arrays: pass the checkpoint's
config.json as `config=` and they are applied, or refused when the engine
cannot express them.
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
# GPT2Config.activation_function -> ModelConfig.activation ("gelu_new" is GPT-2's tanh GELU)
_ACTIVATIONS = {"gelu_new": "gelu_tanh", "gelu_pytorch_tanh": "gelu_tanh", "gelu": "gelu",
                "relu": "relu"}
# GPT2Config fields and the value the engine needs; any other value is refused
_UNSUPPORTED = {"scale_attn_by_inverse_layer_idx": False, "add_cross_attention": False}


def _from_hf_config(config: Mapping, n_head: int | None, eps: float | None) -> dict:
    """ModelConfig fields from a GPT2Config dict (config.json); ValueError names what cannot be."""
    if config.get("model_type", "gpt2") != "gpt2":
        raise ValueError(f"config has model_type={config.get('model_type')!r}; expected 'gpt2'")
    for field, needed in _UNSUPPORTED.items():
        if config.get(field, needed) != needed:
            raise ValueError(f"config field {field}={config[field]!r} is not supported "
                             f"(the engine needs {needed})")
    act = config.get("activation_function", "gelu_new")
    if act not in _ACTIVATIONS:
        raise ValueError(f"config field activation_function={act!r} is not supported; "
                         f"supported: {', '.join(_ACTIVATIONS)}")
    heads = config.get("n_head")
    if n_head is not None and heads is not None and n_head != heads:
        raise ValueError(f"n_head={n_head} disagrees with the config's n_head={heads}")
    cfg_eps = config.get("layer_norm_epsilon")
    if eps is not None and cfg_eps is not None and eps != cfg_eps:
        raise ValueError(f"eps={eps} disagrees with the config's layer_norm_epsilon={cfg_eps}")
    return {"n_head": n_head if n_head is not None else heads,
            "eps": eps if eps is not None else cfg_eps if cfg_eps is not None else 1e-5,
            "activation": _ACTIVATIONS[act],
            "attn_scale": None if config.get("scale_attn_weights", True) else 1.0,
            "tie": config.get("tie_word_embeddings")}


def _compute_dtype(dtype) -> np.dtype:
    # NumPy has no fast or accurately accumulating float16 arithmetic, and the attention
    # computes float16 in float32 anyway: widen (exactly) instead of mixing the two
    dtype = np.dtype(dtype)
    return np.dtype(np.float32) if dtype.kind == "f" and dtype.itemsize < 4 else dtype


def gpt2_config(vocab_size: int, n_ctx: int, d_model: int, n_layer: int, n_head: int,
                eps: float = 1e-5, name: str = "gpt2", *, activation: str = "gelu_tanh",
                tie_embeddings: bool = True, attn_scale: float | None = None) -> ModelConfig:
    """A ModelConfig with GPT-2's architecture choices and the given sizes."""
    return ModelConfig(name=name, arch="decoder", vocab_size=vocab_size, n_ctx=n_ctx,
                       d_model=d_model, n_layer=n_layer, n_head=n_head,
                       activation=activation, norm="layernorm", norm_position="pre",
                       bias=True, tie_embeddings=tie_embeddings, positional="learned", eps=eps,
                       attn_scale=attn_scale)


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
    def from_hf_state_dict(cls, state_dict: Mapping[str, np.ndarray], n_head: int | None = None,
                           dtype=None, eps: float | None = None,
                           config: Mapping | None = None) -> GPT2:
        """Build from arrays named and shaped as GPT2LMHeadModel.state_dict().

        Sizes (vocab, n_ctx, d_model, n_layer) are read from the arrays; n_head is
        not recoverable from shapes and must be given, directly or in `config`
        (the checkpoint's config.json as a dict, which also sets the epsilon,
        activation and attention scaling). dtype=None keeps the arrays' dtype,
        except that float16 is widened to float32 (exactly). `lm_head.weight`
        becomes an untied head when it differs from `transformer.wte.weight`,
        unless the config says tie_word_embeddings=True, as transformers does.
        """
        fields = _from_hf_config(config or {}, n_head, eps)
        n_head = fields["n_head"]
        if n_head is None:
            raise ValueError("n_head is not recoverable from the arrays: pass n_head= or config=")
        sd = {k.removeprefix("transformer."): np.asarray(v) for k, v in state_dict.items()}
        for required in ("wte.weight", "wpe.weight", "ln_f.weight"):
            if required not in sd:
                raise ValueError(f"state dict has no 'transformer.{required}'")
        dtype = _compute_dtype(dtype if dtype is not None else sd["wte.weight"].dtype)
        vocab, d = sd["wte.weight"].shape
        n_ctx = sd["wpe.weight"].shape[0]
        n_layer = len({k.split(".")[1] for k in sd if k.startswith("h.")})
        if d % n_head:
            raise ValueError(f"n_embd={d} is not divisible by n_head={n_head}")
        head = sd.get("lm_head.weight")                                    # (vocab, d)
        tied = fields["tie"]
        if tied is None:
            tied = head is None or (head.shape == sd["wte.weight"].shape
                                    and np.array_equal(head, sd["wte.weight"]))
        elif not tied and head is None:
            raise ValueError("config says tie_word_embeddings=False but the state dict has no "
                             "'lm_head.weight'")
        config = gpt2_config(vocab, n_ctx, d, n_layer, n_head, eps=fields["eps"],
                             activation=fields["activation"], tie_embeddings=tied,
                             attn_scale=fields["attn_scale"])

        params: Params = {"tok_emb": sd["wte.weight"], "pos_emb": sd["wpe.weight"],
                          "final_norm.g": sd["ln_f.weight"], "final_norm.b": sd["ln_f.bias"]}
        if not tied:
            params["lm_head"] = head.T                                     # (d, vocab)
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
    def from_safetensors(cls, path, n_head: int | None = None, dtype=np.float32,
                         config: Mapping | None = None) -> GPT2:
        """Load a Hugging Face `model.safetensors` GPT-2 checkpoint (needs `safetensors`).

        Checkpoints saved from GPT2Model lack the "transformer." prefix; both forms load.
        `config` is the checkpoint's config.json as a dict (see from_hf_state_dict).
        """
        try:
            from safetensors.numpy import load_file
        except ImportError as e:  # an optional extra: pip install transformer-tutor[safetensors]
            raise ImportError("loading safetensors needs the 'safetensors' package") from e
        state_dict = load_file(str(path))
        return cls.from_hf_state_dict(state_dict, n_head=n_head, dtype=dtype, config=config)

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
