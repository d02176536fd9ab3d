"""Mixture of experts: routers, the sparse feed-forward layer, load balancing, capacity.

A mixture-of-experts (MoE) layer replaces one feed-forward network with E of
them ("experts") and a router. Each token goes to only k of the E experts, so
the layer holds E times the parameters of a dense FFN while each token pays
for k of them. The router is one linear map, logits = x W_r  (d -> E).

Routers (one function, `route`, with a switch per family)
----------------------------------------------------------
* Mixtral:     p = softmax(logits) over all E; keep the top k; renormalise to sum 1.
               This equals a softmax over the k largest logits (top-k first).
* Qwen-MoE:    the same, renormalised only if norm_topk_prob.
* DeepSeek-V3: s = sigmoid(logits); select with s + b, a per-expert bias that
               only decides *which* experts (load balancing without an auxiliary
               loss), while the weights come from s itself. Experts sit in
               n_group groups; a token may only use the topk_group groups with the
               largest sum of their two best scores. Weights are renormalised and
               multiplied by routed_scaling_factor.

Parameter names (weights stored (in, out), a linear is x @ w)
-------------------------------------------------------------
    {p}.router.w            (d, E)        router logits
    {p}.router.select_bias  (E,)          DeepSeek-V3 selection bias, if select_bias
    {p}.experts.w_gate      (E, d, f)     each expert is a SwiGLU FFN of width f = d_expert
    {p}.experts.w_up        (E, d, f)
    {p}.experts.w_down      (E, f, d)
    {p}.shared.w_gate       (d, f_s)      always-on shared expert(s), if n_shared > 0
    {p}.shared.w_up         (d, f_s)      (f_s = d_shared, default n_shared * d_expert)
    {p}.shared.w_down       (f_s, d)
    {p}.shared_gate.w       (d, 1)        Qwen2-MoE: sigmoid(x w) scales the shared expert

Models whose first layers are dense (DeepSeek's first_k_dense_replace) use an
ordinary FFN there; that choice belongs to the caller.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from engine.functional import softmax, swiglu

Params = dict[str, np.ndarray]
Score = Literal["softmax", "sigmoid"]


@dataclass(frozen=True)
class MoEConfig:
    n_experts: int
    top_k: int
    d_expert: int                     # hidden width of one routed expert
    score: Score = "softmax"          # softmax (Mixtral, Qwen) or sigmoid (DeepSeek-V3)
    top_k_first: bool = False         # softmax over the k largest logits instead of over all E
    normalize: bool = True            # renormalise the k weights to sum to 1 (norm_topk_prob)
    n_group: int = 1                  # experts split into groups; tokens use topk_group of them
    topk_group: int | None = None     # None: every group
    select_bias: bool = False         # a per-expert bias added to the scores for selection only
    scaling: float = 1.0              # routed_scaling_factor, applied after normalising
    n_shared: int = 0                 # always-on shared experts, fused into one SwiGLU FFN
    d_shared: int | None = None       # its width; None: n_shared * d_expert
    shared_gate: bool = False         # Qwen2-MoE: a sigmoid gate on the shared expert

    def __post_init__(self) -> None:
        problems = []
        for field in ("n_experts", "top_k", "d_expert", "n_group"):
            if getattr(self, field) < 1:
                problems.append(f"{field}={getattr(self, field)} must be >= 1")
        if self.score not in ("softmax", "sigmoid"):
            problems.append(f"score={self.score!r} is not one of softmax, sigmoid")
        if self.top_k_first and self.score != "softmax":
            problems.append("top_k_first=True needs score='softmax'")
        if self.n_group >= 1 and self.n_experts % self.n_group:
            problems.append(f"n_experts={self.n_experts} is not divisible by "
                            f"n_group={self.n_group}")
        elif self.n_group >= 1 and self.top_k >= 1:
            groups = self.groups_used
            if not 1 <= groups <= self.n_group:
                problems.append(f"topk_group={self.topk_group} must be in 1..n_group="
                                f"{self.n_group}")
            elif self.top_k > groups * (self.n_experts // self.n_group):
                problems.append(f"top_k={self.top_k} is more than the {groups} eligible "
                                f"group(s) of {self.n_experts // self.n_group} experts hold")
        if self.n_shared < 0 or (self.d_shared is not None and self.d_shared < 1):
            problems.append(f"n_shared={self.n_shared} must be >= 0 and d_shared="
                            f"{self.d_shared} >= 1")
        if self.shared_gate and not self.has_shared:
            problems.append("shared_gate=True needs a shared expert (n_shared or d_shared)")
        if problems:
            raise ValueError("; ".join(problems))

    @property
    def groups_used(self) -> int:
        return self.n_group if self.topk_group is None else self.topk_group

    @property
    def has_shared(self) -> bool:
        return self.n_shared > 0 or self.d_shared is not None

    @property
    def shared_dim(self) -> int:
        return self.d_shared if self.d_shared is not None else self.n_shared * self.d_expert

    def replace(self, **changes) -> MoEConfig:
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class Routing:
    """Where each token went. n tokens, k choices each, E experts.

    logits: (n, E) router logits.  weights: (n, k), 0 where an assignment was dropped.
    indices: (n, k) expert ids, best first.  kept: (n, k) bool, False where the
    expert was already full (capacity); every assignment is kept without a capacity.
    """

    logits: np.ndarray
    weights: np.ndarray
    indices: np.ndarray
    kept: np.ndarray

    @property
    def dropped_tokens(self) -> np.ndarray:
        """(n,) bool: tokens none of whose experts took them (they pass by on the residual)."""
        return ~self.kept.any(axis=-1)


# ----------------------------------------------------------------------------- routing

def sigmoid(x: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-x)), without overflow for large |x|."""
    x = np.asarray(x)
    e = np.exp(-np.abs(x))                      # never overflows
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def _top_k(scores: np.ndarray, k: int) -> np.ndarray:
    # indices of the k largest along the last axis, largest first; ties keep the lower id
    return np.argsort(-scores, axis=-1, kind="stable")[..., :k]


