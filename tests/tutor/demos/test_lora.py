"""lora demo: counts by hand, the merge exact in float64, training never better than the
closed-form optimum, and memory from the bytes-per-parameter arithmetic."""

import pytest

from tests.tutor.demos import _helpers as helpers
from tutor import demos
from tutor.demos.registry import DEMOS
from tutor.errors import UsageError


@pytest.fixture(scope="module")
def result():
    return helpers.run("lora", ranks=[1, 2, 4, 8], steps=300, seed=1)


def test_trainable_counts_and_merge(result):
    for row in result["ranks"]:
        assert row["trainable"] == row["rank"] * (64 + 64)
        assert row["full"] == 64 * 64
        assert row["ratio"] == pytest.approx(row["rank"] / 32)
    assert result["merged_rank"] == 8
    assert result["merge_error"] <= 1e-9 and result["unmerge_error"] <= 1e-9


def test_training_approaches_but_never_beats_the_reduced_rank_optimum(result):
    for row in result["ranks"]:
        assert row["loss"] >= row["optimum"] * (1 - 1e-9)
        assert row["captured"] == pytest.approx(1 - row["loss"] / result["base_loss"])
    below = [r for r in result["ranks"] if r["rank"] < result["task_rank"]]
    assert all(r["loss"] == pytest.approx(r["optimum"], rel=0.01) for r in below)
    at = next(r for r in result["ranks"] if r["rank"] == result["task_rank"])
    assert at["captured"] > 0.99 > max(r["captured"] for r in below)


def test_llama_adapter_counts_and_memory_by_hand(result):
    d, f, layers, r = 4096, 11008, 32, 16
    a = result["adapters"]
    assert a["q_v"]["trainable"] == layers * 2 * r * (d + d)
    assert a["all_linear"]["trainable"] == layers * r * (4 * (d + d) + 3 * (d + f))
    total = 6_738_415_616                                   # llama-2-7b (engine.accounting)
    assert a["all_linear"]["total"] == total
    memory = {m["method"]: m for m in result["memory"]}
    assert memory["full fine-tuning"]["bytes"] == 16 * total
    adapters = 16 * a["all_linear"]["trainable"]           # bf16 w+g, fp32 master, Adam m, v
    assert memory["LoRA, bf16 base"]["bytes"] == 2 * total + adapters
    linear = layers * (4 * d * d + 3 * d * f)
    nf4 = linear * (4 + 8 / 64 + 32 / (64 * 256)) / 8       # QLoRA: 4.127 bits per weight
    expected = nf4 + 2 * (total - linear) + adapters
    assert memory["QLoRA, NF4 base"]["bytes"] == pytest.approx(expected, rel=1e-5)
    assert result["nf4"]["bits_per_weight"] == pytest.approx(4.127, abs=1e-3)
    assert 0 < result["nf4"]["rel_error"] < 0.2


def test_rank_above_the_layer_width_is_refused():
    with pytest.raises(UsageError, match="above the largest allowed value 64"):
        demos.prepare(DEMOS["lora"], {"ranks": [65]})
    with pytest.raises(UsageError, match="largest --steps allowed is 750"):
        demos.prepare(DEMOS["lora"], {"ranks": [1, 2, 4, 8, 16, 32, 48, 64], "steps": 3000})
