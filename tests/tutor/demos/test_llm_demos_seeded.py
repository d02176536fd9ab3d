"""The LLM-systems demos measure no time: the same seed gives the same JSON, another seed
other figures."""

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
