"""decoding demo: each filter against a brute-force construction from the same logits."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from tests.tutor.demos import _helpers as helpers
from tutor.cli import app
from tutor.demos.decoding import build_model, loop, repeat_rate


def run(**args) -> dict:
    return helpers.run("decoding", **args)


def softmax(x):
    e = np.exp(x - np.max(x))
    return e / e.sum()


@pytest.fixture(scope="module")
def result():
    out = CliRunner().invoke(app, ["demo", "decoding", "--json", "--seed", "3", "--top-k", "7",
                                   "--top-p", "0.8", "--temperature", "0.7"])
    assert out.exit_code == 0, out.stderr
    return json.loads(out.stdout)


def test_top_k_keeps_exactly_k_renormalised(result):
    logits = np.array(result["logits"])
    keep = np.argsort(-logits)[:7]
    expected = np.zeros_like(logits)
    expected[keep] = softmax(logits)[keep] / softmax(logits)[keep].sum()
    got = np.array(result["methods"]["top_k"]["probs"])
    assert result["methods"]["top_k"]["kept"] == 7
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)


def test_top_p_keeps_the_smallest_prefix_reaching_p(result):
    probs = softmax(np.array(result["logits"]))
    order = np.argsort(-probs)
    # brute force: the first prefix length m whose mass reaches p
    m = next(m for m in range(1, len(probs) + 1) if probs[order[:m]].sum() >= 0.8)
    assert probs[order[:m - 1]].sum() < 0.8
    expected = np.zeros_like(probs)
    expected[order[:m]] = probs[order[:m]] / probs[order[:m]].sum()
    got = np.array(result["methods"]["top_p"]["probs"])
    assert result["methods"]["top_p"]["kept"] == m
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)


def test_temperature_scales_logits_and_tends_to_greedy(result):
    logits = np.array(result["logits"])
    np.testing.assert_allclose(result["methods"]["temperature"]["probs"],
                               softmax(logits / 0.7), rtol=1e-9)
    greedy = int(np.argmax(logits))
    assert result["greedy_token"] == greedy
    assert result["methods"]["greedy"]["probs"][greedy] == 1.0
    assert result["methods"]["greedy"]["kept"] == 1
    sweep = result["temperature_sweep"]
    assert [s["temperature"] for s in sweep] == sorted((s["temperature"] for s in sweep),
                                                       reverse=True)
    top = [s["top_prob"] for s in sweep]
    assert top == sorted(top) and top[-1] > 0.999
    assert sweep[-1]["argmax"] == greedy
    entropy = -sum(p * np.log2(p) for p in softmax(logits) if p > 0)
    assert next(s for s in sweep if s["temperature"] == 1.0)["entropy_bits"] == \
        pytest.approx(entropy)


def test_greedy_continuation_is_the_argmax_path_recomputed():
    r = run(seed=0, steps=20)
    model, prompt = build_model(np.random.default_rng(0), 20)
    ids = prompt
    for _ in range(20):                       # no cache: the full sequence every step
        ids = np.concatenate([ids, [[int(np.argmax(model(ids)[0, -1]))]]], axis=-1)
    assert r["methods"]["greedy"]["continuation_ids"] == ids[0, prompt.shape[-1]:].tolist()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_greedy_repeats_more_than_sampling(seed):
    m = run(seed=seed)["methods"]
    greedy = m["greedy"]["repeat_rate"]
    assert greedy == repeat_rate(m["greedy"]["continuation_ids"])
    assert greedy > 0.1
    assert all(greedy > m[k]["repeat_rate"] for k in ("temperature", "top_k", "top_p"))


def test_repetition_measures_on_hand_made_sequences():
    assert repeat_rate([1, 2, 3, 4, 5, 6]) == 0.0
    # 4-grams of 1 2 3 1 2 3 1 2: (123 1)(231 2)(312 3)(123 1)(231 2) -> 2 of 5 seen before
    assert repeat_rate([1, 2, 3, 1, 2, 3, 1, 2]) == pytest.approx(2 / 5)
    assert loop([9, 8, 1, 2, 3, 1, 2, 3, 1, 2, 3]) == (3, 2)
    assert loop([5, 7, 7, 7]) == (1, 1)
    assert loop([1, 2, 3, 4]) == (None, None)


def test_renders_within_60_columns(result):
    text = helpers.render_text("decoding", result)
    helpers.assert_fits(text)
    assert "Takeaway" in text


def test_min_p_keeps_tokens_within_min_p_of_the_top(result):
    probs = softmax(np.array(result["logits"]))
    keep = probs >= 0.1 * probs.max()                          # the default min_p
    expected = np.where(keep, probs, 0) / probs[keep].sum()
    m = result["methods"]["min_p"]
    assert m["kept"] == keep.sum()
    np.testing.assert_allclose(m["probs"], expected, rtol=1e-9, atol=1e-12)


def test_repetition_penalty_continuation_recomputed_without_the_cache():
    r = run(seed=1, steps=15, repetition_penalty=1.5)
    model, prompt = build_model(np.random.default_rng(1), 15)
    ids = prompt[0].tolist()
    for _ in range(15):
        logits = model(np.array([ids]))[0, -1].astype(np.float64)
        seen = sorted(set(ids))
        logits[seen] = np.where(logits[seen] > 0, logits[seen] / 1.5, logits[seen] * 1.5)
        ids.append(int(np.argmax(logits)))
    assert r["penalty"]["continuation_ids"] == ids[prompt.shape[-1]:]


def test_beam_scores_are_real_log_probabilities():
    r = run(seed=2, steps=12, beam_width=4)
    assert r["beam"]["score"] == pytest.approx(r["beam"]["logprob"], abs=1e-3)
    one = run(seed=2, steps=12, beam_width=1)
    assert one["beam"]["continuation_ids"] == one["methods"]["greedy"]["continuation_ids"]
    assert one["beam"]["logprob"] == pytest.approx(one["greedy_logprob"], abs=1e-3)


def test_a_beam_search_too_long_for_a_demo_is_refused():
    from tutor import demos
    from tutor.demos.registry import DEMOS
    from tutor.errors import UsageError

    with pytest.raises(UsageError, match="largest --beam-width allowed is 20"):
        demos.prepare(DEMOS["decoding"], {"beam_width": 32, "steps": 100})
    demos.prepare(DEMOS["decoding"], {"beam_width": 10, "steps": 200})     # the most work


def test_cached_beams_match_beams_recomputed_from_scratch():
    from engine.sampling import beam_search
    from tutor.demos.decoding import CachedBeams

    model, prompt = build_model(np.random.default_rng(4), 10)
    plain = beam_search(lambda ids: model(ids)[:, -1], prompt[0], 10, 5)
    cached = beam_search(CachedBeams(model, prompt.shape[-1] + 10), prompt[0], 10, 5)
    np.testing.assert_array_equal(cached.sequences, plain.sequences)
    np.testing.assert_allclose(cached.scores, plain.scores, atol=1e-4)
