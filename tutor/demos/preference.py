"""preference: DPO's loss and gradient against beta, GRPO's advantages, and the KL term.

The policy is a table of logits, one categorical over `--vocab` tokens for each
of `--length` positions, so log pi(y) of a response is exact
(engine.preference). The reference pi_ref is a random table. A hidden reward
table scores each response as the sum of its tokens' rewards; `--pairs` pairs
of responses drawn from pi_ref are labelled by it (the higher reward is
preferred). For each beta, DPO trains the policy from pi_ref by gradient
descent (`--steps` steps, learning rate 1/beta, so the logits move about the
same amount per step whatever beta), and the demo reports the loss, the
implicit-reward margin, KL(pi || pi_ref) and the expected hidden reward. The
analytic gradient at the start is checked against central finite differences.

GRPO: a group of `--group` responses sampled from pi_ref, scored by the hidden
reward, normalised within the group; and a group of pass/fail answers.
KL: the k1, k2 and k3 estimators of KL(pi || pi_ref) at the first position of
the policy trained with the largest beta (the closest to pi_ref), from `--samples` samples of pi,
against the exact value; and the closed-form KL-regularised optimum
pi_ref exp(r / beta) / Z at that position, whose KL and reward beta trades.

JSON keys:
- `pairs`, `length`, `vocab`; `pair_reward_gap`: mean hidden-reward gap of the pairs;
- `betas`: [{beta, loss_init, grad_norm_init, loss_final, margin, accuracy, kl,
  reward}]: margin = mean implicit-reward gap / beta, accuracy = share of pairs
  ranked right by the implicit reward, reward = expected hidden reward under pi
  (pi_ref's is `reward_ref`);
- `grad_check_error`: max |analytic - finite-difference gradient| at the start;
- `grpo`: {rewards, advantages, mean, std, binary_rewards, binary_advantages};
- `kl`: {beta, exact, samples, estimators: {k1, k2, k3: {mean, std, negative_share}}};
- `optimum`: [{beta, kl, reward}] of pi_ref exp(r / beta) / Z at the first position;
- `takeaway`.
"""

from __future__ import annotations

FD_STEP = 1e-6


