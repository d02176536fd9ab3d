"""Published Hugging Face `config.json` files of well-known models, as plain dicts.

Each entry holds the fields of the model's released config.json (the values
that decide its shapes, plus the ones that describe attention windows, MoE
routing and quantisation), so `engine.accounting.count_hf_params` can count
the model exactly without downloading anything. Fields that only concern
tokenizer ids, dtype or library versions are left out.

Sources (the model repositories on the Hugging Face Hub):
    mixtral-8x7b    mistralai/Mixtral-8x7B-v0.1
    qwen2.5-7b      Qwen/Qwen2.5-7B
    qwen3-30b-a3b   Qwen/Qwen3-30B-A3B
    gemma-2-9b      google/gemma-2-9b
    llama-3.1-8b    meta-llama/Llama-3.1-8B
    llama-3.1-70b   meta-llama/Llama-3.1-70B
    llama-3.1-405b  meta-llama/Llama-3.1-405B
    phi-3-mini      microsoft/Phi-3-mini-4k-instruct
    gpt-neox-20b    EleutherAI/gpt-neox-20b
    olmo-2-7b       allenai/OLMo-2-1124-7B
    deepseek-v3     deepseek-ai/DeepSeek-V3
"""

from __future__ import annotations

import copy
from typing import Any

_LLAMA_31_ROPE = {"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                  "original_max_position_embeddings": 8192, "rope_type": "llama3"}


def _llama_31(hidden: int, intermediate: int, layers: int, heads: int) -> dict[str, Any]:
    return {
        "model_type": "llama", "architectures": ["LlamaForCausalLM"],
        "vocab_size": 128256, "hidden_size": hidden, "intermediate_size": intermediate,
        "num_hidden_layers": layers, "num_attention_heads": heads, "num_key_value_heads": 8,
        "hidden_act": "silu", "max_position_embeddings": 131072, "rms_norm_eps": 1e-5,
        "rope_theta": 500000.0, "rope_scaling": dict(_LLAMA_31_ROPE),
        "attention_bias": False, "mlp_bias": False, "pretraining_tp": 1,
        "tie_word_embeddings": False,
    }


_CONFIGS: dict[str, dict[str, Any]] = {
    "mixtral-8x7b": {
        "model_type": "mixtral", "architectures": ["MixtralForCausalLM"],
        "vocab_size": 32000, "hidden_size": 4096, "intermediate_size": 14336,
        "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 8,
        "num_local_experts": 8, "num_experts_per_tok": 2, "hidden_act": "silu",
        "max_position_embeddings": 32768, "rms_norm_eps": 1e-5, "rope_theta": 1e6,
        "sliding_window": None, "router_aux_loss_coef": 0.02, "output_router_logits": False,
        "tie_word_embeddings": False,
    },
    "qwen2.5-7b": {
        "model_type": "qwen2", "architectures": ["Qwen2ForCausalLM"],
        "vocab_size": 152064, "hidden_size": 3584, "intermediate_size": 18944,
        "num_hidden_layers": 28, "num_attention_heads": 28, "num_key_value_heads": 4,
        "hidden_act": "silu", "max_position_embeddings": 131072, "rms_norm_eps": 1e-6,
        "rope_theta": 1e6, "sliding_window": 131072, "use_sliding_window": False,
        "max_window_layers": 28, "use_mrope": False, "tie_word_embeddings": False,
    },
    "qwen3-30b-a3b": {
        "model_type": "qwen3_moe", "architectures": ["Qwen3MoeForCausalLM"],
        "vocab_size": 151936, "hidden_size": 2048, "intermediate_size": 6144,
        "moe_intermediate_size": 768, "num_hidden_layers": 48, "num_attention_heads": 32,
        "num_key_value_heads": 4, "head_dim": 128, "num_experts": 128,
        "num_experts_per_tok": 8, "decoder_sparse_step": 1, "mlp_only_layers": [],
        "norm_topk_prob": True, "hidden_act": "silu", "max_position_embeddings": 40960,
        "rms_norm_eps": 1e-6, "rope_theta": 1e6, "rope_scaling": None,
        "attention_bias": False, "sliding_window": None, "use_sliding_window": False,
        "max_window_layers": 48, "router_aux_loss_coef": 0.001, "output_router_logits": False,
        "tie_word_embeddings": False,
    },
    "gemma-2-9b": {
        "model_type": "gemma2", "architectures": ["Gemma2ForCausalLM"],
        "vocab_size": 256000, "hidden_size": 3584, "intermediate_size": 14336,
        "num_hidden_layers": 42, "num_attention_heads": 16, "num_key_value_heads": 8,
        "head_dim": 256, "hidden_act": "gelu_pytorch_tanh",
        "hidden_activation": "gelu_pytorch_tanh", "max_position_embeddings": 8192,
        "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "attention_bias": False,
        "query_pre_attn_scalar": 256, "sliding_window": 4096, "sliding_window_size": 4096,
        "attn_logit_softcapping": 50.0, "final_logit_softcapping": 30.0,
        "cache_implementation": "hybrid",
    },
    "llama-3.1-8b": _llama_31(4096, 14336, 32, 32),
    "llama-3.1-70b": _llama_31(8192, 28672, 80, 64),
    "llama-3.1-405b": _llama_31(16384, 53248, 126, 128),
    "phi-3-mini": {
        "model_type": "phi3", "architectures": ["Phi3ForCausalLM"],
        "vocab_size": 32064, "hidden_size": 3072, "intermediate_size": 8192,
        "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 32,
        "hidden_act": "silu", "max_position_embeddings": 4096,
        "original_max_position_embeddings": 4096, "rms_norm_eps": 1e-5,
        "rope_theta": 10000.0, "rope_scaling": None, "sliding_window": 2047,
        "tie_word_embeddings": False,
    },
    "gpt-neox-20b": {
        "model_type": "gpt_neox", "architectures": ["GPTNeoXForCausalLM"],
        "vocab_size": 50432, "hidden_size": 6144, "intermediate_size": 24576,
        "num_hidden_layers": 44, "num_attention_heads": 64, "hidden_act": "gelu_fast",
        "max_position_embeddings": 2048, "layer_norm_eps": 1e-5, "rotary_emb_base": 10000,
        "rotary_pct": 0.25, "use_parallel_residual": True, "tie_word_embeddings": False,
    },
    "olmo-2-7b": {
        "model_type": "olmo2", "architectures": ["Olmo2ForCausalLM"],
        "vocab_size": 100352, "hidden_size": 4096, "intermediate_size": 11008,
        "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 32,
        "hidden_act": "silu", "max_position_embeddings": 4096, "rms_norm_eps": 1e-6,
        "rope_theta": 500000, "rope_scaling": None, "attention_bias": False,
        "tie_word_embeddings": False,
    },
    "deepseek-v3": {
        "model_type": "deepseek_v3", "architectures": ["DeepseekV3ForCausalLM"],
        "vocab_size": 129280, "hidden_size": 7168, "intermediate_size": 18432,
        "moe_intermediate_size": 2048, "num_hidden_layers": 61, "num_attention_heads": 128,
        "num_key_value_heads": 128, "q_lora_rank": 1536, "kv_lora_rank": 512,
        "qk_nope_head_dim": 128, "qk_rope_head_dim": 64, "v_head_dim": 128,
        "n_routed_experts": 256, "n_shared_experts": 1, "num_experts_per_tok": 8,
        "first_k_dense_replace": 3, "moe_layer_freq": 1, "n_group": 8, "topk_group": 4,
        "topk_method": "noaux_tc", "scoring_func": "sigmoid", "norm_topk_prob": True,
        "routed_scaling_factor": 2.5, "aux_loss_alpha": 0.001, "seq_aux": True, "ep_size": 1,
        "num_nextn_predict_layers": 1, "hidden_act": "silu",
        "max_position_embeddings": 163840, "rms_norm_eps": 1e-6, "rope_theta": 10000,
        "rope_scaling": {"beta_fast": 32, "beta_slow": 1, "factor": 40, "mscale": 1.0,
                         "mscale_all_dim": 1.0, "original_max_position_embeddings": 4096,
                         "type": "yarn"},
        "attention_bias": False, "pretraining_tp": 1, "tie_word_embeddings": False,
        "quantization_config": {"activation_scheme": "dynamic", "fmt": "e4m3",
                                "quant_method": "fp8", "weight_block_size": [128, 128]},
    },
}

HF_PRESETS: tuple[str, ...] = tuple(_CONFIGS)


def hf_config(name: str) -> dict[str, Any]:
    """A fresh copy of the named published config; a ValueError lists the names otherwise."""
    try:
        return copy.deepcopy(_CONFIGS[name])
    except KeyError:
        raise ValueError(f"unknown Hugging Face preset {name!r}; known: "
                         f"{', '.join(HF_PRESETS)}") from None
