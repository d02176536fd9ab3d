"""The LLM-systems demos: they measure no time, so the same seed gives the same JSON and
another seed other figures; their aliases and topics find them."""

import pytest

from tests.tutor.demos._helpers import run

CASES = {
    "lora": {"ranks": [2, 4], "steps": 30},
    "quantize": {},
    "speculative": {"tokens": 12, "draws": 2000},
    "mixed-precision": {"vocab": 1024, "rows": 4},
    "paged-kv": {"requests": 30},
    "preference": {"steps": 20, "samples": 200},
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_same_seed_same_figures(name):
    a = run(name, seed=21, **CASES[name])
    assert a == run(name, seed=21, **CASES[name])
    assert a != run(name, seed=22, **CASES[name])


def test_roofline_is_arithmetic_and_ignores_the_seed():
    assert run("roofline", seed=1) == {**run("roofline", seed=2),
                                       "params": run("roofline", seed=1)["params"]}


@pytest.mark.parametrize(("word", "demo"), [
    ("qlora", "lora"), ("peft", "lora"), ("fine-tuning", "lora"), ("nf4", "quantize"),
    ("quantization", "quantize"), ("llm-int8", "quantize"),
    ("speculative-decoding", "speculative"), ("serving", "speculative"),
    ("fp16", "mixed-precision"), ("bf16", "mixed-precision"),
    ("loss-scaling", "mixed-precision"), ("arithmetic-intensity", "roofline"),
    ("vllm", "paged-kv"), ("prefix-caching", "paged-kv"), ("dpo", "preference"),
    ("grpo", "preference"), ("post-training", "preference"), ("min-p", "decoding"),
    ("beam-search", "decoding"), ("inference", "kv-cache"),
])
def test_names_aliases_and_topics_find_the_demo(word, demo):
    from tutor.demos.registry import lookup

    assert lookup(word).name == demo
