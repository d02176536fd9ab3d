"""Every numeric trap is reachable: typing a trap's value is graded wrong and names the trap.

For each numeric question with traps, values are drawn from its `vary` lists, each trap's
value is computed by its own route (`trap_values`: the trap's arithmetic or computation),
and both it and the true value are graded through `tutor grade`'s own path.
"""

from __future__ import annotations

import itertools
import random
from pathlib import Path

import pytest

from tutor.bank import load_paths
from tutor.grade import grade_answer
from tutor.grading.numbers import within
from tutor.kinds.numeric import instance, trap_values

ROOT = Path(__file__).resolve().parents[2]
DRAWS = 12   # value combinations per question


@pytest.fixture(scope="module")
def bank():
    return load_paths([ROOT / "questions"], against_builtin=False)


def _numeric_with_traps(bank):
    return [q for q in bank.questions.values() if q.kind == "numeric" and q.traps]


def _draws(q) -> list[dict]:
    choices = q.choices()
    names = sorted(choices)
    combos = list(itertools.product(*(choices[n] for n in names)))
    random.Random(q.id).shuffle(combos)
    return [dict(zip(names, c, strict=True)) for c in combos[:DRAWS]]


def _pairs(values: dict) -> list[str]:
    return [f"{k}={','.join(map(str, v)) if isinstance(v, list) else v}"
            for k, v in values.items()]


def test_the_usual_mistakes_have_traps(bank):
    ids = {q.id for q in _numeric_with_traps(bank)}
    assert {"masks/causal-pair-count", "params/swiglu-ffn-weights",
            "params/swiglu-hidden", "systems/adam-state-bytes"} <= ids


def test_2_to_the_21_is_a_trap_for_2048_causal_pairs(bank):
    _, _, graded = grade_answer(bank, "masks/causal-pair-count", "2^21", ["n=2048"])
    assert graded.correct is False
    assert graded.extra["trap"] == "n^2 / 2: the diagonal was left out"
    _, _, graded = grade_answer(bank, "masks/causal-pair-count", "2048*2049/2", ["n=2048"])
    assert graded.correct is True and graded.extra["trap"] is None


def test_every_trap_is_graded_wrong_and_named(bank):
    reached: set[tuple[str, str]] = set()
    for q in _numeric_with_traps(bank):
        for values in _draws(q):
            inst = instance(q, values)
            truth = inst["value"]
            _, _, graded = grade_answer(bank, q.id, repr(truth), _pairs(values))
            assert graded.correct is True and graded.extra["trap"] is None, (q.id, values)
            traps = trap_values(q, inst["fields"])
            for trap, value in traps:
                if value == truth:
                    continue   # the mistake makes no difference for these values
                _, _, graded = grade_answer(bank, q.id, repr(value), _pairs(values))
                assert graded.correct is False, (q.id, trap.name, values)
                named = graded.extra["trap"]
                same = [t.name for t, v in traps if v != truth and within(value, v, q.tolerance)]
                assert named in same, (q.id, trap.name, named, values)
                assert graded.flags and graded.flags[0]["claim"] == named
                reached.add((q.id, named))
    every = {(q.id, t.name) for q in _numeric_with_traps(bank) for t in q.traps}
    assert every == reached, f"traps never reached: {sorted(every - reached)}"
