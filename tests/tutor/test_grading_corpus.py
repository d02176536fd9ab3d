"""The free-text grader against labelled answers (tests/fixtures/graded_answers.yaml).

Strong answers are paraphrases written without looking at the accepted phrasings;
wrong answers include the seed documents' own errors that the questions correct.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests/fixtures/graded_answers.yaml"
sys.path.insert(0, str(ROOT / "benchmarks"))


@pytest.fixture(scope="module")
def measured():
    from grading import measure

    return measure(CORPUS)


def test_every_keypoints_question_has_strong_and_wrong_answers(measured):
    from tutor.bank import load_bank

    bank = load_bank([], builtin=True)
    labels: dict[str, set[str]] = {}
    for r in measured["results"]:
        labels.setdefault(r["id"], set()).add(r["label"])
    for q in bank.questions.values():
        if q.kind == "keypoints":
            assert labels.get(q.id) == {"strong", "wrong"}, q.id


def test_strong_answers_are_credited(measured):
    share = measured["credited"] / measured["strong"]
    misses = [r["id"] for r in measured["results"] if r["label"] == "strong" and not r["ok"]]
    assert share >= 0.95, misses


def test_wrong_answers_are_caught(measured):
    share = measured["caught"] / measured["wrong"]
    misses = [r["id"] for r in measured["results"] if r["label"] == "wrong" and not r["ok"]]
    assert share >= 0.90, misses


def test_every_reject_is_exercised_by_a_wrong_answer(measured):
    from tutor.bank import load_bank

    bank = load_bank([], builtin=True)
    flagged = {(r["id"], claim) for r in measured["results"] for claim in r["flags"]}
    for q in bank.questions.values():
        if q.kind not in ("keypoints", "recall"):
            continue
        claims = [r.claim for kp in q.points for r in kp.rejects] + [r.claim for r in q.rejects]
        for claim in claims:
            assert (q.id, claim) in flagged, f"{q.id}: no labelled answer states {claim!r}"
