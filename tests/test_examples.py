"""The example bank loads with --bank examples, and every card in it can be quizzed through
the scriptable protocol, right and wrong."""

import json
import re
from pathlib import Path

from typer.testing import CliRunner

from tutor.bank import load_paths
from tutor.cli import app
from tutor.formulas import compute_answer

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
runner = CliRunner()
QUIZ = ["--bank", str(EXAMPLES), "quiz", "--topic", "my-first-topic", "--seed", "4", "--json"]


def test_examples_validate_with_one_question_of_each_kind():
    bank = load_paths([EXAMPLES], against_builtin=True)
    assert bank.problems == []
    assert sorted(q.kind for q in bank.questions.values()) == [
        "choice", "keypoints", "numeric", "order", "recall"]


def test_every_example_card_through_the_scriptable_protocol(monkeypatch):
    monkeypatch.setenv("TUTOR_NOW", "2026-03-01T12:00:00Z")
    bank = load_paths([EXAMPLES], against_builtin=True)
    # a first session that skips every card shows the seeded order without answering
    skip = runner.invoke(app, QUIZ, input=":s\n" * 5)
    order = re.findall(r"\[\d/5\] (my-first-topic/[a-z-]+)", skip.stderr)
    assert sorted(order) == sorted(bank.questions)

    lines = []
    for qid in order:
        q = bank.questions[qid]
        if q.kind == "recall":
            lines += ["", "good"]
        elif q.kind == "choice":  # the options are shuffled: read the letters shown
            shown = re.search(rf"{qid}.*?\n(.*?)Type the letter", skip.stderr, re.S)
            options = dict((text, letter) for letter, text in
                           re.findall(r"([A-Z])\. (.+?)\s*│", shown.group(1)))
            lines.append(",".join(options[o.text] for o in q.options if o.correct))
        elif q.kind == "order":
            shown = re.search(rf"{qid}.*?\n(.*?)Type the step numbers", skip.stderr, re.S)
            steps = re.findall(r"(\d)\. (.+?)\s*│", shown.group(1))
            position = {text: n for n, text in steps}
            lines.append(" ".join(position[s] for s in q.steps))
        elif q.kind == "keypoints":
            lines += ["per token statistics, independent of the batch size", "3"]
        elif q.kind == "numeric":
            lines.append("1")  # wrong on purpose: checked against the engine below
    r = runner.invoke(app, QUIZ, input="\n".join(lines) + "\n")
    assert r.exit_code == 0, r.stderr
    graded = [json.loads(line) for line in r.stdout.splitlines()]
    summary = graded.pop()["summary"]
    by_id = {g["id"]: g for g in graded}
    assert set(by_id) == set(order)
    assert by_id["my-first-topic/which-mask"]["correct"] is True
    assert by_id["my-first-topic/pre-norm-order"]["correct"] is True
    assert by_id["my-first-topic/what-is-a-head"]["rating"] == "good"
    kp = by_id["my-first-topic/why-layernorm"]
    assert kp["covered"] == ["it normalises each token over its own features",
                             "it does not depend on the batch or its size"]
    assert kp["missed"] == ["it behaves the same in training and at inference"]
    numeric = by_id["my-first-topic/kv-cache-size"]
    v = numeric["values"]
    assert numeric["correct"] is False and numeric["rating"] == "again"
    assert numeric["expected"] == 2 * v["seq"] * v["layers"] * v["kv_heads"] * 128 * 2
    assert numeric["expected"] == compute_answer(
        "memory.kv_cache_bytes", {"d_head": 128, "bytes_per": 2, **v}).value
    # self-rated Good counts as right, like an automatic right answer
    assert summary["seen"] == 5 and summary["right"] == 4 and summary["wrong"] == 1