def route(logits: np.ndarray, k: int, *, score: Score = "softmax", top_k_first: bool = False,
          normalize: bool = True, select_bias: np.ndarray | None = None, n_group: int = 1,
          topk_group: int | None = None, scaling: float = 1.0
          ) -> tuple[np.ndarray, np.ndarray]:
    """Choose k experts per token and their weights.   logits (..., E) -> 2 x (..., k)

    score="softmax": s = softmax(logits) over all E experts (Mixtral, Qwen-MoE);
    "sigmoid": s = sigmoid(logits), each expert scored on its own (DeepSeek-V3).
    top_k_first=True takes the k largest logits first and softmaxes only those;
    the weights then sum to 1 by construction, the same as softmax-then-renormalise.
    select_bias (E,): added to s for choosing experts only; the weights stay s.
    n_group > 1: only the topk_group groups whose two best (biased) scores sum
    highest are eligible (DeepSeek's group-limited routing bounds how many
    devices one token reaches). normalize divides the k weights by their sum;
    scaling multiplies them afterwards. Returns (weights, indices), best first.
    """
    logits = np.asarray(logits)
    n_experts = logits.shape[-1]
    if not 1 <= k <= n_experts:
        raise ValueError(f"k={k} must be in 1..{n_experts} (the number of experts)")
    if top_k_first:
        if score != "softmax":
            raise ValueError("top_k_first=True needs score='softmax'")
        idx = _top_k(logits, k)
        return softmax(np.take_along_axis(logits, idx, axis=-1)) * scaling, idx
    if score == "softmax":
        s = softmax(logits)
    elif score == "sigmoid":
        s = sigmoid(logits)
    else:
        raise ValueError(f"score={score!r} must be 'softmax' or 'sigmoid'")
    choice = s if select_bias is None else s + select_bias             # (..., E)
    if n_group > 1:
        choice = _limit_groups(choice, n_group, n_group if topk_group is None else topk_group)
    idx = _top_k(choice, k)                                             # (..., k)
    w = np.take_along_axis(s, idx, axis=-1)                             # (..., k)
    if normalize:
        w = w / w.sum(axis=-1, keepdims=True)
    return w * scaling if scaling != 1.0 else w, idx


