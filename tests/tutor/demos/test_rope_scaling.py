"""rope-scaling demo: linear interpolation maps angles back exactly, NTK and YaRN keep the
fastest pair and stretch the slowest, llama3 against Llama 3.1's own scaling loop, and the
out-of-distribution count by a plain loop."""

import math

import numpy as np
import pytest
from typer.testing import CliRunner

from engine.positional import rope_angles, rope_inv_freq
from tests.tutor.demos import _helpers as helpers
from tutor.cli import app
from tutor.demos.rope_scaling import scaling_dicts


def run(**args) -> dict:
    return helpers.run("rope-scaling", **args)


@pytest.fixture(scope="module")
def result():
    return run()


def methods(r):
    return {m["method"]: m for m in r["methods"]}


def test_linear_angles_at_factor_times_l_equal_the_unscaled_angles_at_l(result):
    m = methods(result)["linear"]
    for band in ("high", "mid", "low"):
        assert m["angles"][band] == result["trained"][band]["max_angle"]     # exact
        assert not m["ood"][band]
    # whole tables: position 4q under linear x4 is position q unscaled, bit for bit
    inv, _ = rope_inv_freq(128, 10000.0, {"rope_type": "linear", "factor": 4.0})
    q = np.arange(4097)
    cos_s, sin_s = rope_angles(4 * q, 128, inv_freq=inv)
    cos_0, sin_0 = rope_angles(q, 128)
    assert np.array_equal(cos_s, cos_0) and np.array_equal(sin_s, sin_0)
    # a factor that is no power of two: equal to rounding
    inv3, _ = rope_inv_freq(128, 10000.0, {"rope_type": "linear", "factor": 3.0})
    np.testing.assert_allclose(rope_angles(3 * q, 128, inv_freq=inv3)[1],
                               rope_angles(q, 128)[1], rtol=0, atol=1e-9)


