"""The free-text grader: claims not topics, paraphrase, negation, and wrong claims flagged."""

from __future__ import annotations

import pytest

from tutor.grading import match_keypoints
from tutor.grading.text import compile_phrasing, find, sentences
from tutor.kinds.base import KeyPoint, Reject


def covers(answer: str, *phrasings: str) -> bool:
    sents = sentences(answer)
    return any(find(compile_phrasing(p), sents) is not None for p in phrasings)


@pytest.mark.parametrize("answer", [
    "the variance grows with d_k",
    "As d_k increases, so does the variance",          # order, synonym, inflection
    "Variance of the dot product rises linearly in d_k",
    "the dot products' variance is growing with dk",
])
def test_paraphrases_of_one_claim_match(answer):
    assert covers(answer, "variance (grow) (d_k|dimension)")


@pytest.mark.parametrize("answer", [
    "the variance does not grow with d_k",
    "variance never increases with d_k",
    "the variance no longer grows with d_k once scaled",
    "variance doesn't rise with d_k",
])
def test_negated_claims_do_not_match(answer):
    assert not covers(answer, "variance (grow) (d_k|dimension)")


def test_a_negated_phrasing_needs_a_negated_answer():
    assert covers("RoPE does not extrapolate past its trained length",
                  "rope not extrapolate (beyond|past) trained length")
    assert not covers("RoPE extrapolates past its trained length",
                      "rope not extrapolate (beyond|past) trained length")


def test_naming_the_subject_is_not_stating_the_claim():
    assert not covers("I would use sinusoidal or RoPE", "sinusoidal (degrade|fail)")
    assert covers("sinusoidal encodings degrade badly past the training length",
                  "sinusoidal (degrade|fail)")


def test_symbols_written_as_words():
    assert covers("cost is O(n^2) in the sequence length", "quadratic (sequence|length)")
    assert covers("it grows with n² in the context length", "quadratic (sequence|length)")
    assert covers("it is quadratic in sequence length", "quadratic (sequence|length)")
    assert covers("divide by √d_k", "divide sqrt d_k")
    assert covers("divide by the square root of d_k", "divide sqrt d_k")


def test_british_spellings_and_contractions():
    assert covers("it normalises each token", "normalize token")
    assert covers("it can't see the future", "not see future")


def test_claims_must_be_stated_close_together_in_one_sentence():
    far = ("Softmax is a function. Later, in a different discussion about optimisers and "
           "learning rate warmup schedules, things saturate.")
    assert not covers(far, "softmax saturate")
    assert covers("without the scaling, softmax saturates", "softmax saturate")


def test_reject_flags_the_wrong_claim_and_blocks_its_point():
    kp = KeyPoint(point="sinusoidal and RoPE degrade past the trained length",
                  accept=["(sinusoidal|rope) (degrade|worse|poor)"],
                  rejects=[Reject(claim="sinusoidal or RoPE extrapolate well",
                                  match=["(better|best|well) (sinusoidal|rope)",
                                         "(sinusoidal|rope) extrapolate (better|well|fine)"],
                                  correction="both degrade; ALiBi or rescaled RoPE do better")])
    wrong = match_keypoints("Better with sinusoidal or RoPE.", [kp])
    assert wrong.covered == [] and [f.claim for f in wrong.flags] == [
        "sinusoidal or RoPE extrapolate well"]
    right = match_keypoints("Sinusoidal and RoPE both get worse past the training length.",
                            [kp])
    assert right.covered == [kp.point] and right.flags == []
    negated = match_keypoints("Sinusoidal does not extrapolate well and degrades.", [kp])
    assert negated.flags == [] and negated.covered == [kp.point]


def test_question_level_rejects():
    r = Reject(claim="attention is a linear operation", match=["attention (is|a) linear"],
               correction="softmax of input-dependent scores makes attention non-linear")
    kp = KeyPoint(point="the FFN adds per-token non-linearity", accept=["ffn (non linear)"])
    result = match_keypoints("Attention is a linear operation, so the FFN adds non-linearity",
                             [kp], [r])
    assert [f.claim for f in result.flags] == ["attention is a linear operation"]
    assert result.covered == [kp.point]  # the FFN point itself is still stated
    assert match_keypoints("attention is not linear at all", [kp], [r]).flags == []


def test_untrusted_answers_are_bounded():
    long = "variance " * 5000 + "grows"
    assert isinstance(covers(long, "variance grow d_k"), bool)
    assert covers("variance " * 50 + "grows with d_k", "variance grow d_k")


def test_non_prefix_is_part_of_the_word():
    assert not covers("attention is non-linear in its input", "attention linear")
    assert covers("attention is non-linear in its input", "attention (non linear|nonlinear)")
    assert covers("the FFN adds a nonlinearity", "ffn (non-linearity)")


def test_norm_placement_formulas_read_as_words():
    assert covers("post-norm computes LN(x + F(x))", "norm after residual")
    assert covers("LayerNorm(x + Sublayer(x)) in the original", "norm after residual")
    assert not covers("pre-norm computes x + F(LN(x))", "norm after residual")
    assert covers("pre-norm computes x + F(LN(x))", "norm before sublayer")
    assert covers("each block outputs x + F(x)", "x plus fx")


def test_a_comparison_is_not_praise_of_what_it_beats():
    assert not covers("ALiBi extrapolates better than RoPE", "better rope")
    assert covers("ALiBi extrapolates better than RoPE", "alibi outperform")
    assert covers("ALiBi outperforms RoPE on long inputs", "alibi outperform rope")
    assert covers("RoPE works better with rescaling", "better rope")


def test_longer_reads_as_length():
    assert covers("it degrades on longer inputs", "degrade length")


def test_a_preposition_binds_to_the_word_after_it():
    wrong = "(normalize|average|statistic) (over|across) batch"
    assert covers("BatchNorm averages over the batch", wrong)
    assert not covers("statistics per token across its features, so the batch size does not "
                      "matter", wrong)


def test_big_o_brackets_do_not_end_the_clause():
    assert covers("time is O(n^2 d) per layer", "time quadratic d")
    assert covers("the FFN costs O(n d^2) per layer", "ffn n d 2")
    assert covers("HBM accesses are Θ(n^2 d^2 / M)", "memory access quadratic d 2 m")
    assert covers("extra memory is O(n) with tiling", "memory linear tiling")


def test_function_brackets_and_dot_products_do_not_end_the_clause():
    assert covers("scores are q_i . k_j / sqrt(d_k), then a softmax", "score sqrt softmax")
    assert covers("softmax(Q K^T / sqrt(d_k)) V is the output", "softmax sqrt output")
    assert covers("q.k grows with d_k", "q dot k (grow) d_k")
    assert not covers("The model ends with v. Then it stops.", "v stop")


def test_comparison_signs_and_sharpen_flatten_words():
    assert covers("with T < 1 the distribution sharpens", "t below 1 sharper")
    assert covers("T > 1 makes it more uniform", "t above 1 flatten")
    assert not covers("T > 1 makes it more uniform", "t below 1")


def test_a_block_is_not_a_prevention():
    assert not covers("tiles are processed block by block", "prevent")
    assert covers("the mask prevents attention to pads", "mask stop pad")
