"""The loader: positions, every-problem-at-once reporting, and refusal of unsafe input."""

import time
from pathlib import Path

import pytest

from tutor.bank import load_file, load_paths
from tutor.bank.yamlsafe import MAX_NODES

VALID = """\
topic: masks
title: Masks
questions:
  - id: masks/causal
    kind: recall
    prompt: What does a causal mask do?
    answer: It stops a position from attending to later positions.
  - id: masks/choose
    kind: choice
    prompt: Which mask hides padding?
    answer: The padding mask.
    options:
      - {text: padding mask, correct: true, explanation: it removes pad keys}
      - {text: causal mask, explanation: "it hides the future, not padding"}
  - id: masks/count
    kind: numeric
    prompt: "How many entries in a {n} x {n} score matrix?"
    answer: "n^2"
    vary: {n: [128, 256]}
    answer_from: {name: complexity.score_entries}
"""


def write(tmp_path: Path, text: str, name: str = "q.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(path: Path) -> list[str]:
    parsed, problems = load_file(path)
    return [f"{p.line}:{p.column}: {p.message}" for p in problems]


def test_valid_file_loads_with_topic_and_origin(tmp_path):
    (qfile, located), problems = load_file(write(tmp_path, VALID))
    assert problems == []
    assert [q.id for q in qfile.questions] == ["masks/causal", "masks/choose", "masks/count"]
    assert located.position(("questions", 1, "options", 1)) == (14, 9)
    assert qfile.questions[1].correct_letters == "A"


def test_every_problem_reported_with_line_and_column(tmp_path):
    text = VALID.replace("kind: recall", "kind: recal").replace(
        "    answer: The padding mask.\n", "    answr: The padding mask.\n").replace(
        "n: [128, 256]", "m: [128, 256]")
    got = problems_of(write(tmp_path, text))
    kinds = "recall, choice, numeric, keypoints, order, drill"
    assert f"5:11: kind 'recal' is not one of {kinds}" in got
    assert "11:5: unknown key 'answr'; did you mean 'answer'?" in got
    assert "8:5: missing required field 'answer'" in got
    # the numeric question is valid on its own, so its template is still checked
    assert any(g.startswith("17:13: template field {n}") for g in got), got
    assert any("complexity.score_entries has no argument 'm'" in g for g in got), got


@pytest.mark.parametrize("text, expected", [
    ("", "1:1: file is empty"),
    ("- a\n- b\n", "1:1: top level is a list"),
    ("just text\n", "1:1: top level is a single str value"),
    ("topic: [\n", "2:1: not valid YAML"),
    ("a: 1\na: 2\n", "2:1: duplicate key 'a' (first at line 1)"),
    ("a: !!python/object/apply:os.system ['true']\n", "1:4: tag "),
    ("a: !custom 1\n", "1:4: tag '!custom' is not allowed"),
    ("a: &x [1]\nb: *x\n---\nc: 1\n", "not valid YAML"),
])
def test_malformed_files_get_one_clear_line(tmp_path, text, expected):
    got = problems_of(write(tmp_path, text))
    assert len(got) == 1 and expected in got[0], got


def test_not_utf8_names_the_byte_and_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_bytes(b"topic: x\ntitle: \xff\n")
    assert problems_of(path) == ["2:8: not UTF-8 text (byte 0xff); save the file as UTF-8"]


def test_python_tags_never_execute(tmp_path):
    marker = tmp_path / "pwned"
    text = f"a: !!python/object/apply:os.system ['touch {marker}']\n"
    problems_of(write(tmp_path, text))
    assert not marker.exists()


def test_billion_laughs_refused_quickly(tmp_path):
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    path = write(tmp_path, "\n".join(lines) + "\n")
    start = time.perf_counter()
    got = problems_of(path)
    assert time.perf_counter() - start < 2.0
    assert len(got) == 1 and f"aliases expand past {MAX_NODES:,} nodes" in got[0]


def test_file_over_5mb_refused_quickly(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_text("a: " + "x" * (5 * 1024 * 1024 + 10), encoding="utf-8")
    start = time.perf_counter()
    got = problems_of(path)
    assert time.perf_counter() - start < 2.0
    assert len(got) == 1 and "over the 5 MiB limit" in got[0]


def test_duplicate_id_across_files_names_both(tmp_path):
    write(tmp_path, VALID, "a.yaml")
    write(tmp_path, VALID.replace("masks/choose", "masks/other").replace(
        "masks/count", "masks/count2"), "b.yaml")
    bank = load_paths([tmp_path], against_builtin=False)
    messages = [str(p) for p in bank.problems]
    assert len(messages) == 1
    assert messages[0].startswith(f"{tmp_path / 'b.yaml'}:4:9: duplicate id 'masks/causal'")
    assert messages[0].endswith(f"also defined at {tmp_path / 'a.yaml'}:4")
    # the broken file is skipped whole; the good one stays
    assert sorted(bank.questions) == ["masks/causal", "masks/choose", "masks/count"]


def test_unknown_demo_and_bad_demo_args(tmp_path):
    text = VALID.replace(
        "    answer: It stops a position from attending to later positions.\n",
        "    answer: It stops a position from attending to later positions.\n"
        "    demo: {name: maks, args: {}}\n").replace(
        "    answer: The padding mask.\n",
        "    answer: The padding mask.\n    demo: {name: masks, args: {n: 100000, colour: 1}}\n")
    got = problems_of(write(tmp_path, text))
    assert any("8:18: unknown demo 'maks'; did you mean 'masks'?" in g for g in got), got
    assert any("option n: 100,000 is above the largest allowed value 32" in g for g in got), got
    assert any("demo 'masks' has no option 'colour'" in g for g in got), got


def test_user_file_may_extend_an_existing_topic(tmp_path):
    write(tmp_path, VALID, "a.yaml")
    extra = VALID.split("questions:")[0] + "questions:\n" + """\
  - id: masks/extra
    kind: recall
    prompt: Another one?
    answer: Yes.
"""
    write(tmp_path, extra.replace("title: Masks", "title: More masks"), "b.yaml")
    bank = load_paths([tmp_path], against_builtin=False)
    assert bank.problems == []
    assert len(bank.select(topics=["masks"])) == 4
    assert len(bank.topics["masks"].files) == 2