def check(p) -> str | None:
    work = len(p.beta) * p.steps * p.pairs * p.length * p.vocab
    if work > 40_000_000:
        most = max(1, 40_000_000 // (len(p.beta) * p.pairs * p.length * p.vocab))
        return (f"--steps {p.steps} with these --pairs, --length, --vocab and --beta values "
                f"is too much work for a demo; the largest --steps allowed is {most}")
    return None


def _finite_difference(logits, ref, chosen, rejected, beta):
    import numpy as np

    from engine.preference import dpo_loss

    numeric = np.zeros_like(logits)
    for idx in np.ndindex(logits.shape):
        plus, minus = logits.copy(), logits.copy()
        plus[idx] += FD_STEP
        minus[idx] -= FD_STEP
        numeric[idx] = (dpo_loss(plus, ref, chosen, rejected, beta).loss
                        - dpo_loss(minus, ref, chosen, rejected, beta).loss) / (2 * FD_STEP)
    return numeric


def compute(p, rng, progress) -> dict:
    import numpy as np

    from engine.functional import softmax
    from engine.preference import (
        dpo_loss,
        group_advantages,
        kl_categorical,
        kl_estimators,
        kl_regularised_optimum,
        policy_kl,
        train_dpo,
    )
    from engine.sampling import sample_from

    t, v = p.length, p.vocab
    ref = rng.standard_normal((t, v))
    reward_table = rng.standard_normal((t, v))
    ref_probs = softmax(ref, axis=-1)

    def draw(n):
        # (n, t) responses from pi_ref, position by position
        return np.stack([sample_from(ref_probs[i], rng, size=n) for i in range(t)], axis=1)

    def reward(y):
        return reward_table[np.arange(t), y].sum(-1)

    a, b = draw(p.pairs), draw(p.pairs)
    better = reward(a) >= reward(b)
    chosen = np.where(better[:, None], a, b)
    rejected = np.where(better[:, None], b, a)

    def expected_reward(logits):
        return float(np.sum(softmax(logits, axis=-1) * reward_table))

    rows, trained = [], {}
    for beta in progress(p.beta, total=len(p.beta), description="DPO per beta"):
        start = dpo_loss(ref, ref, chosen, rejected, beta)
        logits, losses = train_dpo(ref, chosen, rejected, beta, p.steps, lr=1.0 / beta)
        end = dpo_loss(logits, ref, chosen, rejected, beta)
        trained[beta] = logits
        rows.append({"beta": beta, "loss_init": start.loss,
                     "grad_norm_init": float(np.linalg.norm(start.grad)),
                     "loss_final": float(losses[-1]), "margin": float(end.margin.mean()),
                     "accuracy": float(np.mean(end.margin > 0)),
                     "kl": policy_kl(logits, ref), "reward": expected_reward(logits)})
    # the gradient check at a point away from the reference, where the weights differ
    beta0 = p.beta[0]
    probe = ref + 0.3 * rng.standard_normal(ref.shape)
    analytic = dpo_loss(probe, ref, chosen, rejected, beta0).grad
    numeric = _finite_difference(probe, ref, chosen, rejected, beta0)

    group = draw(p.group)
    rewards = reward(group)
    passed = (rewards > np.median(rewards)).astype(float)
    grpo = {"rewards": rewards, "advantages": group_advantages(rewards),
            "mean": float(rewards.mean()), "std": float(rewards.std()),
            "binary_rewards": passed, "binary_advantages": group_advantages(passed)}

    kl_beta = max(p.beta)            # the policy closest to the reference, as a KL penalty keeps it
    pi0 = softmax(trained[kl_beta][0])
    samples = sample_from(pi0, rng, size=p.samples)
    est = kl_estimators(pi0, ref_probs[0], samples)
    kl = {"beta": kl_beta, "exact": float(kl_categorical(pi0, ref_probs[0])),
          "samples": p.samples,
          "estimators": {k: {"mean": float(e.mean()), "std": float(e.std()),
                             "negative_share": float(np.mean(e < 0))} for k, e in est.items()}}
    optimum = []
    for beta in sorted(p.beta):
        pi = kl_regularised_optimum(ref_probs[0], reward_table[0], beta)
        optimum.append({"beta": beta, "kl": float(kl_categorical(pi, ref_probs[0])),
                        "reward": float(pi @ reward_table[0])})
    result = {
        "pairs": p.pairs, "length": t, "vocab": v,
        "pair_reward_gap": float(np.mean(reward(chosen) - reward(rejected))),
        "betas": rows, "reward_ref": expected_reward(ref),
        "grad_check_error": float(np.max(np.abs(analytic - numeric))),
        "grpo": grpo, "kl": kl, "optimum": optimum,
    }
    result["takeaway"] = _takeaway(result)
    return result


def _takeaway(r: dict) -> str:
    rows = sorted(r["betas"], key=lambda x: x["beta"])
    lo, hi = rows[0], rows[-1]
    k = r["kl"]
    return (f"At the reference every pair costs log 2 = {rows[0]['loss_init']:.3f} and the "
            f"gradient grows with beta (norm {lo['grad_norm_init']:.3f} at beta {lo['beta']:g}, "
            f"{hi['grad_norm_init']:.3f} at {hi['beta']:g}). Trained, beta {lo['beta']:g} lets "
            f"the policy drift to KL {lo['kl']:.2f} from the reference, beta {hi['beta']:g} only "
            f"{hi['kl']:.2f}. GRPO's advantages have mean 0 and std 1 in each group. k3 "
            f"estimates KL {k['exact']:.3f} as {k['estimators']['k3']['mean']:.3f} and is never "
            f"negative; k1 ({k['estimators']['k1']['mean']:.3f}) is negative on "
            f"{k['estimators']['k1']['negative_share']:.0%} of samples.")


def render(result: dict):
    from rich.text import Text

    from tutor.demos import _viz

    f = _viz.fmt
    intro = Text(f"Table-of-logits policy: {result['length']} positions x {result['vocab']} "
                 f"tokens; {result['pairs']} pairs labelled by a hidden reward (mean gap "
                 f"{result['pair_reward_gap']:.2f}).", style="dim")
    dpo = _viz.table(("beta", "grad 0", "loss", "margin", "KL", "reward"), [
        (f"{x['beta']:g}", f(x["grad_norm_init"]), f(x["loss_final"]), f(x["margin"]),
         f(x["kl"]), f(x["reward"])) for x in result["betas"]],
        title=f"DPO from the reference (loss log 2 = {result['betas'][0]['loss_init']:.3f}, "
              f"reward {result['reward_ref']:.2f})")
    check = Text(f"Gradient against finite differences: max difference "
                 f"{result['grad_check_error']:.1e}.", style="dim")
    g = result["grpo"]
    shown = min(8, len(g["rewards"]))
    grpo = _viz.table(("answer", "reward", "advantage", "pass", "advantage"), [
        (i + 1, f"{g['rewards'][i]:.2f}", f"{g['advantages'][i]:+.2f}",
         f"{g['binary_rewards'][i]:.0f}", f"{g['binary_advantages'][i]:+.2f}")
        for i in range(shown)],
        title=f"GRPO group (mean {g['mean']:.2f}, std {g['std']:.2f})")
    k = result["kl"]
    kl = _viz.table(("estimator", "mean", "std", "< 0"), [
        (name, f"{e['mean']:.4f}", f"{e['std']:.4f}", f"{e['negative_share']:.0%}")
        for name, e in k["estimators"].items()],
        title=f"KL(pi || ref) = {k['exact']:.4f}, {k['samples']:,} samples (beta "
              f"{k['beta']:g})")
    opt = _viz.table(("beta", "KL", "reward"), [
        (f"{o['beta']:g}", f(o["kl"]), f(o["reward"])) for o in result["optimum"]],
        title="best of E(r) - beta KL: ref exp(r/beta)/Z")
    return _viz.view("Preference optimisation", intro, dpo, check, grpo, kl, opt,
                     takeaway=result["takeaway"])
