"""rope-scaling: which RoPE angles a longer context reaches, under each scaling method.

RoPE rotates dimension pair i of a head by p w_i at position p, with
w_i = theta^(-2i/d) (d = `--head-dim`, i = 0 .. d/2 - 1); its wavelength is
2 pi / w_i tokens. Over the trained length L (`--trained-len`) pair i turns
through angles up to L w_i. A pair with L w_i >= 2 pi has turned at least once
in training, so every angle it meets later was seen; a pair that never turned
once has seen only [0, L w_i], and an angle past that at the target length T
(`--target`, default `--factor` x L) is out of distribution.

Each method's frequencies come from engine.positional.rope_inv_freq with the
scaling dict transformers uses (factor = `--factor`, original length L; dynamic
NTK at sequence length T with max_position_embeddings L; YaRN with its default
beta_fast 32 and beta_slow 1; llama3 with Llama 3.1's low_freq_factor 1 and
high_freq_factor 4). At T, pair i reaches T w_i' under the method, against
L w_i in training.

JSON keys:
- `factor`, `trained_len`, `target`, `head_dim`, `theta`;
- `bands`: {high, mid, low}: the pair index of each band shown (0, d/4, d/2 - 1);
- `first_unturned`: the first pair that never completes a turn in L tokens (d/2 if
  every pair turns);
- `trained`: {wavelength, max_angle} per band name: 2 pi / w_i and L w_i;
- `methods`: [{method, scaling (the dict passed, null for none), attention_factor,
  logit_scale (attention_factor squared: what the q.k scores are multiplied by),
  ratio (w_i' / w_i for every pair i), angles ({band: T w_i'}), ood ({band: bool}),
  ood_dims (pairs out of distribution at T), max_ood_ratio (largest T w_i' / L w_i
  over those pairs, 1 if none)}] for none, linear, dynamic, yarn, llama3;
- `dynamic_alpha`: the factor dynamic NTK raises theta by (to the d/(d-2)) at T:
  factor T / L - (factor - 1), or 1 when T <= L;
- `takeaway`.
"""

from __future__ import annotations

import math

LLAMA3 = {"low_freq_factor": 1.0, "high_freq_factor": 4.0}   # Llama 3.1's release
METHODS = ("none", "linear", "dynamic", "yarn", "llama3")
RTOL = 1e-9          # an angle this much past the trained one still counts as seen


def check(p) -> str | None:
    if p.head_dim % 2:
        return f"--head-dim {p.head_dim} must be even (RoPE rotates pairs of dims)"
    return None


def target_length(p) -> int:
    return p.target if p.target is not None else round(p.factor * p.trained_len)


def scaling_dicts(factor: float, trained_len: int) -> dict[str, dict | None]:
    """Each method's transformers rope dict."""
    return {
        "none": None,
        "linear": {"rope_type": "linear", "factor": factor},
        "dynamic": {"rope_type": "dynamic", "factor": factor},
        "yarn": {"rope_type": "yarn", "factor": factor,
                 "original_max_position_embeddings": trained_len},
        "llama3": {"rope_type": "llama3", "factor": factor,
                   "original_max_position_embeddings": trained_len, **LLAMA3},
    }


def out_of_distribution(trained_angle, target_angle):
    """True for pairs that never turned once in training and now pass the trained angle."""
    import numpy as np

    trained_angle = np.asarray(trained_angle)
    return (trained_angle < 2 * math.pi) & (np.asarray(target_angle)
                                            > trained_angle * (1 + RTOL))


