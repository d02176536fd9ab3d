"""Hugging Face checkpoints of dense decoder families as engine models.

`from_hf(config, state_dict)` takes a model's `config.json` contents (as
transformers writes them with `config.to_dict()`, or the older layout with
`rope_theta` / `rope_scaling`) and its state dict as NumPy arrays (Hugging Face
names and layouts: nn.Linear weights are (out, in) and are transposed to the
engine's (in, out)). It returns an engine.model.CausalLM.

Every config field is either read and honoured, or on IGNORED_FIELDS (fields
that cannot change what the model computes at inference: ids of special tokens,
dropout rates, initialisation, bookkeeping). Anything else, and any value the
engine cannot express (an unknown rope_type or hidden_act, bidirectional
attention, ...), raises a ValueError naming the field, so a checkpoint never
loads into a model that silently computes something else.

Supported model_types are the keys of FAMILIES. Each entry is one small function
from config fields to a ModelConfig and one from the ModelConfig to a weight map
(HF name -> function giving engine arrays); fused weights are split there:
Phi-3's qkv_proj (rows [q | k | v]) and gate_up_proj (rows [gate | up]),
GPT-NeoX's query_key_value (per head [q | k | v]) and GPT-2's Conv1D c_attn.
The mixture-of-experts families (mixtral, qwen3_moe, deepseek_v3) take their
expert and latent-attention maps from engine.moe and engine.mla. DeepSeek-V3's
multi-token-prediction modules are not run (greedy decoding does not use them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from engine.config import ModelConfig
from engine.mla import mla_config_from_hf, mla_weight_map
from engine.model import CausalLM, Params
from engine.moe import MoEConfig, moe_weight_map
from engine.positional import check_rope_scaling, rope_type

# Fields that do not change a forward pass or greedy decoding.
IGNORED_FIELDS = frozenset({
    # bookkeeping and library versions
    "architectures", "model_type", "transformers_version", "_name_or_path", "name_or_path",
    "dtype", "torch_dtype", "_attn_implementation", "_attn_implementation_autoset",
    "attn_implementation", "_commit_hash", "auto_map", "base_model_tp_plan",
    "base_model_pp_plan",
    # what the Python API returns, and how it computes the same numbers
    "return_dict", "output_hidden_states", "output_attentions", "output_scores",
    "torchscript", "use_return_dict", "chunk_size_feed_forward", "use_cache",
    "pretraining_tp", "cache_implementation", "reorder_and_upcast_attn", "is_decoder",
    "tie_encoder_decoder", "cross_attention_hidden_size",
    # special tokens and tokenizer
    "bos_token_id", "eos_token_id", "pad_token_id", "sep_token_id", "decoder_start_token_id",
    "tokenizer_class", "prefix",
    # training only: initialisation and dropout
    "initializer_range", "initializer_factor", "attention_dropout", "hidden_dropout",
    "resid_pdrop", "embd_pdrop", "attn_pdrop", "dropout", "hidden_dropout_prob",
    "attention_probs_dropout_prob", "classifier_dropout", "gradient_checkpointing",
    # classification / summary heads and labels (not part of the language model)
    "id2label", "label2id", "num_labels", "problem_type", "finetuning_task",
    "task_specific_params", "summary_type", "summary_use_proj", "summary_activation",
    "summary_proj_to_labels", "summary_first_dropout",
    # generation defaults older configs carry (generate() takes its own arguments)
    "max_length", "min_length", "do_sample", "early_stopping", "num_beams",
    "num_beam_groups", "diversity_penalty", "temperature", "top_k", "top_p", "typical_p",
    "repetition_penalty", "length_penalty", "no_repeat_ngram_size",
    "encoder_no_repeat_ngram_size", "bad_words_ids", "num_return_sequences",
    "forced_bos_token_id", "forced_eos_token_id", "remove_invalid_values",
    "exponential_decay_length_penalty", "suppress_tokens", "begin_suppress_tokens",
})

# Buffers some transformers versions keep in the state dict; they are not parameters.
_BUFFER_SUFFIXES = ("rotary_emb.inv_freq", "attn.bias", "attn.masked_bias", "attention.bias",
                    "attention.masked_bias")

# hidden_act -> engine activation, for plain and for gated (act(gate) * up) FFNs
_PLAIN_ACT = {"gelu": "gelu", "gelu_new": "gelu_tanh", "gelu_pytorch_tanh": "gelu_tanh",
              "relu": "relu"}
_GATED_ACT = {"silu": "swiglu", "swish": "swiglu", "gelu_pytorch_tanh": "geglu",
              "gelu_new": "geglu"}


class ConfigFields:
    """A config dict read field by field; at the end, every unread field must be ignorable."""

    def __init__(self, config: Mapping, ignore: Iterable[str] = ()):
        self.values = dict(config)
        self.model_type = self.values.get("model_type")
        self.read: set[str] = set()
        self.ignore = frozenset(ignore)

    def get(self, key: str, default=None):
        """The field's value; `default` when it is absent or null."""
        self.read.add(key)
        value = self.values.get(key)
        return default if value is None else value

    def require(self, key: str):
        value = self.get(key)
        if value is None:
            raise ValueError(f"config field {key!r} is missing (model_type={self.model_type!r})")
        return value

    def refuse(self, key: str, why: str):
        raise ValueError(f"config field {key}={self.values.get(key)!r} is not supported "
                         f"(model_type={self.model_type!r}): {why}")

    def expect(self, key: str, allowed: tuple, default=None, why: str = ""):
        value = self.get(key, default)
        if value not in allowed:
            self.refuse(key, why or f"the engine computes only {', '.join(map(repr, allowed))}")
        return value

    def check_all_read(self) -> None:
        unread = sorted(set(self.values) - self.read - IGNORED_FIELDS - self.ignore)
        if unread:
            raise ValueError(
                f"config field(s) {', '.join(unread)} not understood for model_type="
                f"{self.model_type!r}; they may change the output. If they do not, pass "
                f"ignore={unread!r} to from_hf")


