"""roofline demo: FLOPs and bytes of llama-3-8b counted by hand, the roof, and the critical
batch against a scan."""

import pytest

from tests.tutor.demos import _helpers as helpers


@pytest.fixture(scope="module")
def result():
    return helpers.run("roofline")


D, F, L, KV, HEAD, VOCAB = 4096, 14336, 32, 8, 128, 128256


def decode_by_hand(batch, ctx):
    per_layer = 2 * (D * D + 2 * D * KV * HEAD + D * D + 3 * D * F)  # q, k, v, o, SwiGLU
    attention = 2 * 2 * (ctx + 1) * D                                # scores and values
    flops = batch * (L * (per_layer + attention) + 2 * D * VOCAB)
    weights = L * (2 * D * D + 2 * D * KV * HEAD + 3 * D * F + 2 * D) + D + D * VOCAB
    kv = 2 * batch * (ctx + 1) * L * KV * HEAD
    return flops, 2 * weights, 2 * kv


def test_decode_rows_by_hand(result):
    assert result["preset"] == "llama-3-8b" and result["context"] == 512
    chips = {c["name"]: c for c in result["chips"]}
    for row in result["decode"]:
        flops, wb, kvb = decode_by_hand(row["batch"], 512)
        assert (row["flops"], row["weight_bytes"], row["kv_bytes"]) == (flops, wb, kvb)
        assert row["intensity"] == pytest.approx(flops / (wb + kvb))
        for name, chip in chips.items():
            t = max(flops / chip["peak_flops"], (wb + kvb) / chip["bandwidth"])
            assert row["step_ms"][name] == pytest.approx(1e3 * t)
            assert row["tokens_per_s"][name] == pytest.approx(row["batch"] / t)
            bound = "memory" if row["intensity"] < chip["ridge"] else "compute"
            assert row["bound"][name] == bound
            assert row["attainable_tflops"][name] == pytest.approx(
                min(chip["peak_flops"], row["intensity"] * chip["bandwidth"]) / 1e12)
    assert result["decode"][0]["intensity"] == pytest.approx(1.0, abs=0.02)  # batch 1, bf16


def test_datasheet_ridges_and_critical_batches(result):
    ridge = {c["name"]: c["ridge"] for c in result["chips"]}
    a100, h100 = list(ridge)
    assert ridge[a100] == pytest.approx(312 / 2.039) and ridge[h100] == pytest.approx(989 / 3.35)
    assert result["weights_only_batch"] == pytest.approx(ridge)      # 2 bytes: b ~ ridge
    b = result["critical_batch"][a100]
    scan = next(n for n in range(1, 5000)
                if (lambda f, w, k: f / (w + k))(*decode_by_hand(n, 512)) >= ridge[a100])
    assert b == scan
    assert result["critical_batch"][h100] is None and result["intensity_limit"] < ridge[h100]
    flops1, _, kv1 = decode_by_hand(1, 512)
    assert result["intensity_limit"] == pytest.approx(flops1 / kv1)
    limits = [c["limit"] for c in result["contexts"]]
    assert limits == sorted(limits, reverse=True)            # longer contexts: lower ceiling


def test_prefill_is_compute_bound(result):
    row = result["prefill"][0]
    assert row["batch"] == 1 and row["intensity"] > 500
    assert set(row["bound"].values()) == {"compute"}


def test_an_encoder_preset_is_refused():
    from tutor import demos
    from tutor.demos.registry import DEMOS
    from tutor.errors import UsageError

    with pytest.raises(UsageError, match="--preset bert-base is an encoder"):
        demos.prepare(DEMOS["roofline"], {"preset": "bert-base"})
