"""Distributed-training formulas: all-reduce traffic, ZeRO-3 sizing, tensor-parallel
collectives, the pipeline bubble, gradient accumulation, parallel layouts, and the
updates a low-precision weight cannot hold.

The number formats come from `engine.precision`, imported inside the function so that
validating a bank stays NumPy-free; the rest is arithmetic that the tests check against
simulations (a ring all-reduce, a GPipe schedule) and the engine.
"""

from __future__ import annotations

import math

from tutor.formulas import Computed, formula
from tutor.formulas import fmt_number as _n


@formula("dist.ring_allreduce_bytes",
         "Bytes each GPU sends in a ring all-reduce of a gradient buffer: 2 (N - 1) / N x size")
def ring_allreduce_bytes(params_b: float, gpus: int, bytes_per: float = 2,
                         phases: int = 2) -> Computed:
    size = params_b * 1e9 * bytes_per
    sent = phases * (gpus - 1) / gpus * size
    return Computed(sent, f"gradients {params_b:g}e9 x {bytes_per:g} B = {size / 1e9:.4g} GB; "
                          f"reduce-scatter and all-gather each send (N - 1) / N of it: "
                          f"{phases} x {gpus - 1}/{gpus} x {size / 1e9:.4g} GB = "
                          f"{sent / 1e9:.4g} GB per GPU")


@formula("dist.zero3_min_gpus",
         "Fewest GPUs whose memory holds fully sharded (ZeRO-3 / FSDP) model state: "
         "ceil(bytes per parameter x N / GPU memory)")
def zero3_min_gpus(params_b: float, gpu_gb: float, bytes_per_param: float = 16) -> Computed:
    state = params_b * 1e9 * bytes_per_param
    gpus = math.ceil(state / (gpu_gb * 1e9) - 1e-9)
    return Computed(gpus, f"{params_b:g}e9 params x {bytes_per_param:g} B = {state / 1e12:.4g} TB "
                          f"of model state; / {gpu_gb:g} GB = {state / (gpu_gb * 1e9):.4g}, "
                          f"rounded up: {gpus} GPUs (before activations)")


@formula("dist.tp_allreduce_bytes",
         "Activation bytes all-reduced by Megatron tensor parallelism in one forward pass: "
         "2 per layer x layers x batch x seq x d_model x bytes")
def tp_allreduce_bytes(batch: int, seq: int, d_model: int, layers: int, bytes_per: float = 2,
                       per_layer: int = 2) -> Computed:
    one = batch * seq * d_model * bytes_per
    total = per_layer * layers * one
    return Computed(total, f"one all-reduce of the b x s x h output: {batch} x {_n(seq)} x "
                           f"{_n(d_model)} x {bytes_per:g} B = {one / 1e6:.4g} MB; "
                           f"{per_layer} per layer x {layers} layers = {total / 1e9:.4g} GB")


@formula("dist.pipeline_bubble",
         "Idle share of a pipeline schedule (GPipe, 1F1B): (p - 1) / (v m + p - 1) for p stages, "
         "m micro-batches, v interleaved chunks per stage")
def pipeline_bubble(stages: int, microbatches: int, interleave: int = 1) -> Computed:
    p, m, v = stages, microbatches, interleave
    share = (p - 1) / (v * m + p - 1)
    return Computed(share, f"({p} - 1) / ({v} x {m} + {p} - 1) = {p - 1}/{v * m + p - 1} = "
                           f"{share:.4g} of each stage's time is idle")


@formula("dist.grad_accum_steps",
         "Micro-batches each data-parallel rank accumulates per step: global batch / "
         "(micro-batch x data-parallel ranks)")
def grad_accum_steps(global_batch: int, micro_batch: int, dp: int) -> Computed:
    steps = global_batch / (micro_batch * dp)
    return Computed(steps, f"{_n(global_batch)} sequences / ({micro_batch} per micro-batch x "
                           f"{dp} ranks) = {steps:g} accumulation steps")


@formula("dist.dp_degree",
         "Data-parallel replicas of a layout: GPUs / (tensor x pipeline x context parallel)")
def dp_degree(gpus: int, tp: int, pp: int, cp: int = 1) -> Computed:
    model = tp * pp * cp
    if gpus % model:
        raise ValueError(f"{gpus} GPUs do not divide into groups of tp x pp x cp = {model}")
    return Computed(gpus // model, f"{_n(gpus)} GPUs / ({tp} x {pp} x {cp}) = {gpus // model} "
                                   "data-parallel replicas")


@formula("dist.lost_update",
         "Largest update a weight can receive and still round back to itself: half the "
         "format's spacing at that weight, 2^(floor(log2 |w|) - mantissa bits - 1)")
def lost_update(weight: float, fmt: str, fraction: float = 0.5) -> Computed:
    from engine.precision import FORMATS

    f = FORMATS.get(str(fmt).lower())
    if f is None:
        raise ValueError(f"fmt={fmt!r} is not one of {', '.join(FORMATS)}")
    if weight <= 0:
        raise ValueError(f"weight={weight} must be > 0")
    exponent = math.floor(math.log2(weight))
    spacing = 2.0 ** (exponent - f.mantissa_bits)
    half = spacing * fraction
    return Computed(half, f"{weight:g} lies in [2^{exponent}, 2^{exponent + 1}); {f.name} has "
                          f"{f.mantissa_bits} mantissa bits, so neighbours are 2^{exponent} x "
                          f"2^-{f.mantissa_bits} = {spacing:.4g} apart; an update up to "
                          f"{fraction:g} of that, {half:.4g}, rounds back to {weight:g}")