# ----------------------------------------------------------------------------- shared fields

def _activation(f: ConfigFields, key: str, gated: bool) -> str:
    act = f.require(key)
    table = _GATED_ACT if gated else _PLAIN_ACT
    if act not in table:
        f.refuse(key, f"{'gated ' if gated else ''}FFN activations the engine has: "
                      f"{', '.join(table)}")
    return table[act]


def _rope(f: ConfigFields, head_dim: int, *, theta_key: str = "rope_theta",
          partial_key: str = "partial_rotary_factor") -> dict:
    """theta, scaling and rotated dims from rope_parameters (transformers 5) or the older
    rope_theta / rope_scaling / partial_rotary_factor fields, as transformers merges them."""
    legacy = f.get("rope_scaling")
    params = dict(legacy or f.get("rope_parameters") or {})
    if params and all(isinstance(v, Mapping) for v in params.values()):
        f.refuse("rope_parameters", "RoPE set per layer type is not supported")
    params.setdefault("rope_theta", f.get(theta_key, 10000.0))
    if f.get(partial_key) is not None:
        params.setdefault("partial_rotary_factor", f.get(partial_key))
    theta = float(params.pop("rope_theta"))
    partial = params.pop("partial_rotary_factor", 1.0)
    rotary = int(head_dim * partial)
    kind = rope_type(params)
    if kind in ("llama3", "yarn", "longrope"):
        if f.get("original_max_position_embeddings") is not None:   # Phi-3 keeps it on top
            params["original_max_position_embeddings"] = f.get("original_max_position_embeddings")
        params.setdefault("original_max_position_embeddings", f.get("max_position_embeddings"))
    else:
        f.get("original_max_position_embeddings")   # unused by these rope types
    key = "rope_scaling" if legacy else "rope_parameters"
    try:
        scaling = check_rope_scaling(params, rotary)
    except ValueError as e:
        raise ValueError(f"config field {key}: {e} (model_type={f.model_type!r})") from None
    if rotary < 2 or rotary % 2:
        raise ValueError(f"config field {partial_key}={partial} rotates {rotary} of "
                         f"head_dim={head_dim} dims; RoPE needs an even number >= 2")
    return dict(positional="rope", rope_theta=theta, rope_scaling=scaling,
                rotary_dim=None if rotary == head_dim else rotary)


