"""GPT-2 against golden numbers from Hugging Face transformers (tests/fixtures/gpt2_tiny.npz)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from engine.config import ModelConfig
from engine.gpt2 import GPT2, gpt2_config
from engine.model import param_shapes

FIXTURE = Path(__file__).parents[1] / "fixtures" / "gpt2_tiny.npz"


@pytest.fixture(scope="module")
def golden():
    data = np.load(FIXTURE)
    state_dict = {k.removeprefix("sd/"): data[k] for k in data.files if k.startswith("sd/")}
    return {"sd": state_dict, **{k: data[k] for k in data.files if not k.startswith("sd/")}}


@pytest.fixture(scope="module")
def model64(golden):
    return GPT2.from_hf_state_dict(golden["sd"], n_head=int(golden["n_head"]), dtype=np.float64)


def test_logits_match_transformers_float32(golden):
    model = GPT2.from_hf_state_dict(golden["sd"], n_head=int(golden["n_head"]), dtype=np.float32)
    logits = model(golden["input_ids"])
    assert logits.dtype == np.float32
    assert logits.shape == golden["logits_f32"].shape
    np.testing.assert_allclose(logits, golden["logits_f32"], rtol=0, atol=1e-4)


def test_logits_match_transformers_float64(golden, model64):
    logits = model64(golden["input_ids"])
    assert logits.dtype == np.float64
    np.testing.assert_allclose(logits, golden["logits_f64"], rtol=0, atol=1e-9)


def test_unbatched_input_gives_the_same_logits(golden, model64):
    ids = golden["input_ids"]
    np.testing.assert_allclose(model64(ids[1]), golden["logits_f64"][1], rtol=0, atol=1e-9)


@pytest.mark.parametrize("use_cache", [True, False])
def test_greedy_generation_matches_transformers(golden, model64, use_cache):
    tokens = model64.generate(golden["prompt"], max_new_tokens=golden["greedy"].shape[-1],
                              use_cache=use_cache)
    np.testing.assert_array_equal(tokens, golden["greedy"])


def test_greedy_float32_matches_transformers(golden):
    model = GPT2.from_hf_state_dict(golden["sd"], n_head=int(golden["n_head"]))
    tokens = model.generate(golden["prompt"], max_new_tokens=golden["greedy"].shape[-1])
    np.testing.assert_array_equal(tokens, golden["greedy"])


def test_temperature_zero_is_greedy_even_with_rng(golden, model64):
    tokens = model64.generate(golden["prompt"], 8, temperature=0,
                              rng=np.random.default_rng(0), top_k=3)
    np.testing.assert_array_equal(tokens, golden["greedy"][..., :8])


def test_kv_cache_logits_match_full_recompute_float64(golden, model64):
    ids = golden["input_ids"]                                     # (2, 12)
    full = model64(ids)
    cache = model64.new_cache()
    steps = [model64(ids[:, :4], cache=cache)]                    # a prompt, then one at a time
    steps += [model64(ids[:, t : t + 1], cache=cache) for t in range(4, ids.shape[1])]
    incremental = np.concatenate(steps, axis=1)
    assert cache.length == ids.shape[1]
    np.testing.assert_allclose(incremental, full, rtol=0, atol=1e-6)
    np.testing.assert_allclose(incremental, golden["logits_f64"], rtol=0, atol=1e-9)


def test_cached_and_uncached_sampling_draw_the_same_tokens():
    config = gpt2_config(vocab_size=50, n_ctx=40, d_model=32, n_layer=2, n_head=4)
    model = GPT2.from_config(config, np.random.default_rng(0), dtype=np.float64)
    prompt = np.array([[1, 2, 3], [4, 5, 6]])
    runs = [model.generate(prompt, 15, use_cache=c, temperature=1.5, top_k=20, top_p=0.9,
                           rng=np.random.default_rng(7)) for c in (True, False)]
    np.testing.assert_array_equal(runs[0], runs[1])
    other_seed = model.generate(prompt, 15, temperature=1.5, rng=np.random.default_rng(8))
    assert not np.array_equal(runs[0], other_seed)


def test_loader_ignores_mask_buffers_and_a_tied_lm_head(golden):
    sd = dict(golden["sd"])
    sd["transformer.h.0.attn.bias"] = np.tril(np.ones((1, 1, 64, 64)))
    sd["transformer.h.1.attn.masked_bias"] = np.array(-1e4)
    assert np.array_equal(sd["lm_head.weight"], sd["transformer.wte.weight"])   # tied copy
    model = GPT2.from_hf_state_dict(sd, n_head=int(golden["n_head"]), dtype=np.float64)
    np.testing.assert_allclose(model(golden["input_ids"]), golden["logits_f64"], atol=1e-9)
    assert model.config.tie_embeddings
    assert set(model.params) == set(param_shapes(model.config))
    # transformers ties the head whenever the config says so, whatever lm_head.weight holds
    sd["lm_head.weight"] = np.zeros_like(sd["lm_head.weight"])
    model = GPT2.from_hf_state_dict(sd, dtype=np.float64,
                                    config={"n_head": 4, "tie_word_embeddings": True})
    np.testing.assert_allclose(model(golden["input_ids"]), golden["logits_f64"], atol=1e-9)


def test_loader_reads_sizes_from_the_arrays(golden):
    model = GPT2.from_hf_state_dict(golden["sd"], n_head=4)
    c = model.config
    assert (c.vocab_size, c.n_ctx, c.d_model, c.n_layer, c.n_head) == (101, 64, 64, 2, 4)
    assert model.dtype == np.float64   # dtype=None keeps the arrays' dtype


def test_loader_rejects_bad_state_dicts(golden):
    sd = dict(golden["sd"])
    with pytest.raises(ValueError, match="n_head=5"):
        GPT2.from_hf_state_dict(sd, n_head=5)
    with pytest.raises(ValueError, match="unexpected.*h.0.attn.extra"):
        GPT2.from_hf_state_dict({**sd, "transformer.h.0.attn.extra": np.zeros(3)}, n_head=4)
    missing = {k: v for k, v in sd.items() if k != "transformer.wpe.weight"}
    with pytest.raises(ValueError, match="wpe"):
        GPT2.from_hf_state_dict(missing, n_head=4)


def test_generate_rejects_bad_arguments(model64):
    with pytest.raises(ValueError, match="n_ctx=64"):
        model64.generate(np.zeros((1, 60), dtype=int), 10)
    with pytest.raises(ValueError, match="rng"):
        model64.generate(np.zeros((1, 3), dtype=int), 2, top_k=5)


def test_from_config_builds_the_config_it_was_given():
    config = ModelConfig(vocab_size=30, n_ctx=16, d_model=16, n_layer=1, n_head=2,
                         activation="gelu_tanh")
    model = GPT2.from_config(config, np.random.default_rng(0))
    assert model(np.arange(5)).shape == (5, 30)
    assert model.dtype == np.float32


def test_from_safetensors(golden, tmp_path):
    st = pytest.importorskip("safetensors.numpy")
    path = tmp_path / "model.safetensors"
    st.save_file({k: np.ascontiguousarray(v) for k, v in golden["sd"].items()}, str(path))
    model = GPT2.from_safetensors(path, n_head=int(golden["n_head"]), dtype=np.float64)
    np.testing.assert_allclose(model(golden["input_ids"]), golden["logits_f64"], atol=1e-9)


# ----------------------------------------------------------------------------- config variants

VARIANTS = Path(__file__).parents[1] / "fixtures" / "gpt2_variants.npz"


@pytest.fixture(scope="module")
def variants():
    data = np.load(VARIANTS)
    out = {}
    for key in data.files:
        if "/" not in key:
            continue
        name, rest = key.split("/", 1)
        entry = out.setdefault(name, {"sd": {}, "ids": data["input_ids"]})
        if rest.startswith("sd/"):
            entry["sd"][rest.removeprefix("sd/")] = data[key]
        elif rest == "config":
            entry["config"] = json.loads(str(data[key]))
        else:
            entry[rest] = data[key]
    return out


def test_untied_head_is_loaded(variants):
    # transformers with tie_word_embeddings=False: lm_head.weight differs from wte
    v = variants["untied"]
    model = GPT2.from_hf_state_dict(v["sd"], n_head=3, dtype=np.float64)
    assert not model.config.tie_embeddings
    np.testing.assert_array_equal(model.params["lm_head"], v["sd"]["lm_head.weight"].T)
    np.testing.assert_allclose(model(v["ids"]), v["logits"], rtol=0, atol=1e-9)
    # the same with the config, and the head is counted once more than a tied model
    with_config = GPT2.from_hf_state_dict(v["sd"], dtype=np.float64, config=v["config"])
    np.testing.assert_allclose(with_config(v["ids"]), v["logits"], rtol=0, atol=1e-9)
    assert "lm_head" in param_shapes(with_config.config)


@pytest.mark.parametrize("name", ["relu", "gelu_exact", "unscaled", "eps"])
def test_config_fields_the_arrays_cannot_show(variants, name):
    v = variants[name]
    model = GPT2.from_hf_state_dict(v["sd"], dtype=np.float64, config=v["config"])
    np.testing.assert_allclose(model(v["ids"]), v["logits"], rtol=0, atol=1e-9)
    # without the config the defaults (tanh GELU, 1/sqrt(d) scale, eps 1e-5) are visibly wrong
    blind = GPT2.from_hf_state_dict(v["sd"], n_head=3, dtype=np.float64)
    assert np.abs(blind(v["ids"]) - v["logits"]).max() > 1e-4


def test_config_fields_the_engine_cannot_express_are_refused(variants):
    sd, config = variants["relu"]["sd"], variants["relu"]["config"]
    for field, value, match in [
            ("scale_attn_by_inverse_layer_idx", True, "scale_attn_by_inverse_layer_idx"),
            ("add_cross_attention", True, "add_cross_attention"),
            ("activation_function", "silu", "activation_function='silu'"),
            ("n_head", 4, "n_head=3 disagrees"),
            ("model_type", "llama", "model_type='llama'")]:
        with pytest.raises(ValueError, match=match):
            GPT2.from_hf_state_dict(sd, n_head=3, config={**config, field: value})
    with pytest.raises(ValueError, match="n_head is not recoverable"):
        GPT2.from_hf_state_dict(sd)
    no_head = {k: v for k, v in variants["untied"]["sd"].items() if k != "lm_head.weight"}
    with pytest.raises(ValueError, match="no 'lm_head.weight'"):
        GPT2.from_hf_state_dict(no_head, config=variants["untied"]["config"])


def test_float16_state_dict_computes_in_float32(variants):
    # float16 weights are widened exactly; the logits then match the float64 model that
    # holds the same rounded weights to float32 accuracy
    v = variants["fp16_weights"]
    assert v["sd"]["transformer.wte.weight"].dtype == np.float16
    model = GPT2.from_hf_state_dict(v["sd"], config=v["config"])
    assert model.dtype == np.float32
    logits = model(v["ids"])
    assert logits.dtype == np.float32
    np.testing.assert_allclose(logits, v["logits"], rtol=0, atol=2e-5)