def compute(p, rng, progress) -> dict:
    import numpy as np

    from engine.positional import rope_inv_freq

    d, L = p.head_dim, p.trained_len
    T = target_length(p)
    w0, _ = rope_inv_freq(d, p.theta)                               # (d/2,)
    bands = {"high": 0, "mid": d // 4, "low": d // 2 - 1}
    trained_angle = L * w0                                          # (d/2,)
    unturned = np.nonzero(trained_angle < 2 * math.pi)[0]
    methods = []
    for name, scaling in scaling_dicts(p.factor, L).items():
        inv, attention = rope_inv_freq(d, p.theta, scaling, seq_len=T,
                                       max_position_embeddings=L)
        angle = T * inv                                             # (d/2,)
        ood = out_of_distribution(trained_angle, angle)
        methods.append({
            "method": name, "scaling": scaling, "attention_factor": attention,
            "logit_scale": attention ** 2, "ratio": inv / w0,
            "angles": {b: float(angle[i]) for b, i in bands.items()},
            "ood": {b: bool(ood[i]) for b, i in bands.items()},
            "ood_dims": int(ood.sum()),
            "max_ood_ratio": float(np.max(angle[ood] / trained_angle[ood])) if ood.any()
            else 1.0})
    result = {
        "factor": p.factor, "trained_len": L, "target": T, "head_dim": d, "theta": p.theta,
        "bands": bands,
        "first_unturned": int(unturned[0]) if unturned.size else d // 2,
        "trained": {b: {"wavelength": float(2 * math.pi / w0[i]),
                        "max_angle": float(trained_angle[i])} for b, i in bands.items()},
        "methods": methods,
        "dynamic_alpha": p.factor * T / L - (p.factor - 1) if T > L else 1.0,
    }
    result["takeaway"] = _takeaway(result)
    return result


def _takeaway(r: dict) -> str:
    by = {m["method"]: m for m in r["methods"]}
    pairs = r["head_dim"] // 2
    none, yarn = by["none"], by["yarn"]
    safe = [m for m in METHODS[1:] if by[m]["ood_dims"] == 0]
    return (f"Trained on {r['trained_len']:,} tokens, {pairs - r['first_unturned']} of the "
            f"{pairs} RoPE pairs never complete a turn; at {r['target']:,} tokens plain RoPE "
            f"pushes {none['ood_dims']} of them past any angle seen in training (up to "
            f"{none['max_ood_ratio']:.1f}x). "
            + (f"{', '.join(safe)} keep{'s' if len(safe) == 1 else ''} every pair in range"
               if safe else "No method keeps every pair in range")
            + f"; linear does it by slowing every pair {r['factor']:g}x, even the fastest, "
            f"while YaRN and llama3 leave the fast pairs as trained (ratio "
            f"{yarn['ratio'][0]:.3f}) and interpolate only the slow ones. YaRN also "
            f"sharpens attention: scores x {yarn['logit_scale']:.3f}.")


def render(result: dict):
    from rich.text import Text

    from tutor.demos import _viz

    f = _viz.fmt
    b = result["bands"]
    tr = result["trained"]
    intro = Text(
        f"head dim {result['head_dim']}, theta {result['theta']:g}; trained on "
        f"{result['trained_len']:,} tokens, target {result['target']:,} "
        f"(factor {result['factor']:g}). Pairs {result['first_unturned']}.."
        f"{result['head_dim'] // 2 - 1} never turn once in training.", style="dim")
    rows = [("trained", *(f(tr[k]["max_angle"]) for k in b), "")]
    for m in result["methods"]:
        rows.append((m["method"], *(f(m["angles"][k]) + ("!" if m["ood"][k] else " ")
                                    for k in b), str(m["ood_dims"])))
    table = _viz.table(("angle (rad)", f"high ({b['high']})", f"mid ({b['mid']})",
                        f"low ({b['low']})", "OOD"), rows,
                       title=f"largest angle at {result['target']:,} tokens "
                             "(! = never seen)")
    waves = Text("wavelengths (tokens): " + ", ".join(
        f"{k} {f(tr[k]['wavelength'])}" for k in b), style="dim")
    pairs = list(range(result["head_dim"] // 2))
    plot = _viz.line_plot({m["method"]: (pairs, m["ratio"]) for m in result["methods"]
                           if m["method"] != "none"},
                          title="frequency kept, w' / w, per pair", xlabel="pair i (fast "
                          "-> slow)", logy=True, width=54, height=13)
    yarn = next(m for m in result["methods"] if m["method"] == "yarn")
    note = Text(f"YaRN attention factor {yarn['attention_factor']:.4f} on cos and sin: "
                f"q.k x {yarn['logit_scale']:.4f}. Dynamic NTK at this length raises theta "
                f"by {result['dynamic_alpha']:.3g}^(d/(d-2)).", style="bold")
    return _viz.view("RoPE scaling past the trained length", intro, table, waves, plot, note,
                     takeaway=result["takeaway"])