def _windows(f: ConfigFields, n_layer: int, window: int | None,
             default_types: list[str] | None) -> dict:
    """sliding_window for every layer, or per-layer windows from layer_types."""
    types = f.get("layer_types", default_types)
    if types is None:
        return dict(sliding_window=window)
    if len(types) != n_layer or set(types) - {"full_attention", "sliding_attention"}:
        f.refuse("layer_types", f"expected {n_layer} entries of full_attention / "
                                "sliding_attention")
    if "sliding_attention" in types and window is None:
        f.refuse("layer_types", "sliding_attention layers need a sliding_window")
    windows = tuple(window if t == "sliding_attention" else None for t in types)
    return dict(layer_windows=windows) if any(w is not None for w in windows) else {}


def _no_bidirectional(f: ConfigFields) -> None:
    f.expect("use_bidirectional_attention", (None, False), why="attention is causal here")


def _common(f: ConfigFields) -> None:
    f.expect("is_encoder_decoder", (False,), default=False, why="decoder-only models only")
    f.expect("add_cross_attention", (False,), default=False, why="no cross-attention")
    f.expect("tie_word_embeddings", (True, False), default=False)
    if f.get("pruned_heads"):
        f.refuse("pruned_heads", "pruned attention heads are not supported")


def _llama_like(f: ConfigFields, *, act_key: str = "hidden_act", tie: bool = False,
                head_dim: bool = True, **switches) -> ModelConfig:
    d, n_head = f.require("hidden_size"), f.require("num_attention_heads")
    d_head = f.get("head_dim", d // n_head) if head_dim else d // n_head
    n_layer = f.require("num_hidden_layers")
    fields = dict(
        name=f.model_type, arch="decoder", vocab_size=f.require("vocab_size"),
        n_ctx=f.require("max_position_embeddings"), d_model=d, n_layer=n_layer, n_head=n_head,
        n_kv_head=f.get("num_key_value_heads", n_head), d_head=d_head,
        d_ff=f.require("intermediate_size"), activation=_activation(f, act_key, gated=True),
        norm="rmsnorm", bias=False, tie_embeddings=f.get("tie_word_embeddings", tie),
        eps=f.get("rms_norm_eps", 1e-6), **_rope(f, d_head))
    return ModelConfig(**(fields | switches))


# ----------------------------------------------------------------------------- families

def _llama(f: ConfigFields) -> ModelConfig:
    attention_bias = f.get("attention_bias", False)
    return _llama_like(f, qkv_bias=attention_bias, out_bias=attention_bias,
                       ffn_bias=f.get("mlp_bias", False))


def _mistral(f: ConfigFields) -> ModelConfig:
    return _llama_like(f, sliding_window=f.get("sliding_window"))


def _qwen_windows(f: ConfigFields) -> dict:
    # Qwen2/3: sliding_window counts only with use_sliding_window, and only from layer
    # max_window_layers on (transformers' default layer_types)
    window = f.get("sliding_window")
    window = window if f.get("use_sliding_window", False) else None
    n_layer, first = f.require("num_hidden_layers"), f.get("max_window_layers", 28)
    default = [("sliding_attention" if window is not None and i >= first else "full_attention")
               for i in range(n_layer)]
    return _windows(f, n_layer, window, default)


def _qwen2(f: ConfigFields) -> ModelConfig:
    return _llama_like(f, qkv_bias=True, out_bias=False, **_qwen_windows(f))


def _qwen3(f: ConfigFields) -> ModelConfig:
    attention_bias = f.get("attention_bias", False)
    return _llama_like(f, qkv_bias=attention_bias, out_bias=attention_bias, qk_norm="head",
                       **_qwen_windows(f))


def _gemma_switches(f: ConfigFields) -> dict:
    _no_bidirectional(f)
    attention_bias = f.get("attention_bias", False)
    return dict(qkv_bias=attention_bias, out_bias=attention_bias, norm_offset=1.0,
                embedding_scale=float(f.require("hidden_size")) ** 0.5)


def _gemma(f: ConfigFields) -> ModelConfig:
    if f.get("hidden_act") == "gelu":    # as transformers: the released configs mean tanh
        f.values["hidden_act"] = "gelu_pytorch_tanh"
    f.expect("hidden_activation", (None, "gelu_pytorch_tanh"),
             why="Gemma's MLP uses hidden_act; a different hidden_activation is ambiguous")
    return _llama_like(f, tie=True, **_gemma_switches(f))


def _gemma2(f: ConfigFields) -> ModelConfig:
    f.get("hidden_act")                 # unused: Gemma 2's MLP reads hidden_activation
    n_layer = f.require("num_hidden_layers")
    alternate = ["sliding_attention" if (i + 1) % 2 else "full_attention" for i in range(n_layer)]
    return _llama_like(f, act_key="hidden_activation", tie=True, norm_position="sandwich",
                       attn_scale=float(f.require("query_pre_attn_scalar")) ** -0.5,
                       attn_softcap=f.get("attn_logit_softcapping"),
                       final_softcap=f.get("final_logit_softcapping"),
                       **_windows(f, n_layer, f.get("sliding_window"), alternate),
                       **_gemma_switches(f))


def _olmo2(f: ConfigFields) -> ModelConfig:
    attention_bias = f.get("attention_bias", False)
    return _llama_like(f, norm_position="post_in_residual", qk_norm="whole",
                       qkv_bias=attention_bias, out_bias=attention_bias)


def _phi3(f: ConfigFields) -> ModelConfig:
    return _llama_like(f, sliding_window=f.get("sliding_window"))


# Fields of MoE configs that only matter for training (the auxiliary loss, router noise) or
# for spreading experts over devices.
_MOE_TRAINING = ("output_router_logits", "router_aux_loss_coef", "router_jitter_noise",
                 "aux_loss_alpha", "seq_aux", "ep_size")


def _moe_training(f: ConfigFields) -> None:
    for key in _MOE_TRAINING:
        f.get(key)


def _mixtral(f: ConfigFields) -> ModelConfig:
    _moe_training(f)
    moe = MoEConfig(n_experts=f.require("num_local_experts"),
                    top_k=f.require("num_experts_per_tok"), d_expert=f.require("intermediate_size"))
    return _llama_like(f, sliding_window=f.get("sliding_window"), ffn="moe", moe=moe)


def _qwen3_moe(f: ConfigFields) -> ModelConfig:
    # experts every decoder_sparse_step-th block, except mlp_only_layers (dense, intermediate_size)
    _moe_training(f)
    n_layer, n_experts = f.require("num_hidden_layers"), f.get("num_experts",
                                                              f.get("num_local_experts", 0))
    step, only = f.get("decoder_sparse_step", 1), f.get("mlp_only_layers", [])
    window = f.get("sliding_window")
    window = window if f.get("use_sliding_window", False) else None
    attention_bias = f.get("attention_bias", False)
    sparse: dict = {}
    if n_experts > 0:
        sparse = dict(ffn="moe", dense_layers=tuple(i for i in range(n_layer)
                                                    if i in only or (i + 1) % step),
                      moe=MoEConfig(n_experts=n_experts, top_k=f.require("num_experts_per_tok"),
                                    d_expert=f.require("moe_intermediate_size"),
                                    normalize=bool(f.get("norm_topk_prob", False))))
    return _llama_like(f, qkv_bias=attention_bias, out_bias=attention_bias, qk_norm="head",
                       sliding_window=window, **sparse)


def _deepseek_v3(f: ConfigFields) -> ModelConfig:
    _moe_training(f)
    f.get("num_nextn_predict_layers")      # multi-token prediction: extra heads, not run
    f.expect("topk_method", (None, "noaux_tc"), why="DeepSeek-V3 routes by sigmoid scores "
             "with a selection bias (noaux_tc)")
    f.expect("scoring_func", (None, "sigmoid"), why="DeepSeek-V3 scores experts by sigmoid")
    f.expect("moe_layer_freq", (None, 1), why="every block after the dense ones has experts")
    n_head = f.require("num_attention_heads")
    f.expect("num_key_value_heads", (None, n_head),
             why="MLA expands keys for every head (transformers needs it equal to the heads)")
    dn, dr = f.require("qk_nope_head_dim"), f.require("qk_rope_head_dim")
    f.expect("qk_head_dim", (None, dn + dr), why="it is qk_nope_head_dim + qk_rope_head_dim")
    f.expect("head_dim", (None, dr), why="transformers sets it to qk_rope_head_dim")
    f.values["head_dim"] = dr             # the rotary embedding's width
    dense = _llama_like(f)
    n_group = f.get("n_group", 1)
    attention = {k: f.require(k) for k in ("kv_lora_rank", "v_head_dim")} | {
        k: f.get(k) for k in ("q_lora_rank", "rope_interleave", "attention_bias")}
    mla = mla_config_from_hf(attention | dict(num_attention_heads=n_head, qk_nope_head_dim=dn,
                                              qk_rope_head_dim=dr),
                             dense.rope_theta, dense.rope_scaling_dict)
    moe = MoEConfig(n_experts=f.require("n_routed_experts"),
                    top_k=f.require("num_experts_per_tok"),
                    d_expert=f.require("moe_intermediate_size"), score="sigmoid",
                    n_group=n_group, topk_group=f.get("topk_group", n_group), select_bias=True,
                    scaling=float(f.get("routed_scaling_factor", 1.0)),
                    normalize=bool(f.get("norm_topk_prob", True)),
                    n_shared=f.get("n_shared_experts", 0))
    return dense.replace(attention="mla", mla=mla, d_head=dn + dr, rotary_dim=dr, ffn="moe",
                         moe=moe, dense_layers=tuple(range(f.get("first_k_dense_replace", 0))))


def _gpt_neox(f: ConfigFields) -> ModelConfig:
    d, n_head = f.require("hidden_size"), f.require("num_attention_heads")
    attention_bias = f.get("attention_bias", True)
    return ModelConfig(
        name="gpt_neox", arch="decoder", vocab_size=f.require("vocab_size"),
        n_ctx=f.require("max_position_embeddings"), d_model=d,
        n_layer=f.require("num_hidden_layers"), n_head=n_head, d_ff=f.require("intermediate_size"),
        activation=_activation(f, "hidden_act", gated=False), norm="layernorm", bias=True,
        qkv_bias=attention_bias, out_bias=attention_bias,
        tie_embeddings=f.get("tie_word_embeddings", False), eps=f.get("layer_norm_eps", 1e-5),
        parallel_residual=bool(f.get("use_parallel_residual", True)),
        **_rope(f, d // n_head, theta_key="rotary_emb_base", partial_key="rotary_pct"))


def _gpt2(f: ConfigFields) -> ModelConfig:
    d = f.require("n_embd")
    f.expect("scale_attn_by_inverse_layer_idx", (False,), default=False,
             why="per-layer 1/(layer+1) score scaling is not supported")
    f.get("n_ctx")                      # only sizes the causal-mask buffer of old checkpoints
    return ModelConfig(
        name="gpt2", arch="decoder", vocab_size=f.require("vocab_size"),
        n_ctx=f.require("n_positions"), d_model=d, n_layer=f.require("n_layer"),
        n_head=f.require("n_head"), d_ff=f.get("n_inner", 4 * d),
        activation=_activation(f, "activation_function", gated=False), norm="layernorm",
        bias=True, tie_embeddings=f.get("tie_word_embeddings", True), positional="learned",
        eps=f.get("layer_norm_epsilon", 1e-5),
        attn_scale=None if f.get("scale_attn_weights", True) else 1.0)


# ----------------------------------------------------------------------------- weights

WeightMap = dict[str, Callable[[np.ndarray], Params]]


def _t(name: str) -> Callable[[np.ndarray], Params]:
    return lambda a: {name: a.T}          # nn.Linear (out, in) -> (in, out)


def _same(name: str) -> Callable[[np.ndarray], Params]:
    return lambda a: {name: a}


def _split_rows(names: tuple[str, ...], sizes: tuple[int, ...], transpose: bool = True):
    # one fused (sum(sizes), in) weight or (sum(sizes),) bias -> its parts
    def split(a):
        parts = np.split(a, np.cumsum(sizes)[:-1], axis=0)
        return {n: (p.T if transpose and p.ndim == 2 else p) for n, p in zip(names, parts,
                                                                              strict=True)}
    return split


def _linear(m: WeightMap, hf: str, ours: str, w: str, bias: bool) -> None:
    m[f"{hf}.weight"] = _t(f"{ours}.w_{w}")
    if bias:
        m[f"{hf}.bias"] = _same(f"{ours}.b_{w}")


def _head(m: WeightMap, c: ModelConfig, name: str = "lm_head.weight") -> WeightMap:
    if not c.tie_embeddings:
        m[name] = _t("lm_head")
    return m


def _llama_weights(c: ModelConfig, norms: Mapping[str, str] | None = None,
                   fused: bool = False) -> WeightMap:
    """model.layers.{i}.self_attn.*_proj, mlp.*_proj and the block's norms -> blocks.{i}.*"""
    norms = norms or {"input_layernorm": "attn_norm", "post_attention_layernorm": "ffn_norm"}
    m: WeightMap = {"model.embed_tokens.weight": _same("tok_emb"),
                    "model.norm.weight": _same("final_norm.g")}
    q, kv = c.n_head * c.head_dim, c.kv_heads * c.head_dim
    for i in range(c.n_layer):
        hf, e = f"model.layers.{i}.", f"blocks.{i}."
        if fused:    # Phi-3: rows [q | k | v] and [gate | up]
            m[hf + "self_attn.qkv_proj.weight"] = _split_rows(
                (e + "attn.w_q", e + "attn.w_k", e + "attn.w_v"), (q, kv, kv))
            m[hf + "mlp.gate_up_proj.weight"] = _split_rows(
                (e + "ffn.w_gate", e + "ffn.w_up"), (c.ffn_dim, c.ffn_dim))
        else:
            for w in "qkv":
                _linear(m, f"{hf}self_attn.{w}_proj", e + "attn", w, c.bias_of("qkv"))
            for w in ("gate", "up"):
                _linear(m, f"{hf}mlp.{w}_proj", e + "ffn", w, c.bias_of("ffn"))
        _linear(m, hf + "self_attn.o_proj", e + "attn", "o", c.bias_of("out"))
        _linear(m, hf + "mlp.down_proj", e + "ffn", "down", c.bias_of("ffn"))
        if c.qk_norm is not None:
            m[hf + "self_attn.q_norm.weight"] = _same(e + "attn.q_norm.g")
            m[hf + "self_attn.k_norm.weight"] = _same(e + "attn.k_norm.g")
        for name, ours in norms.items():
            m[f"{hf}{name}.weight"] = _same(f"{e}{ours}.g")
    return _head(m, c)


def _gemma2_weights(c: ModelConfig) -> WeightMap:
    return _llama_weights(c, {"input_layernorm": "attn_norm",
                              "post_attention_layernorm": "attn_post_norm",
                              "pre_feedforward_layernorm": "ffn_norm",
                              "post_feedforward_layernorm": "ffn_post_norm"})


def _olmo2_weights(c: ModelConfig) -> WeightMap:
    # OLMo 2's norms act on the sublayer outputs (norm_position="post_in_residual")
    return _llama_weights(c, {"post_attention_layernorm": "attn_norm",
                              "post_feedforward_layernorm": "ffn_norm"})


def _sparse_weights(c: ModelConfig) -> WeightMap:
    """_llama_weights with latent attention and expert FFNs where the config has them."""
    m = _llama_weights(c)
    for i in range(c.n_layer):
        hf, e = f"model.layers.{i}.", f"blocks.{i}."
        parts = []
        if c.attention == "mla":
            parts.append(("self_attn.", mla_weight_map(e + "attn", c.mla)))
        if c.ffn_of(i) == "moe":
            parts.append(("mlp.", moe_weight_map(e + "ffn", c.moe)))
        for sub, weights in parts:
            m = {k: v for k, v in m.items() if not k.startswith(hf + sub)}
            m |= {hf + sub + k: convert for k, convert in weights.items()}
    return m


def _neox_qkv(prefix: str, n_head: int):
    # query_key_value rows are per head: [q_h | k_h | v_h] for h = 0 .. H-1
    def split(a):
        per_head = a.reshape(n_head, 3, -1, *a.shape[1:])          # (H, 3, dh[, d])
        out = {}
        for j, w in enumerate("qkv"):
            part = per_head[:, j].reshape(-1, *a.shape[1:])          # (H*dh[, d])
            out[f"{prefix}.{'w' if a.ndim == 2 else 'b'}_{w}"] = part.T if a.ndim == 2 else part
        return out
    return split


def _gpt_neox_weights(c: ModelConfig) -> WeightMap:
    m: WeightMap = {"gpt_neox.embed_in.weight": _same("tok_emb"),
                    "gpt_neox.final_layer_norm.weight": _same("final_norm.g"),
                    "gpt_neox.final_layer_norm.bias": _same("final_norm.b")}
    for i in range(c.n_layer):
        hf, e = f"gpt_neox.layers.{i}.", f"blocks.{i}."
        for name, ours in (("input_layernorm", "attn_norm"),
                           ("post_attention_layernorm", "ffn_norm")):
            m[f"{hf}{name}.weight"] = _same(f"{e}{ours}.g")
            m[f"{hf}{name}.bias"] = _same(f"{e}{ours}.b")
        m[hf + "attention.query_key_value.weight"] = _neox_qkv(e + "attn", c.n_head)
        if c.bias_of("qkv"):
            m[hf + "attention.query_key_value.bias"] = _neox_qkv(e + "attn", c.n_head)
        _linear(m, hf + "attention.dense", e + "attn", "o", c.bias_of("out"))
        _linear(m, hf + "mlp.dense_h_to_4h", e + "ffn", "up", True)
        _linear(m, hf + "mlp.dense_4h_to_h", e + "ffn", "down", True)
    return _head(m, c)


def _gpt2_weights(c: ModelConfig) -> WeightMap:
    # Conv1D stores (in, out) already: nothing is transposed except an untied lm_head
    m: WeightMap = {"transformer.wte.weight": _same("tok_emb"),
                    "transformer.wpe.weight": _same("pos_emb"),
                    "transformer.ln_f.weight": _same("final_norm.g"),
                    "transformer.ln_f.bias": _same("final_norm.b")}
    for i in range(c.n_layer):
        hf, e = f"transformer.h.{i}.", f"blocks.{i}."
        for name, ours in (("ln_1", "attn_norm"), ("ln_2", "ffn_norm")):
            m[f"{hf}{name}.weight"] = _same(f"{e}{ours}.g")
            m[f"{hf}{name}.bias"] = _same(f"{e}{ours}.b")
        for part in ("weight", "bias"):   # c_attn: [q | k | v] along its output axis
            names = tuple(f"{e}attn.{part[0]}_{w}" for w in "qkv")
            m[f"{hf}attn.c_attn.{part}"] = (
                lambda a, names=names: dict(zip(names, np.split(a, 3, axis=-1), strict=True)))
        for hf_name, ours in (("attn.c_proj", "attn.w_o"), ("mlp.c_fc", "ffn.w_up"),
                              ("mlp.c_proj", "ffn.w_down")):
            m[f"{hf}{hf_name}.weight"] = _same(e + ours)
            m[f"{hf}{hf_name}.bias"] = _same(e + ours.replace(".w_", ".b_"))
    return _head(m, c)


@dataclass(frozen=True)
class Family:
    """How one model_type loads: config fields -> ModelConfig, ModelConfig -> weight map.

    base: the prefix of the base model's names ("model.", ...), added when a state
    dict was saved from the headless base model. head_names: other names an untied
    output head is stored under.
    """

    config: Callable[[ConfigFields], ModelConfig]
    weights: Callable[[ModelConfig], WeightMap]
    base: str = "model."
    head_names: tuple[str, ...] = ()


FAMILIES: dict[str, Family] = {
    "gpt2": Family(_gpt2, _gpt2_weights, base="transformer."),
    "llama": Family(_llama, _llama_weights),
    "mistral": Family(_mistral, _llama_weights),
    "qwen2": Family(_qwen2, _llama_weights),
    "qwen3": Family(_qwen3, _llama_weights),
    "gemma": Family(_gemma, _llama_weights),
    "gemma2": Family(_gemma2, _gemma2_weights),
    "olmo2": Family(_olmo2, _olmo2_weights),
    "gpt_neox": Family(_gpt_neox, _gpt_neox_weights, base="gpt_neox.",
                       head_names=("embed_out.weight",)),
    "phi3": Family(_phi3, lambda c: _llama_weights(c, fused=True)),
    "mixtral": Family(_mixtral, _sparse_weights),
    "qwen3_moe": Family(_qwen3_moe, _sparse_weights),
    "deepseek_v3": Family(_deepseek_v3, _sparse_weights),
}


def config_from_hf(config: Mapping, ignore: Iterable[str] = ()) -> ModelConfig:
    """The ModelConfig a Hugging Face config dict describes (see the module docstring)."""
    model_type = config.get("model_type")
    if model_type not in FAMILIES:
        raise ValueError(f"config field model_type={model_type!r} is not supported; "
                         f"known: {', '.join(FAMILIES)}")
    fields = ConfigFields(config, ignore)
    _common(fields)
    model_config = FAMILIES[model_type].config(fields)
    fields.check_all_read()
    return model_config


def params_from_hf(config: ModelConfig, family: Family,
                   state_dict: Mapping[str, np.ndarray]) -> Params:
    """Engine arrays from a state dict with Hugging Face names and layouts."""
    sd = {k: np.asarray(v) for k, v in state_dict.items()}
    if not any(k.startswith(family.base) for k in sd):     # saved from the base model
        sd = {(k if k.startswith("lm_head") else family.base + k): v for k, v in sd.items()}
    for alias in family.head_names:
        if alias in sd and "lm_head.weight" not in sd:
            sd["lm_head.weight"] = sd.pop(alias)
    weight_map = family.weights(config)
    missing = [k for k in weight_map if k not in sd]
    # a tied head is the embedding (transformers ties them on load), so any copy is unused
    unused = [k for k in sd if k not in weight_map and not k.endswith(_BUFFER_SUFFIXES)
              and not (config.tie_embeddings and k == "lm_head.weight")]
    if missing or unused:
        raise ValueError("state dict does not fit the config: " + "; ".join(
            ([f"missing {', '.join(missing[:6])}{' ...' if len(missing) > 6 else ''}"]
             if missing else [])
            + ([f"unexpected {', '.join(unused[:6])}{' ...' if len(unused) > 6 else ''}"]
               if unused else [])))
    params: Params = {}
    for name, convert in weight_map.items():
        params |= convert(sd[name])
    return params


def from_hf(config: Mapping, state_dict: Mapping[str, np.ndarray], *, dtype=None,
            ignore: Iterable[str] = ()) -> CausalLM:
    """An engine CausalLM from a Hugging Face config dict and state dict (NumPy arrays).

    dtype: the arrays' dtype by default (that of the token embedding). ignore: config
    fields the caller knows do not affect this model, beyond IGNORED_FIELDS.
    Raises ValueError naming the config field or state-dict entry that does not fit.
    """
    model_config = config_from_hf(config, ignore)
    params = params_from_hf(model_config, FAMILIES[config["model_type"]], state_dict)
    dtype = np.dtype(dtype) if dtype is not None else params["tok_emb"].dtype
    if dtype.kind != "f":
        raise ValueError(f"dtype={dtype} must be a floating type")
    return CausalLM(model_config, {k: np.ascontiguousarray(v, dtype=dtype)
                                   for k, v in params.items()})
