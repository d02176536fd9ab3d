"""Evaluation formulas: perplexity, bits per byte, pass@k, Elo ratings, abstention-aware scores."""

from __future__ import annotations

import math

from tutor.formulas import Computed, formula


@formula("evaluation.perplexity",
         "Perplexity from a mean per-token cross-entropy in nats: exp(loss)")
def perplexity(loss_nats: float) -> Computed:
    if loss_nats < 0:
        raise ValueError(f"loss_nats={loss_nats} must be >= 0: a cross-entropy is never negative")
    ppl = math.exp(loss_nats)
    return Computed(ppl, f"e^{loss_nats:g} = {ppl:.4g} (as uncertain as a uniform choice among "
                         f"{ppl:.3g} tokens)")


@formula("evaluation.bits_per_byte",
         "Bits per byte from a per-token loss in nats: loss / (ln 2 x bytes per token)")
def bits_per_byte(loss_nats: float, bytes_per_token: float) -> Computed:
    if bytes_per_token <= 0:
        raise ValueError(f"bytes_per_token={bytes_per_token} must be > 0")
    bits_per_token = loss_nats / math.log(2)
    bpb = bits_per_token / bytes_per_token
    return Computed(bpb, f"{loss_nats:g} nats / ln 2 = {bits_per_token:.4g} bits per token; "
                         f"/ {bytes_per_token:g} bytes per token = {bpb:.4g} bits per byte")


@formula("evaluation.pass_at_k",
         "Unbiased pass@k from n samples with c correct: 1 - C(n - c, k) / C(n, k)")
def pass_at_k(n: int, c: int, k: int) -> Computed:
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"need 0 <= c <= n and 1 <= k <= n, got n={n}, c={c}, k={k}")
    # Chen et al. 2021's numerically stable product form of C(n - c, k) / C(n, k)
    fail = 1.0 if n - c >= k else 0.0
    if fail:
        for i in range(n - c + 1, n + 1):
            fail *= 1.0 - k / i
    p = 1.0 - fail
    return Computed(p, f"1 - C({n} - {c}, {k}) / C({n}, {k}) = 1 - {fail:.4g} = {p:.4g} "
                       f"(chance that k = {k} of the {n} samples, drawn without replacement, "
                       f"include a correct one)")


@formula("evaluation.elo_win_probability",
         "Expected score of the higher-rated model under the Elo scale: 1 / (1 + 10^(-gap/400))")
def elo_win_probability(rating_gap: float) -> Computed:
    p = 1.0 / (1.0 + 10.0 ** (-rating_gap / 400.0))
    return Computed(p, f"1 / (1 + 10^(-{rating_gap:g}/400)) = 1 / (1 + "
                       f"{10.0 ** (-rating_gap / 400.0):.4g}) = {p:.4g}")


@formula("evaluation.confidence_target_score",
         "Expected score of answering at confidence p when a wrong answer costs t/(1-t) and "
         "'I don't know' scores 0: p - (1 - p) t / (1 - t)")
def confidence_target_score(confidence: float, threshold: float) -> Computed:
    if not 0 <= confidence <= 1 or not 0 <= threshold < 1:
        raise ValueError(f"need 0 <= confidence <= 1 and 0 <= threshold < 1, got "
                         f"{confidence} and {threshold}")
    penalty = threshold / (1 - threshold)
    score = confidence - (1 - confidence) * penalty
    verdict = "answer" if score > 0 else "abstain" if score < 0 else "either"
    return Computed(score, f"penalty = {threshold:g} / (1 - {threshold:g}) = {penalty:.4g}; "
                           f"{confidence:g} x 1 - {1 - confidence:.4g} x {penalty:.4g} = "
                           f"{score:.4g} against 0 for abstaining ({verdict})")