def _limit_groups(choice: np.ndarray, n_group: int, topk_group: int) -> np.ndarray:
    # Keep the scores of the topk_group best groups, -inf elsewhere.  (..., E) -> (..., E)
    n_experts = choice.shape[-1]
    if n_experts % n_group or not 1 <= topk_group <= n_group:
        raise ValueError(f"{n_experts} experts cannot form n_group={n_group} groups with "
                         f"topk_group={topk_group}")
    grouped = choice.reshape(*choice.shape[:-1], n_group, n_experts // n_group)  # (..., G, E/G)
    best_two = -np.sort(-grouped, axis=-1)[..., :2]                             # (..., G, <=2)
    group_score = best_two.sum(axis=-1)                                         # (..., G)
    keep = np.zeros(group_score.shape, dtype=bool)
    np.put_along_axis(keep, _top_k(group_score, topk_group), True, axis=-1)
    return np.where(keep[..., None], grouped, -np.inf).reshape(choice.shape)


def route_with(logits: np.ndarray, config: MoEConfig,
               select_bias: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """`route` with the switches of a MoEConfig."""
    return route(logits, config.top_k, score=config.score, top_k_first=config.top_k_first,
                 normalize=config.normalize, select_bias=select_bias, n_group=config.n_group,
                 topk_group=config.topk_group, scaling=config.scaling)


def gate_matrix(weights: np.ndarray, indices: np.ndarray, n_experts: int) -> np.ndarray:
    """The dense (n, E) gate: G[t, e] = weight of expert e for token t, 0 if not chosen."""
    g = np.zeros(weights.shape[:-1] + (n_experts,), dtype=weights.dtype)
    np.put_along_axis(g, indices, weights, axis=-1)
    return g


def expert_load(indices: np.ndarray, n_experts: int, kept: np.ndarray | None = None
                ) -> np.ndarray:
    """How many token assignments each expert receives.   indices (..., k) -> (E,) int"""
    idx = np.asarray(indices)
    if kept is not None:
        idx = idx[np.asarray(kept, dtype=bool)]
    return np.bincount(idx.ravel(), minlength=n_experts)


# ----------------------------------------------------------------------------- capacity

def expert_capacity(n_tokens: int, n_experts: int, k: int, capacity_factor: float) -> int:
    """Slots per expert: ceil(capacity_factor * k * n_tokens / E).

    capacity_factor = 1 gives each expert exactly its share if routing were
    perfectly balanced; anything past that share is dropped.
    """
    if n_tokens < 0 or n_experts < 1 or k < 1 or capacity_factor <= 0:
        raise ValueError(f"n_tokens={n_tokens} must be >= 0, n_experts={n_experts} and k={k} "
                         f">= 1, capacity_factor={capacity_factor} > 0")
    return math.ceil(capacity_factor * k * n_tokens / n_experts)


def capacity_mask(indices: np.ndarray, n_experts: int, capacity: int) -> np.ndarray:
    """Which assignments fit: True unless the expert already holds `capacity` tokens.

    indices: (n, k) -> (n, k) bool. Experts fill first with every token's first
    choice, in token order, then with second choices, and so on (GShard's
    priority), so a token loses its best expert only to earlier tokens' best.
    """
    idx = np.asarray(indices)
    if idx.ndim != 2:
        raise ValueError(f"indices must be (n, k), got shape {idx.shape}")
    if capacity < 0:
        raise ValueError(f"capacity={capacity} must be >= 0")
    flat = idx.T.ravel()                                   # (k*n,) rank-major, then token order
    order = np.argsort(flat, kind="stable")                # grouped by expert, priority kept
    grouped = flat[order]
    first = np.searchsorted(grouped, grouped, side="left")   # where each expert's run starts
    slot = np.empty_like(flat)
    slot[order] = np.arange(flat.size) - first             # 0, 1, 2, ... within each expert
    return (slot < capacity).reshape(idx.shape[::-1]).T


# ----------------------------------------------------------------------------- the layer

def routed_experts(x: np.ndarray, weights: np.ndarray, indices: np.ndarray,
                   w_gate: np.ndarray, w_up: np.ndarray, w_down: np.ndarray) -> np.ndarray:
    """sum_j weights[t, j] * expert_{indices[t, j]}(x_t), computing only chosen experts.

    x: (n, d)  weights, indices: (n, k)  w_gate, w_up: (E, d, f)  w_down: (E, f, d) -> (n, d)
    Each expert runs once, on the tokens routed to it. A zero weight (a dropped
    assignment) contributes nothing and is skipped.
    """
    out = np.zeros_like(x, dtype=np.result_type(x, w_down, weights))
    active = weights != 0
    for e in np.unique(indices[active]):
        tok, slot = np.nonzero((indices == e) & active)   # a token picks an expert at most once
        h = swiglu(x[tok], w_gate[e], w_up[e]) @ w_down[e]   # (m, d)
        out[tok] += weights[tok, slot, None] * h
    return out


def shared_expert(x: np.ndarray, params: Params, prefix: str, config: MoEConfig) -> np.ndarray:
    """The always-on SwiGLU expert, gated by sigmoid(x w) for Qwen2-MoE.   (..., d)"""
    p = params
    h = swiglu(x, p[prefix + ".shared.w_gate"], p[prefix + ".shared.w_up"])
    y = h @ p[prefix + ".shared.w_down"]
    if config.shared_gate:
        y = sigmoid(x @ p[prefix + ".shared_gate.w"]) * y    # (..., 1) scales every feature
    return y


def moe_ffn(x: np.ndarray, params: Params, prefix: str, config: MoEConfig, *,
            capacity_factor: float | None = None, return_routing: bool = False):
    """The MoE feed-forward layer: routed experts plus any shared expert.

    x: (..., d) -> (..., d); every leading position is one token. capacity_factor
    (None: unlimited) drops assignments past each expert's capacity: the dropped
    token gets nothing from that expert, and the other weights are not rescaled.
    return_routing=True returns (output, Routing).
    """
    p = params
    d = x.shape[-1]
    h = x.reshape(-1, d)                                                  # (n, d)
    logits = h @ p[prefix + ".router.w"]                                  # (n, E)
    bias = p[prefix + ".router.select_bias"] if config.select_bias else None
    weights, idx = route_with(logits, config, bias)                       # (n, k) each
    kept = np.ones(idx.shape, dtype=bool)
    if capacity_factor is not None:
        cap = expert_capacity(h.shape[0], config.n_experts, config.top_k, capacity_factor)
        kept = capacity_mask(idx, config.n_experts, cap)
        weights = np.where(kept, weights, 0).astype(weights.dtype, copy=False)
    out = routed_experts(h, weights, idx, p[prefix + ".experts.w_gate"],
                         p[prefix + ".experts.w_up"], p[prefix + ".experts.w_down"])
    if config.has_shared:
        out = out + shared_expert(h, p, prefix, config)
    out = out.reshape(x.shape).astype(x.dtype, copy=False)
    return (out, Routing(logits, weights, idx, kept)) if return_routing else out


# ----------------------------------------------------------------------------- training signal

def load_balancing_loss(router_logits: np.ndarray | Sequence[np.ndarray], k: int,
                        mask: np.ndarray | None = None) -> float:
    """Switch Transformer's auxiliary loss, E * sum_e f_e P_e, as transformers computes it.

    router_logits: (n, E), or one (n, E) array per layer (pooled over layers).
    f_e: top-k assignments to expert e per token (the f_e sum to k); P_e: mean
    router probability of e. Both are smallest when routing is uniform, where
    the loss is k; it grows when tokens crowd a few experts. mask (n,) or any
    shape with n entries, True/1 = real token, leaves padding out.
    """
    layers = [router_logits] if isinstance(router_logits, np.ndarray) else list(router_logits)
    if not layers:
        raise ValueError("router_logits is empty")
    n_experts = layers[0].shape[-1]
    f_sum = np.zeros(n_experts)
    p_sum = np.zeros(n_experts)
    rows = 0.0
    for logits in layers:
        logits = np.asarray(logits, dtype=np.float64).reshape(-1, n_experts)   # (n, E)
        w = np.ones(logits.shape[0]) if mask is None else \
            np.asarray(mask, dtype=np.float64).reshape(-1)                      # (n,)
        if w.shape[0] != logits.shape[0]:
            raise ValueError(f"mask has {w.shape[0]} entries for {logits.shape[0]} tokens")
        probs = softmax(logits)
        idx = _top_k(probs, k)                                                  # (n, k)
        f_sum += np.bincount(idx.ravel(), weights=np.repeat(w, k), minlength=n_experts)
        p_sum += (probs * w[:, None]).sum(axis=0)
        rows += w.sum()
    return float(n_experts * np.sum((f_sum / rows) * (p_sum / rows)))


# ----------------------------------------------------------------------------- layout

def moe_param_shapes(prefix: str, d_model: int, config: MoEConfig) -> dict[str, tuple[int, ...]]:
    """Name -> shape of the layer's arrays (names: see the module docstring)."""
    d, e, f = d_model, config.n_experts, config.d_expert
    shapes = {f"{prefix}.router.w": (d, e)}
    if config.select_bias:
        shapes[f"{prefix}.router.select_bias"] = (e,)
    shapes |= {f"{prefix}.experts.w_gate": (e, d, f), f"{prefix}.experts.w_up": (e, d, f),
               f"{prefix}.experts.w_down": (e, f, d)}
    if config.has_shared:
        fs = config.shared_dim
        shapes |= {f"{prefix}.shared.w_gate": (d, fs), f"{prefix}.shared.w_up": (d, fs),
                   f"{prefix}.shared.w_down": (fs, d)}
        if config.shared_gate:
            shapes[f"{prefix}.shared_gate.w"] = (d, 1)
    return shapes


WeightMap = dict[str, Callable[[np.ndarray], Params]]


def moe_weight_map(prefix: str, config: MoEConfig, shared: str = "shared_experts") -> WeightMap:
    """Hugging Face name inside one MoE block -> function giving the engine arrays.

    HF keeps `gate.weight` (E, d), `experts.gate_up_proj` (E, 2f, d) with rows
    [gate | up], `experts.down_proj` (E, d, f) and nn.Linear shared experts, all
    (out, in); each is transposed to the engine's (in, out). shared: the shared
    expert's module name, "shared_experts" (DeepSeek-V3) or "shared_expert" (Qwen2-MoE).
    """
    f, p = config.d_expert, prefix

    def gate_up(a):                                                  # (E, 2f, d)
        if a.ndim != 3 or a.shape[:2] != (config.n_experts, 2 * f):
            raise ValueError(f"experts.gate_up_proj has shape {a.shape}; expected "
                             f"({config.n_experts}, {2 * f}, d)")
        return {f"{p}.experts.w_gate": np.swapaxes(a[:, :f], 1, 2),    # (E, d, f)
                f"{p}.experts.w_up": np.swapaxes(a[:, f:], 1, 2)}

    m: WeightMap = {"gate.weight": lambda a: {f"{p}.router.w": a.T},
                    "experts.gate_up_proj": gate_up,
                    "experts.down_proj": lambda a: {f"{p}.experts.w_down": np.swapaxes(a, 1, 2)}}
    if config.select_bias:
        m["gate.e_score_correction_bias"] = lambda a: {f"{p}.router.select_bias": a}
    if config.has_shared:
        for w in ("gate", "up", "down"):
            m[f"{shared}.{w}_proj.weight"] = lambda a, w=w: {f"{p}.shared.w_{w}": a.T}
        if config.shared_gate:
            m[f"{shared}_gate.weight"] = lambda a: {f"{p}.shared_gate.w": a.T}
    return m
