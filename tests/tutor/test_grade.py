"""`tutor grade` on every kind, and the graders behind it: numbers with arithmetic and traps,
orders with partial credit and equivalent orders, choices with missed and wrong picks."""

from __future__ import annotations

import json
import math
import random

import pytest
from typer.testing import CliRunner

from tutor.cli import app
from tutor.grading import AnswerError, kendall_distance, parse_number

runner = CliRunner()

BANK = """
topic: g
title: Grading
questions:
  - id: g/pairs
    kind: numeric
    prompt: "Causal pairs over {n} tokens?"
    answer: "n (n + 1) / 2 for n = {n}."
    vary: {n: [1024, 2048, 4096]}
    answer_from: {name: masks.causal_pairs}
    tolerance: 0.001
    traps:
      - {name: "n^2/2 (the diagonal left out)", value: "n^2 / 2",
         explanation: "each query also sees its own key"}
      - {name: "n^2 (no mask)", value: "n^2"}
  - id: g/share
    kind: numeric
    prompt: "What percent of the {n} x {n} scores does a causal mask keep?"
    answer: "(n + 1) / (2n) of them."
    vary: {n: [4]}
    answer_from: {name: masks.causal_pairs}
    units: "%"
    tolerance: 0.02
  - id: g/pick
    kind: choice
    prompt: Which are positional encodings?
    answer: Sinusoidal and RoPE.
    options:
      - {text: Sinusoidal, correct: true, explanation: The original one.}
      - {text: LayerNorm, explanation: A norm.}
      - {text: RoPE, correct: true, explanation: Rotations.}
      - {text: Dropout, explanation: A regulariser.}
  - id: g/steps
    kind: order
    prompt: Order attention.
    answer: Scores, scale, softmax, weights.
    steps: [scores, scale, softmax, weighted sum]
    also: [[2, 1, 3, 4]]
  - id: g/claims
    kind: keypoints
    prompt: Why scale by sqrt(d_k)?
    answer: The variance of q.k grows with d_k, so softmax saturates.
    key_points:
      - point: the variance of q.k grows with d_k
        accept: ["variance (grow|scale) (d_k|dimension)"]
      - point: unscaled softmax saturates and gradients vanish
        accept: ["softmax saturate", "gradient vanish"]
        rejects:
          - claim: scaling is for numerical overflow only
            match: ["(only|just) overflow"]
            correction: it keeps the softmax out of saturation, so gradients flow
  - id: g/think
    kind: recall
    prompt: What is a KV cache?
    answer: Stored keys and values of past tokens.
"""


@pytest.fixture()
def bank(tmp_path, monkeypatch):
    d = tmp_path / "bank"
    d.mkdir()
    (d / "g.yaml").write_text(BANK, encoding="utf-8")
    monkeypatch.setenv("TUTOR_HOME", str(tmp_path / "home"))
    return d


def grade(bank, qid, answer, *args):
    r = runner.invoke(app, ["--bank", str(bank), "grade", qid, "--json", *args], input=answer)
    assert r.exit_code == 0, r.stderr
    return json.loads(r.stdout)


@pytest.mark.parametrize("text, value", [
    ("4096*4097/2", 4096 * 4097 / 2), ("(8*9)/2", 36), ("2^21", 2**21), ("−1.6", -1.6),
    ("~124M", 124e6), ("≈124M", 124e6), ("21.7bn", 21.7e9), ("1.24 × 10^8", 1.24e8),
    ("1.24·10⁸", 1.24e8), ("2 GiB + 512 MiB", 2.5 * 2**30), ("about 3.5k", 3500),
    ("-(2^3)", -8), ("1e3", 1000),
])
def test_numbers_as_people_write_them(text, value):
    assert parse_number(text) == pytest.approx(value, rel=1e-12)


