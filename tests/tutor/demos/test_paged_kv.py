"""paged-kv demo: bytes per token and prefix-sharing blocks by formula, and the two schemes'
bookkeeping against each other."""

import math

import pytest

from tests.tutor.demos import _helpers as helpers
from tutor import demos
from tutor.demos.registry import DEMOS
from tutor.errors import UsageError


@pytest.fixture(scope="module")
def result():
    return helpers.run("paged-kv", requests=120, seed=3)


def test_bytes_per_token(result):
    assert result["bytes_per_token"] == 2 * 32 * 32 * 128 * 2       # K and V, llama-2-7b, fp16
    assert result["capacity_bytes"] == result["capacity"] * result["bytes_per_token"]


def test_contiguous_reserves_and_paged_packs(result):
    c, g = result["schemes"]["contiguous"], result["schemes"]["paged"]
    assert c["finished"] == g["finished"] == result["requests"]
    assert c["peak_running"] <= result["capacity"] // result["reserve"]
    assert c["mean_allocated"] == pytest.approx(result["reserve"] * c["mean_running"])
    assert c["mean_waste"] == pytest.approx(c["mean_allocated"] - c["mean_used"])
    # the paged tail is under one block per running request
    assert g["mean_waste"] < result["block"] * g["mean_running"]
    assert g["utilisation"] > 0.9 > 0.5 > c["utilisation"]
    assert g["steps"] < c["steps"] and g["peak_running"] > c["peak_running"]
    assert c["waste_bytes"] == pytest.approx(c["mean_waste"] * result["bytes_per_token"])


def test_prefix_sharing_by_formula(result):
    s = result["sharing"]
    b, sys_len = result["block"], s["system_prompt"]
    private = sum(math.ceil((sys_len + x) / b) for x in s["suffixes"])
    full = sys_len // b
    shared = full + sum(math.ceil((sys_len + x) / b) - full for x in s["suffixes"])
    assert (s["blocks_private"], s["blocks_shared"]) == (private, shared)
    assert s["copies"] == (s["requests"] - 1 if sys_len % b else 0)
    assert s["saved_share"] == pytest.approx(1 - shared / private)


def test_reserve_shorter_than_a_request_is_refused():
    with pytest.raises(UsageError, match="--reserve 512 is shorter"):
        demos.prepare(DEMOS["paged-kv"], {"reserve": 512})
    with pytest.raises(UsageError, match="largest --requests allowed is 390"):
        demos.prepare(DEMOS["paged-kv"], {"requests": 2000})
    with pytest.raises(UsageError, match="--preset bert-large is an encoder"):
        demos.prepare(DEMOS["paged-kv"], {"preset": "bert-large"})
