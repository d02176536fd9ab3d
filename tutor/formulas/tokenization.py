"""Tokenization formulas: what a vocabulary costs in parameters and FLOPs.

Counts come from `engine.accounting`, imported inside each function so that
validating a bank stays NumPy-free.
"""

from __future__ import annotations

from tutor.formulas import Computed, formula
from tutor.formulas import fmt_number as _n


def _config(preset: str, vocab: int | None):
    from engine.config import preset as get

    c = get(preset)
    return c if vocab is None else c.replace(vocab_size=vocab)


@formula("tokenization.vocab_params",
         "Vocabulary parameters: V x d for the embedding, twice that with an untied head")
def vocab_params(vocab: int, d_model: int, tied: bool = False) -> Computed:
    table = vocab * d_model
    total = table if tied else 2 * table
    how = "tied: the head reuses the table" if tied else "untied: embedding + output head"
    return Computed(total, f"{_n(vocab)} x {_n(d_model)} = {_n(table)} per matrix; {how} = "
                           f"{_n(total)}")


@formula("tokenization.vocab_share",
         "Fraction of a preset's parameters in its token embedding and output head")
def vocab_share(preset: str, vocab: int | None = None) -> Computed:
    from engine.accounting import count_params

    c = _config(preset, vocab)
    count = count_params(c)
    part = count.items["token_embedding"] + count.items["lm_head"]
    share = part / count.total
    head = "untied head" if count.items["lm_head"] else "tied head"
    return Computed(share, f"{preset} with V = {_n(c.vocab_size)} ({head}): "
                           f"{_n(part)} / {_n(count.total)} = {share:.4f} ({share:.1%})")


@formula("tokenization.head_flop_share",
         "Fraction of forward matmul FLOPs per token spent in the output head (2 V d)")
def head_flop_share(preset: str, vocab: int, context: int = 2048) -> Computed:
    from engine.accounting import forward_flops_per_token

    c = _config(preset, vocab)
    f = forward_flops_per_token(c, n_ctx=context)
    share = f.lm_head / f.total
    return Computed(share, f"head 2 x {_n(vocab)} x {_n(c.d_model)} = {_n(f.lm_head)} of "
                           f"{f.total:.4g} FLOPs per token at {_n(context)} context = "
                           f"{share:.4f} ({share:.1%})")