@pytest.mark.parametrize("text", ["__import__('os')", "2**99999", "9^9^9^9", "1/0", "x + 1",
                                  "(" * 500 + "1" + ")" * 500, "2 ** (1,2)", "abs(-1)",
                                  "1 if 1 else 2", "[1]"])
def test_hostile_arithmetic_is_refused_quickly(text):
    with pytest.raises(AnswerError):
        parse_number(text)


def test_percent_cards_read_72_percent_as_72():
    assert parse_number("72%", "%") == 72 and parse_number("72 %", "%") == 72
    assert parse_number("72", "%") == 72
    assert parse_number("45%") == 0.45  # elsewhere a percentage is a fraction


def test_a_trap_inside_the_tolerance_is_wrong_and_named(bank):
    got = grade(bank, "g/pairs", "2^21\n", "--value", "n=2048")
    assert got["correct"] is False and got["trap"] == "n^2/2 (the diagonal left out)"
    assert got["flags"][0]["correction"] == "each query also sees its own key"
    assert got["expected"] == 2048 * 2049 // 2
    exact = grade(bank, "g/pairs", "2048*2049/2\n", "--value", "n=2048")
    assert exact["correct"] is True and exact["trap"] is None and exact["rating"] == "good"
    far = grade(bank, "g/pairs", str(4096**2), "--value", "n=4096")
    assert far["trap"] == "n^2 (no mask)"


def test_grade_draws_values_when_not_fixed_and_reports_them(bank):
    got = grade(bank, "g/pairs", "1\n", "--seed", "3")
    assert got["values"]["n"] in (1024, 2048, 4096) and got["correct"] is False


def test_percent_card_through_grade(bank):
    # n = 4: 10 of 16 pairs are kept; the answer is the count here, checking the unit reading
    assert grade(bank, "g/share", "10%", "--value", "n=4")["correct"] is True


def test_choice_reports_missed_and_wrong_picks(bank):
    got = grade(bank, "g/pick", "A,B\n")
    assert got["correct"] is False and got["score"] == 0.0
    assert got["missed_options"] == ["C"] and got["wrong_picks"] == ["B"]
    assert grade(bank, "g/pick", "c a")["correct"] is True


def test_choice_options_are_shuffled_per_showing_unless_fixed(bank, tmp_path):
    from tutor.bank import load_paths
    from tutor.kinds import choice

    q = load_paths([bank], against_builtin=False).questions["g/pick"]
    orders = {tuple(choice.present(q, random.Random(s)).order) for s in range(40)}
    assert len(orders) > 10
    fixed = q.model_copy(update={"shuffle": False})
    assert {tuple(choice.present(fixed, random.Random(s)).order) for s in range(5)} == {
        (0, 1, 2, 3)}


def test_order_partial_credit_and_equivalent_orders(bank):
    right = grade(bank, "g/steps", "1 2 3 4", "--value", "order=1,2,3,4")
    assert right["correct"] is True and right["kendall_distance"] == 0
    also = grade(bank, "g/steps", "2 1 3 4", "--value", "order=1,2,3,4")
    assert also["correct"] is True  # declared as just as right
    one_swap = grade(bank, "g/steps", "1 2 4 3", "--value", "order=1,2,3,4")
    assert one_swap["correct"] is False and one_swap["kendall_distance"] == 1
    assert one_swap["rating"] == "hard" and one_swap["score"] == pytest.approx(5 / 6, abs=1e-4)
    reversed_ = grade(bank, "g/steps", "4 3 2 1", "--value", "order=1,2,3,4")
    assert reversed_["rating"] == "again" and reversed_["kendall_distance"] == 5
    shuffled = grade(bank, "g/steps", "2 3 4 1", "--value", "order=4,1,2,3")
    assert shuffled["correct"] is True


def test_kendall_distance_against_brute_force():
    rng = random.Random(0)
    for _ in range(200):
        n = rng.randint(2, 8)
        a, b = rng.sample(range(n), n), rng.sample(range(n), n)
        brute = sum(1 for i in range(n) for j in range(n)
                    if a.index(i) < a.index(j) and b.index(i) > b.index(j))
        assert kendall_distance(a, b) == brute
    assert kendall_distance([0, 1, 2], [2, 1, 0]) == math.comb(3, 2)


