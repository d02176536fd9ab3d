"""Preference optimisation: the DPO loss and gradient, GRPO's advantages, and the KL term.

DPO (Rafailov et al. 2023) trains a policy pi_theta on pairs (y_w preferred to
y_l) against a frozen reference pi_ref:

    z = beta [(log pi(y_w) - log pi_ref(y_w)) - (log pi(y_l) - log pi_ref(y_l))]
    L = -log sigmoid(z),    dL/dz = -sigmoid(-z)

beta [log pi(y) - log pi_ref(y)] is the implicit reward of y. The gradient
pushes log pi(y_w) up and log pi(y_l) down, weighted by sigmoid(-z): pairs the
policy already ranks right, by a margin, stop contributing. A small beta lets
the policy drift far from the reference before the loss saturates.

The toy policy here is a table of logits (T, V): response y (T tokens) has
log pi(y) = sum_t log_softmax(logits[t])[y_t], whose gradient is
onehot(y_t) - softmax(logits_t), so the DPO gradient is exact.

GRPO (Shao et al. 2024) samples a group of G answers per prompt and uses the
group-normalised reward (r - mean) / std as every token's advantage, with no
value network. Its KL(pi || pi_ref) penalty is estimated from samples
x ~ pi with Schulman's k3 = (r - 1) - log r, r = pi_ref(x) / pi(x): unbiased,
and never negative, unlike k1 = -log r.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.functional import log_softmax, softmax


def log_sigmoid(z: np.ndarray) -> np.ndarray:
    """log(1 / (1 + e^-z)), computed without overflow for large |z|."""
    z = np.asarray(z, dtype=np.float64)
    return -np.logaddexp(0.0, -z)


def sigmoid(z: np.ndarray) -> np.ndarray:
    z = np.asarray(z, dtype=np.float64)
    return np.exp(log_sigmoid(z))


def sequence_logprob(logits: np.ndarray, tokens: np.ndarray) -> np.ndarray:
    """log pi(y) = sum_t log_softmax(logits_t)[y_t].  logits: (T, V) or (..., T, V)
    tokens: (..., T) -> (...)"""
    tokens = np.asarray(tokens)
    lp = log_softmax(np.asarray(logits, dtype=np.float64), axis=-1)
    lp = np.broadcast_to(lp, tokens.shape + lp.shape[-1:])          # (..., T, V)
    return np.take_along_axis(lp, tokens[..., None], axis=-1)[..., 0].sum(-1)


@dataclass(frozen=True)
class DPOResult:
    """loss: mean over pairs. margin: z / beta per pair (the implicit reward gap).
    weight: sigmoid(-z) per pair. grad: dL/dlogits (T, V) of the policy."""

    loss: float
    margin: np.ndarray
    weight: np.ndarray
    grad: np.ndarray


def _onehot_sum(tokens: np.ndarray, weight: np.ndarray, vocab: int) -> np.ndarray:
    # sum_i weight_i onehot(tokens_i): (n, T) ids -> (T, vocab)
    out = np.zeros((tokens.shape[-1], vocab))
    np.add.at(out, (np.broadcast_to(np.arange(tokens.shape[-1]), tokens.shape), tokens),
              np.broadcast_to(weight[:, None], tokens.shape))
    return out


def dpo_loss(logits: np.ndarray, ref_logits: np.ndarray, chosen: np.ndarray,
             rejected: np.ndarray, beta: float) -> DPOResult:
    """DPO on pairs for a table-of-logits policy.   logits, ref_logits: (T, V)
    chosen, rejected: (n_pairs, T) token ids of y_w and y_l.

    dL/dlogits = -beta mean_i sigmoid(-z_i) (d log pi(y_w,i) - d log pi(y_l,i)); with
    equal-length responses the -softmax(logits_t) terms of the two gradients cancel, leaving
    -beta mean_i sigmoid(-z_i) (onehot(y_w,i) - onehot(y_l,i)).
    """
    if not beta > 0:
        raise ValueError(f"beta={beta} must be > 0")
    chosen, rejected = np.asarray(chosen), np.asarray(rejected)
    lp = log_softmax(np.asarray(logits, dtype=np.float64), axis=-1)           # (T, V)
    lr = log_softmax(np.asarray(ref_logits, dtype=np.float64), axis=-1)
    t = np.arange(lp.shape[0])
    margin = ((lp[t, chosen] - lr[t, chosen]) - (lp[t, rejected] - lr[t, rejected])).sum(-1)
    z = beta * margin                                                         # (n_pairs,)
    loss = float(-np.mean(log_sigmoid(z)))
    weight = sigmoid(-z)
    vocab = lp.shape[-1]
    grad = -beta * (_onehot_sum(chosen, weight, vocab) - _onehot_sum(rejected, weight, vocab))
    return DPOResult(loss=loss, margin=margin, weight=weight, grad=grad / len(z))


def train_dpo(ref_logits: np.ndarray, chosen: np.ndarray, rejected: np.ndarray, beta: float,
              steps: int, lr: float) -> tuple[np.ndarray, np.ndarray]:
    """Gradient descent on the DPO loss from the reference.  -> (logits (T, V), losses)"""
    logits = np.array(ref_logits, dtype=np.float64)
    losses = []
    for _ in range(steps):
        r = dpo_loss(logits, ref_logits, chosen, rejected, beta)
        losses.append(r.loss)
        logits = logits - lr * r.grad
    losses.append(dpo_loss(logits, ref_logits, chosen, rejected, beta).loss)
    return logits, np.array(losses)


def kl_categorical(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """KL(p || q) = sum p log(p / q), exactly, with 0 log 0 = 0.   (..., V) -> (...)"""
    p = np.asarray(p, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    safe_p = np.where(p > 0, p, 1.0)
    with np.errstate(divide="ignore"):          # q = 0 where p > 0: the KL is infinite
        log_ratio = np.log(safe_p) - np.log(np.where(p > 0, q, 1.0))
    return np.sum(np.where(p > 0, p * log_ratio, 0.0), axis=-1)


def policy_kl(logits: np.ndarray, ref_logits: np.ndarray) -> float:
    """KL(pi || pi_ref) of two table-of-logits policies over whole responses: the sum
    over positions (positions are independent)."""
    return float(np.sum(kl_categorical(softmax(logits, axis=-1), softmax(ref_logits, axis=-1))))


def kl_estimators(p: np.ndarray, q: np.ndarray, samples: np.ndarray) -> dict[str, np.ndarray]:
    """Per-sample estimates of KL(p || q) from samples x ~ p, with r = q(x) / p(x):

    k1 = -log r (unbiased, can be negative), k2 = (log r)^2 / 2 (biased, low
    variance), k3 = (r - 1) - log r (unbiased and >= 0). -> {name: (n,)}
    """
    log_r = np.log(q[samples]) - np.log(p[samples])
    r = np.exp(log_r)
    return {"k1": -log_r, "k2": log_r ** 2 / 2, "k3": (r - 1) - log_r}


def group_advantages(rewards: np.ndarray, eps: float = 1e-4, ddof: int = 0) -> np.ndarray:
    """GRPO: (r - mean) / (std + eps) within each group.   rewards: (..., G) -> (..., G)

    A group whose answers all score the same gets zero advantage: it carries no
    signal. ddof=0 is the population std; TRL uses the sample std (ddof=1).
    """
    r = np.asarray(rewards, dtype=np.float64)
    mean = r.mean(axis=-1, keepdims=True)
    std = r.std(axis=-1, ddof=ddof, keepdims=True)
    return (r - mean) / (std + eps)


def kl_regularised_optimum(ref_probs: np.ndarray, rewards: np.ndarray, beta: float
                           ) -> np.ndarray:
    """argmax_pi E_pi[r] - beta KL(pi || pi_ref) = pi_ref exp(r / beta) / Z.  (V,) -> (V,)

    The closed form DPO starts from: beta sets how far reward may pull the
    policy from the reference.
    """
    if not beta > 0:
        raise ValueError(f"beta={beta} must be > 0")
    with np.errstate(divide="ignore"):          # a zero-probability answer stays impossible
        log_ref = np.log(np.asarray(ref_probs, dtype=np.float64))
    return softmax(log_ref + np.asarray(rewards, dtype=np.float64) / beta)
