"""Pretraining formulas: MinHash-LSH deduplication, compute-optimal and over-trained runs,
scaling-law growth, data repetition (Muennighoff et al. 2023) and the
warmup-stable-decay schedule.

Parameter counts and the Chinchilla rule come from `engine.accounting`, imported inside
each function so that validating a bank stays NumPy-free.
"""

from __future__ import annotations

import math

from tutor.formulas import Computed, formula
from tutor.formulas import fmt_number as _n

# Exponent a of N_opt ~ C^a: Kaplan et al. 2020 (Section 6) and Hoffmann et al. 2022 (Table 2)
SIZE_EXPONENTS = {"kaplan": 0.73, "chinchilla": 0.50}
# Muennighoff et al. 2023: the fitted decay constant of repeated data, R*_D = 15.387756
# (the datablations repository's README); repeats far beyond it add almost nothing
R_STAR_DATA = 15.39


def _params(preset: str) -> int:
    from engine.accounting import count_params
    from engine.config import preset as get

    return count_params(get(preset)).total


@formula("pretrain.lsh_candidate_prob",
         "MinHash LSH: chance two documents of Jaccard similarity s share a bucket in at least "
         "one of b bands of r hashes, 1 - (1 - s^r)^b")
def lsh_candidate_prob(similarity: float, bands: int, rows: int) -> Computed:
    band = similarity ** rows
    p = 1 - (1 - band) ** bands
    return Computed(p, f"one band matches with {similarity:g}^{rows} = {band:.4g}; at least one "
                       f"of {bands}: 1 - (1 - {band:.4g})^{bands} = {p:.4g}")


@formula("pretrain.tokens_per_param",
         "Training tokens per parameter of a preset (all parameters), against Chinchilla's ~20")
def tokens_per_param(preset: str, tokens_b: float) -> Computed:
    n = _params(preset)
    ratio = tokens_b * 1e9 / n
    return Computed(ratio, f"{tokens_b:g}e9 tokens / {_n(n)} params = {ratio:.4g} tokens per "
                           f"parameter ({ratio / 20:.3g}x Chinchilla's 20)")


@formula("pretrain.chinchilla_size_for_run",
         "Compute-optimal size for the compute of a preset's run: N* = sqrt(6 N D / 120)")
def chinchilla_size_for_run(preset: str, tokens_b: float, tokens_per_param: float = 20,
                            flops_per_token: float = 6) -> Computed:
    n = _params(preset)
    c = flops_per_token * n * tokens_b * 1e9
    best = math.sqrt(c / (6 * tokens_per_param))
    return Computed(best, f"C = {flops_per_token:g} x {_n(n)} x {tokens_b:g}e9 = {c:.4g} FLOPs; "
                          f"with D = {tokens_per_param:g} N, C = {6 * tokens_per_param:g} N^2, so "
                          f"N* = sqrt({c:.4g} / {6 * tokens_per_param:g}) = {best:.4g} params")


@formula("pretrain.size_growth",
         "Growth of the compute-optimal model size when compute grows k-fold: k^a "
         "(a = 0.73 Kaplan, 0.50 Chinchilla)")
def size_growth(compute_factor: float, law: str) -> Computed:
    key = str(law).lower()
    if key not in SIZE_EXPONENTS:
        raise ValueError(f"law={law!r} is not one of {', '.join(SIZE_EXPONENTS)}")
    a = SIZE_EXPONENTS[key]
    growth = compute_factor ** a
    tokens = compute_factor / growth
    return Computed(growth, f"N_opt ~ C^{a:g}: {compute_factor:g}^{a:g} = {growth:.4g}x the "
                            f"parameters (and {tokens:.4g}x the tokens, since C ~ N D)")


@formula("pretrain.lifetime_flops",
         "Training plus inference compute: 6 N D_train + 2 N D_served (attention left out)")
def lifetime_flops(params_b: float, train_tokens_t: float, served_tokens_t: float,
                   infer_flops_per_token: float = 2) -> Computed:
    n = params_b * 1e9
    train = 6 * n * train_tokens_t * 1e12
    serve = infer_flops_per_token * n * served_tokens_t * 1e12
    return Computed(train + serve, f"train 6 x {params_b:g}e9 x {train_tokens_t:g}e12 = "
                                   f"{train:.4g}; serve {infer_flops_per_token:g} x {params_b:g}e9 "
                                   f"x {served_tokens_t:g}e12 = {serve:.4g}; total "
                                   f"{train + serve:.4g} FLOPs")


@formula("pretrain.effective_tokens",
         "Muennighoff et al.: unique tokens U seen for e epochs are worth U + U R* (1 - "
         "exp(-(e - 1) / R*)) fresh tokens, R* = 15.39")
def effective_tokens(unique_b: float, epochs: float, r_star: float = R_STAR_DATA) -> Computed:
    u = unique_b * 1e9
    repeats = epochs - 1
    if repeats < 0:
        raise ValueError(f"epochs={epochs} must be at least 1")
    worth = u + u * r_star * (1 - math.exp(-repeats / r_star))
    return Computed(worth, f"{repeats:g} repeats: {unique_b:g}e9 x (1 + {r_star:g} x (1 - "
                           f"e^(-{repeats:g}/{r_star:g}))) = {worth:.4g} effective tokens, "
                           f"against {u * epochs:.4g} seen")


@formula("pretrain.wsd_lr",
         "Warmup-stable-decay: linear warmup to the peak, constant, then linear decay to min_lr "
         "from decay_start to total")
def wsd_lr(peak_lr: float, warmup: int, decay_start: int, total: int, step: int,
           min_lr: float = 0.0) -> Computed:
    if not 0 < warmup <= decay_start < total:
        raise ValueError(f"need 0 < warmup={warmup} <= decay_start={decay_start} < total={total}")
    if step < warmup:
        lr = peak_lr * step / warmup
        how = f"warmup: {peak_lr:g} x {step}/{warmup}"
    elif step < decay_start:
        lr = peak_lr
        how = "stable phase: the peak"
    else:
        frac = min(1.0, (step - decay_start) / (total - decay_start))
        lr = peak_lr + (min_lr - peak_lr) * frac
        how = (f"decay: {peak_lr:g} + ({min_lr:g} - {peak_lr:g}) x ({_n(step)} - "
               f"{_n(decay_start)}) / ({_n(total)} - {_n(decay_start)})")
    return Computed(lr, f"{how} = {lr:.4g}")
