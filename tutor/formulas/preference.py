"""Post-training formulas: reward models, DPO, the KL-regularised optimum, GRPO, PPO, best-of-n.

The DPO, GRPO and KL-optimum values come from `engine.preference`, imported inside
each function so that validating a bank stays NumPy-free.
"""

from __future__ import annotations

import math

from tutor.formulas import Computed, formula


def _sigmoid(z: float) -> float:
    from engine.preference import sigmoid

    return float(sigmoid(z))


@formula("preference.bradley_terry",
         "Bradley-Terry probability that y_w is preferred: sigmoid(r_w - r_l)")
def bradley_terry(reward_chosen: float, reward_rejected: float) -> Computed:
    gap = reward_chosen - reward_rejected
    p = _sigmoid(gap)
    return Computed(p, f"sigmoid({reward_chosen:g} - ({reward_rejected:g})) = sigmoid({gap:g}) "
                       f"= 1 / (1 + e^{-gap:g}) = {p:.4g}")


def _dpo_margin(beta: float, chosen_logratio: float, rejected_logratio: float
                ) -> tuple[float, str]:
    z = beta * (chosen_logratio - rejected_logratio)
    return z, f"z = {beta:g} x ({chosen_logratio:g} - ({rejected_logratio:g})) = {z:.4g}"


@formula("preference.dpo_loss",
         "DPO loss of one pair: -log sigmoid(beta (log-ratio of y_w - log-ratio of y_l))")
def dpo_loss(beta: float, chosen_logratio: float, rejected_logratio: float) -> Computed:
    from engine.preference import log_sigmoid

    z, working = _dpo_margin(beta, chosen_logratio, rejected_logratio)
    loss = -float(log_sigmoid(z))
    return Computed(loss, f"{working}; -log sigmoid({z:.4g}) = {loss:.4g} nats")


@formula("preference.dpo_weight",
         "Weight DPO gives one pair's gradient: sigmoid(-z), z the implicit reward margin")
def dpo_weight(beta: float, chosen_logratio: float, rejected_logratio: float) -> Computed:
    z, working = _dpo_margin(beta, chosen_logratio, rejected_logratio)
    w = _sigmoid(-z)
    return Computed(w, f"{working}; sigmoid(-z) = {w:.4g} (0.5 at the reference)")


@formula("preference.kl_optimum_prob",
         "Probability of the better of two answers under argmax E[r] - beta KL: "
         "pi_ref exp(r / beta) / Z")
def kl_optimum_prob(ref_prob: float, reward_gap: float, beta: float) -> Computed:
    import numpy as np

    from engine.preference import kl_regularised_optimum

    if not 0 < ref_prob < 1:
        raise ValueError(f"ref_prob={ref_prob} must be in (0, 1)")
    pi = kl_regularised_optimum(np.array([ref_prob, 1 - ref_prob]),
                                np.array([reward_gap, 0.0]), beta)
    p = float(pi[0])
    boost = math.exp(reward_gap / beta)
    return Computed(p, f"{ref_prob:g} x e^({reward_gap:g}/{beta:g}) / ({ref_prob:g} x "
                       f"e^({reward_gap:g}/{beta:g}) + {1 - ref_prob:g}) = {ref_prob:g} x "
                       f"{boost:.4g} / ({ref_prob * boost:.4g} + {1 - ref_prob:g}) = {p:.4g}")


@formula("preference.grpo_binary_advantage",
         "GRPO advantage of a correct answer when `correct` of `group` answers score 1 "
         "and the rest 0: (1 - mean) / std")
def grpo_binary_advantage(correct: int, group: int, ddof: int = 0) -> Computed:
    import numpy as np

    from engine.preference import group_advantages

    if not 0 < correct < group:
        raise ValueError(f"correct={correct} must be between 1 and group - 1 = {group - 1}: "
                         "a group that all scores the same has no advantage")
    rewards = np.array([1.0] * correct + [0.0] * (group - correct))
    adv = float(group_advantages(rewards, eps=0.0, ddof=ddof)[0])
    mean = correct / group
    std = float(rewards.std(ddof=ddof))
    which = "population" if ddof == 0 else "sample"
    return Computed(adv, f"mean = {correct}/{group} = {mean:.4g}; {which} std = {std:.4g}; "
                         f"(1 - {mean:.4g}) / {std:.4g} = {adv:.4g}")


@formula("preference.ppo_clip_objective",
         "PPO's clipped surrogate for one token: min(r A, clip(r, 1 - eps, 1 + eps) A)")
def ppo_clip_objective(ratio: float, advantage: float, eps: float = 0.2) -> Computed:
    if ratio <= 0 or not 0 < eps < 1:
        raise ValueError(f"ratio={ratio} must be > 0 and eps={eps} in (0, 1)")
    clipped = min(max(ratio, 1 - eps), 1 + eps)
    plain, kept = ratio * advantage, clipped * advantage
    value = min(plain, kept)
    which = "the clipped term" if kept < plain else "the unclipped term"
    return Computed(value, f"r A = {ratio:g} x {advantage:g} = {plain:.4g}; clip(r) A = "
                           f"{clipped:g} x {advantage:g} = {kept:.4g}; the minimum is "
                           f"{which}: {value:.4g}")


@formula("preference.best_of_n_kl",
         "KL(best-of-n || base) for a continuous reward: log n - (n - 1) / n nats")
def best_of_n_kl(n: int) -> Computed:
    if n < 1:
        raise ValueError(f"n={n} must be >= 1")
    kl = math.log(n) - (n - 1) / n
    return Computed(kl, f"log {n} - ({n} - 1)/{n} = {math.log(n):.4g} - {(n - 1) / n:.4g} = "
                        f"{kl:.4g} nats")
