"""Retrieval formulas: embedding similarity and how many chunks a document becomes."""

from __future__ import annotations

import math

from tutor.formulas import Computed, formula
from tutor.formulas import fmt_number as _n


def _vector(text: str, name: str) -> list[float]:
    try:
        values = [float(x) for x in str(text).replace(" ", "").split(",") if x]
    except ValueError:
        raise ValueError(f"{name}={text!r} must be numbers separated by commas") from None
    if not values:
        raise ValueError(f"{name} is empty; give numbers separated by commas")
    return values


def _pair(a: str, b: str) -> tuple[list[float], list[float]]:
    u, v = _vector(a, "a"), _vector(b, "b")
    if len(u) != len(v):
        raise ValueError(f"a has {len(u)} numbers and b {len(v)}; they must match")
    return u, v


@formula("retrieval.cosine_similarity",
         "Cosine similarity of two embeddings given as comma-separated numbers: "
         "a.b / (|a| |b|)")
def cosine_similarity(a: str, b: str) -> Computed:
    u, v = _pair(a, b)
    dot = sum(x * y for x, y in zip(u, v, strict=True))
    nu, nv = math.sqrt(sum(x * x for x in u)), math.sqrt(sum(y * y for y in v))
    if nu == 0 or nv == 0:
        raise ValueError("a zero vector has no direction, so its cosine is undefined")
    cos = dot / (nu * nv)
    return Computed(cos, f"a.b = {dot:g}; |a| = {nu:.4g}, |b| = {nv:.4g}; "
                         f"{dot:g} / ({nu:.4g} x {nv:.4g}) = {cos:.4g}")


@formula("retrieval.dot_product",
         "Dot product of two embeddings given as comma-separated numbers: sum of a_i b_i")
def dot_product(a: str, b: str) -> Computed:
    u, v = _pair(a, b)
    dot = sum(x * y for x, y in zip(u, v, strict=True))
    terms = " + ".join(f"{x:g} x {y:g}" for x, y in zip(u, v, strict=True))
    return Computed(dot, f"{terms} = {dot:g}")


@formula("retrieval.chunk_count",
         "Chunks of `chunk` tokens with `overlap` shared tokens that cover a document: "
         "1 + ceil((N - chunk) / (chunk - overlap))")
def chunk_count(doc_tokens: int, chunk: int, overlap: int = 0) -> Computed:
    if not 0 <= overlap < chunk:
        raise ValueError(f"overlap={overlap} must be at least 0 and below chunk={chunk}")
    if doc_tokens < 1:
        raise ValueError(f"doc_tokens={doc_tokens} must be >= 1")
    stride = chunk - overlap
    extra = max(0, math.ceil((doc_tokens - chunk) / stride))
    count = 1 + extra
    return Computed(count, f"stride = {_n(chunk)} - {_n(overlap)} = {_n(stride)}; "
                           f"1 + ceil(({_n(doc_tokens)} - {_n(chunk)}) / {_n(stride)}) = "
                           f"{_n(count)} chunks ({_n(count * chunk)} token slots for "
                           f"{_n(doc_tokens)} tokens)")
