"""A small, exact transformer in NumPy: arrays in, arrays or frozen dataclasses out.

Names are loaded lazily so `import engine` stays cheap; `from engine import X`
imports only the module that defines X.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    # functional
    "softmax": "functional", "log_softmax": "functional", "layer_norm": "functional",
    "rms_norm": "functional", "batch_norm": "functional", "relu": "functional",
    "gelu": "functional", "silu": "functional", "swiglu": "functional",
    "linear": "functional", "embedding": "functional",
    # config
    "ModelConfig": "config", "PRESETS": "config", "preset": "config",
    # attention
    "scaled_dot_product_attention": "attention", "causal_mask": "attention",
    "padding_mask": "attention", "sliding_window_mask": "attention",
    "global_window_mask": "attention", "strided_mask": "attention",
    "additive_attention": "attention",
    # efficient attention
    "flash_attention": "efficient", "linear_attention": "efficient",
    "performer_features": "efficient", "performer_omega": "efficient",
    "performer_attention": "efficient", "linformer_attention": "efficient",
    "linformer_projections": "efficient", "attention_cost": "efficient",
    "AttentionCost": "efficient",
    # positional encodings
    "sinusoidal_positions": "positional", "sinusoidal_shift_matrix": "positional",
    "learned_positions": "positional", "rope": "positional", "rope_angles": "positional",
    "alibi_slopes": "positional", "alibi_bias": "positional", "apply_rope": "positional",
    "rope_inv_freq": "positional", "check_rope_scaling": "positional",
    # models
    "GPT2": "gpt2", "gpt2_config": "gpt2",
    "param_shapes": "model", "init_params": "model", "ffn": "model",
    "multi_head_attention": "model", "transformer_block": "model", "encoder": "model",
    "decoder": "model", "encoder_decoder": "model", "pool": "model", "KVCache": "model",
    "ModelOutput": "model", "CausalLM": "model", "generate": "model",
    "rotary_tables": "model", "rope_frequencies": "model", "causal_window_mask": "model",
    # mixture of experts and multi-head latent attention
    "MoEConfig": "moe", "route": "moe", "moe_ffn": "moe", "load_balancing_loss": "moe",
    "expert_capacity": "moe", "capacity_mask": "moe", "expert_load": "moe", "Routing": "moe",
    "MLAConfig": "mla", "multi_head_latent_attention": "mla", "absorbed_weights": "mla",
    "kv_bytes_per_token": "mla", "mla_softmax_scale": "mla", "yarn_mscale": "mla",
    # Hugging Face checkpoints
    "from_hf": "hf", "config_from_hf": "hf",
    # sampling
    "greedy": "sampling", "apply_temperature": "sampling", "top_k_filter": "sampling",
    "top_p_filter": "sampling", "distribution": "sampling", "sample": "sampling",
    "Sample": "sampling", "min_p_filter": "sampling", "repetition_penalty": "sampling",
    "beam_search": "sampling", "Beams": "sampling",
    # LLM systems and post-training
    "lora_linear": "lora", "lora_merge": "lora", "fit_lora": "lora",
    "quantize": "quantize", "dequantize": "quantize", "fake_quantize": "quantize",
    "int8_matmul": "quantize", "nf4_quantize": "quantize", "awq_search": "quantize",
    "speculative_generate": "speculative", "speculative_sample": "speculative",
    "FloatFormat": "precision", "round_to_format": "precision", "encode": "precision",
    "decode": "precision", "bf16_bits": "precision",
    "decode_cost": "roofline", "prefill_cost": "roofline", "critical_batch": "roofline",
    "Accelerator": "roofline", "BlockAllocator": "paged_kv", "simulate_serving": "paged_kv",
    "dpo_loss": "preference", "group_advantages": "preference", "kl_estimators": "preference",
    # accounting
    "count_params": "accounting", "ParamCount": "accounting", "norm_params": "accounting",
    "attention_params": "accounting", "ffn_params": "accounting", "layer_params": "accounting",
    "forward_flops_per_token": "accounting", "ForwardFlops": "accounting",
    "attention_flop_share": "accounting", "training_flops": "accounting",
    "chinchilla_optimal": "accounting", "training_memory": "accounting",
    "activation_memory": "accounting", "kv_cache_bytes": "accounting",
    "inference_memory": "accounting",
    # losses and backward passes
    "cross_entropy": "loss", "smoothed_targets": "loss",
    "softmax_backward": "backward", "layer_norm_backward": "backward",
    # bpe
    "train_bpe": "bpe", "BPETokenizer": "bpe", "pretokenize": "bpe",
    "tokens_per_word": "bpe", "oov_rate": "bpe",
}


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'engine' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"engine.{module}"), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))


__all__ = sorted(_EXPORTS)