def test_keypoints_json_has_score_covered_missed_flags_rating(bank):
    strong = grade(bank, "g/claims", "As d_k grows the dot products' variance rises with the "
                                     "dimension, so softmax saturates and gradients vanish.")
    assert strong["correct"] is None and strong["score"] == 1.0 and strong["flags"] == []
    assert strong["rating"] == "good" and strong["missed"] == []
    wrong = grade(bank, "g/claims", "It is only about overflow of the exponentials.")
    assert wrong["flags"] == [{"claim": "scaling is for numerical overflow only",
                               "correction": "it keeps the softmax out of saturation, so "
                                             "gradients flow"}]
    assert wrong["rating"] == "again"


def test_recall_with_no_points_is_the_users_to_rate(bank):
    got = grade(bank, "g/think", "keys and values cached")
    assert got["correct"] is None and got["score"] is None and got["rating"] is None


def test_grade_text_output(bank):
    r = runner.invoke(app, ["--bank", str(bank), "grade", "g/pairs", "--value", "n=2048"],
                      input="2^21\n")
    assert r.exit_code == 0
    assert "Not quite: the answer is 2,098,176" in r.stdout
    assert "n^2/2 (the diagonal left out) gives 2,097,152" in r.stdout
    assert "values: n=2048" in r.stdout and "Answer" in r.stdout


@pytest.mark.parametrize("args, message", [
    (["g/nope"], "no question with id 'g/nope'"),
    (["g/pairs", "--value", "m=3"], "has no varied value 'm'"),
    (["g/pairs", "--value", "n"], "use KEY=VALUE"),
    (["g/pairs", "--value", "n=abc"], "expected a number"),
    (["g/steps", "--value", "order=1,1,2,3"], "give each of 1-4 once"),
])
def test_grade_usage_errors_exit_2(bank, args, message):
    r = runner.invoke(app, ["--bank", str(bank), "grade", *args], input="1\n")
    assert r.exit_code == 2 and message in r.stderr and "Traceback" not in r.stderr


def test_an_unreadable_answer_is_a_usage_error(bank):
    r = runner.invoke(app, ["--bank", str(bank), "grade", "g/pairs"], input="lots\n")
    assert r.exit_code == 2 and "cannot be read" in r.stderr


def test_validate_computes_numeric_answers_and_names_the_line(tmp_path):
    d = tmp_path / "b"
    d.mkdir()
    (d / "q.yaml").write_text(
        "topic: t\ntitle: T\nquestions:\n"
        "  - {id: t/q, kind: numeric, prompt: 'x?', answer: a, answer_from: "
        "{name: memory.zero_per_gpu, args: {params_b: 7, gpus: 0, stage: 3}}}\n"
        "  - {id: t/r, kind: numeric, prompt: 'x?', answer: a, answer_from: "
        "{name: scaling.dot_std, args: {d_k: 64, var: .inf}}}\n", encoding="utf-8")
    (d / "s.yaml").write_text(
        "topic: t\ntitle: T\nquestions:\n"
        "  - {id: t/s, kind: numeric, prompt: 'x {d_model:s}?', answer: a, vary: "
        "{d_model: [1]}, answer_from: {name: params.block_12d2}}\n", encoding="utf-8")
    r = runner.invoke(app, ["validate", str(d)])
    assert r.exit_code == 1
    lines = r.stderr.splitlines()
    assert any(":4:1: t/q: memory.zero_per_gpu fails: ZeroDivisionError" in x for x in lines)
    assert any(":5:1: t/r: scaling.dot_std gives a value that is not finite" in x for x in lines)
    assert any("{d_model:s}: only {d_model} and {d_model:,} are allowed" in x for x in lines)