@pytest.mark.parametrize("factor", [2.0, 4.0, 8.0, 32.0])
def test_ntk_and_yarn_keep_the_fastest_pair_and_stretch_the_slowest(factor):
    r = run(factor=factor)
    m = methods(r)
    L, T, d = 4096, round(factor * 4096), 128
    alpha = factor * T / L - (factor - 1)             # dynamic NTK's theta multiplier at T
    assert r["dynamic_alpha"] == pytest.approx(alpha)
    dyn, yarn = m["dynamic"]["ratio"], m["yarn"]["ratio"]
    assert dyn[0] == 1.0 and yarn[0] == pytest.approx(1.0, abs=1e-12)
    # theta * alpha^(d/(d-2)) divides the slowest pair, theta^(-(d-2)/d), by exactly alpha
    assert dyn[-1] == pytest.approx(1 / alpha, rel=1e-12)
    assert yarn[-1] == pytest.approx(1 / factor, rel=1e-12)
    assert all(0 < a <= 1 + 1e-12 for a in dyn + yarn)
    assert np.all(np.diff(dyn) < 0)                   # NTK: slower pairs are stretched more
    # YaRN: 0.1 ln(s) + 1 on cos and sin, its square on the scores
    assert m["yarn"]["attention_factor"] == pytest.approx(0.1 * math.log(factor) + 1)
    assert m["yarn"]["logit_scale"] == pytest.approx((0.1 * math.log(factor) + 1) ** 2)
    assert m["linear"]["ratio"] == pytest.approx([1 / factor] * (d // 2), rel=1e-12)


def llama31_apply_scaling(freqs, scale_factor, low_freq_factor, high_freq_factor,
                          old_context_len):
    """Meta's llama-models apply_scaling (Llama 3.1), as a plain loop."""
    low_freq_wavelen = old_context_len / low_freq_factor
    high_freq_wavelen = old_context_len / high_freq_factor
    new_freqs = []
    for freq in freqs:
        wavelen = 2 * math.pi / freq
        if wavelen < high_freq_wavelen:
            new_freqs.append(freq)
        elif wavelen > low_freq_wavelen:
            new_freqs.append(freq / scale_factor)
        else:
            smooth = (old_context_len / wavelen - low_freq_factor) / (
                high_freq_factor - low_freq_factor)
            new_freqs.append((1 - smooth) * freq / scale_factor + smooth * freq)
    return new_freqs


@pytest.mark.parametrize(("factor", "trained", "theta"), [
    (4.0, 4096, 10000.0), (8.0, 8192, 500000.0), (2.5, 1000, 50000.0)])
def test_llama3_follows_llama_3_1s_scaling(factor, trained, theta):
    r = run(factor=factor, trained_len=trained, theta=theta)
    ratio = methods(r)["llama3"]["ratio"]
    w0 = [theta ** (-i / 128) for i in range(0, 128, 2)]
    expected = llama31_apply_scaling(w0, factor, 1.0, 4.0, trained)
    np.testing.assert_allclose(np.array(ratio) * w0, expected, rtol=1e-12)
    for w, a in zip(w0, ratio, strict=True):
        wavelength = 2 * math.pi / w
        if wavelength < trained / 4:                    # high-frequency pairs untouched
            assert a == 1.0
        elif wavelength > trained:                      # low-frequency pairs / factor
            assert a == pytest.approx(1 / factor, rel=1e-12)


def test_out_of_distribution_pairs_by_a_loop(result):
    L, T, d, theta = 4096, 16384, 128, 10000.0
    for name, scaling in scaling_dicts(4.0, L).items():
        inv, _ = rope_inv_freq(d, theta, scaling, seq_len=T, max_position_embeddings=L)
        count = 0
        for i in range(d // 2):
            seen = L * theta ** (-2 * i / d)
            if seen < 2 * math.pi and T * inv[i] > seen * (1 + 1e-9):
                count += 1
        assert methods(result)[name]["ood_dims"] == count
    unturned = [i for i in range(64) if L * theta ** (-2 * i / d) < 2 * math.pi]
    assert result["first_unturned"] == unturned[0]
    assert methods(result)["none"]["ood_dims"] == len(unturned) > 0
    assert methods(result)["none"]["max_ood_ratio"] == pytest.approx(T / L)
    assert all(methods(result)[m]["ood_dims"] == 0 for m in ("linear", "yarn", "llama3"))


def test_a_target_within_the_trained_length_changes_nothing_for_none_and_dynamic():
    r = run(target=2048)
    m = methods(r)
    assert r["dynamic_alpha"] == 1.0 and m["dynamic"]["ratio"] == m["none"]["ratio"]
    assert m["none"]["ood_dims"] == 0


def test_takes_no_randomness():
    assert run(seed=1) == {**run(seed=2), "params": run(seed=1)["params"]}


def test_names_and_topics_find_the_demo():
    from tutor.demos.registry import lookup

    for word in ("rope-scaling", "yarn", "long-context", "ntk", "position-interpolation"):
        assert lookup(word).name == "rope-scaling"
    result = CliRunner().invoke(app, ["demo", "long-context", "--json"])
    assert result.exit_code == 0 and '"demo": "rope-scaling"' in result.stdout


@pytest.mark.parametrize(("args", "message"), [
    (["--head-dim", "127"], "--head-dim 127 must be even"),
    (["--factor", "300"], "largest allowed value 256"),
])
def test_refusals_exit_2_naming_the_option(args, message):
    result = CliRunner().invoke(app, ["demo", "rope-scaling", *args])
    assert result.exit_code == 2 and message in result.stderr


@pytest.mark.parametrize("args", [dict(head_dim=4, factor=256.0, trained_len=16),
                                  dict(head_dim=1024, theta=1e9, trained_len=10_000_000,
                                       target=1_000_000_000)])
def test_renders_within_60_columns_at_the_bounds(args):
    text = helpers.render_text("rope-scaling", run(**args))
    helpers.assert_fits(text)
    assert "Takeaway" in text
