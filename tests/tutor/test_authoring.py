"""`tutor new` driven through stdin: the file it writes validates and keeps what was there."""

import pytest
import yaml
from typer.testing import CliRunner

from tutor.bank import load_file
from tutor.cli import app

runner = CliRunner()

EXISTING = """\
# My own questions. This comment must survive.
topic: mine
title: Mine
questions:
  # the first question
  - id: mine/first
    kind: recall
    prompt: First?
    answer: Yes.  # trailing comment
# a comment after the list
"""


def new(*args, input: str):
    return runner.invoke(app, ["new", *args], input=input)


def test_new_choice_question_in_a_new_file(tmp_path):
    path = tmp_path / "bank" / "masks-mine.yaml"
    answers = ["choice", "masks-mine", "My masks", "Which mask hides the future?",
               "The causal mask.", "Causal", "y", "It hides later positions.",
               "Padding", "n", "It hides pad tokens only.", "", "", "1", "masks, causal",
               "masks", "n=6", ""]
    r = new("--file", str(path), input="\n".join(answers) + "\n")
    assert r.exit_code == 0, r.stderr
    assert "added masks-mine/which-mask-hides-future" in r.stdout
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# yaml-language-server: $schema=./tutor-schema.json\n")
    (qfile, _), problems = load_file(path)
    assert problems == []
    (q,) = qfile.questions
    assert q.correct_letters == "A" and q.tags == ["masks", "causal"]
    assert q.demo.name == "masks" and q.demo.args == {"n": 6}
    assert (path.parent / "tutor-schema.json").exists()


def test_new_question_appended_keeps_comments(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text(EXISTING, encoding="utf-8")
    answers = ["order", "Order the steps.\\nAll of them.", "Like this.", "one", "two", "three",
               "", "", "", "", "", "mine/steps"]
    r = new("--file", str(path), input="\n".join(answers) + "\n")
    assert r.exit_code == 0, r.stderr
    text = path.read_text(encoding="utf-8")
    assert text.startswith(EXISTING.split("# a comment after the list")[0])
    for comment in ("# My own questions. This comment must survive.", "# the first question",
                    "# trailing comment", "# a comment after the list"):
        assert comment in text
    data = yaml.safe_load(text)
    assert [q["id"] for q in data["questions"]] == ["mine/first", "mine/steps"]
    assert data["questions"][1]["steps"] == ["one", "two", "three"]
    assert data["questions"][1]["prompt"] == "Order the steps.\nAll of them."
    assert load_file(path)[1] == []


def test_new_numeric_question(tmp_path):
    path = tmp_path / "num.yaml"
    answers = ["numeric", "nums", "Numbers", "How many weights for d_model = {d_model}?",
               "12 d^2.", "params.block_12d2", "d_model=768 1024", "", "0.01", "params",
               "", "", "", "", ""]
    r = new("--file", str(path), input="\n".join(answers) + "\n")
    assert r.exit_code == 0, r.stderr
    (qfile, _), problems = load_file(path)
    (q,) = qfile.questions
    assert q.choices() == {"d_model": [768, 1024]} and q.tolerance == 0.01


def test_invalid_question_is_not_written(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text(EXISTING, encoding="utf-8")
    answers = ["recall", "Prompt?", "Answer.", "", "", "2", "", "no-such-demo", "", "mine/x"]
    r = new("--file", str(path), input="\n".join(answers) + "\n")
    assert r.exit_code == 2  # checked as it is typed: from a pipe, a usage error
    assert "no demo 'no-such-demo'" in r.stderr and "Traceback" not in r.stderr
    assert path.read_text(encoding="utf-8") == EXISTING


def test_input_ending_early_writes_nothing(tmp_path):
    path = tmp_path / "mine.yaml"
    r = new("--file", str(path), "--kind", "recall", "--topic", "mine", input="Title\n")
    assert r.exit_code == 1
    assert r.stderr.strip() == ("error: input ended before the question was complete; "
                                "nothing was written")
    assert not path.exists()


def test_default_file_is_in_the_user_bank_and_is_loaded(tmp_path, monkeypatch):
    answers = ["recall", "home-topic", "Home", "Where am I?", "Home.", "", "", "2", "", "", ""]
    r = new(input="\n".join(answers) + "\n")
    assert r.exit_code == 0, r.stderr
    r = runner.invoke(app, ["list", "--topic", "home-topic", "--json"])
    assert r.exit_code == 0 and '"home-topic/where-am-i"' in r.stdout


def test_bad_answers_are_asked_again_at_a_terminal_keeping_what_was_typed(tmp_path):
    from tutor.authoring import run_wizard

    typed = iter(["T", "Prompt?", "Answer.", "", "", "abc", "7", "2", "", "scalng",
                  "scaling", "d_k=[1,2", "d_k=64", "wiz/q"])
    said = []
    qid, path = run_wizard(lambda text, default=None: next(typed) or (default or ""),
                           said.append, file=tmp_path / "wiz.yaml", kind="recall",
                           topic="wiz", bank_ids=set(), interactive=True)
    text = path.read_text(encoding="utf-8")
    assert qid == "wiz/q" and "Prompt?" in text and "d_k: 64" in text
    assert any("difficulty must be 1, 2 or 3" in s for s in said)
    assert any("did you mean 'scaling'" in s for s in said)
    assert any("not a number, text or [list]" in s for s in said)


def test_writing_keeps_mode_symlink_and_line_ends_and_leaves_no_temp_file(tmp_path):
    import os
    import stat

    real = tmp_path / "real.yaml"
    real.write_bytes(EXISTING.replace("\n", "\r\n").encode())
    os.chmod(real, 0o664)
    link = tmp_path / "link.yaml"
    link.symlink_to(real)
    answers = ["Prompt?", "Answer.", "", "", "2", "", "", "mine/y"]
    r = new("--file", str(link), "--kind", "recall", input="\n".join(answers) + "\n")
    assert r.exit_code == 0, r.stderr
    assert link.is_symlink() and stat.S_IMODE(real.stat().st_mode) == 0o664
    data = real.read_bytes()
    assert b"mine/y" in data and data.count(b"\r\n") == data.count(b"\n")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".tutor-new")] == []


@pytest.mark.parametrize("answers, message", [
    (["T", "p", "a", "", "", "abc"], "difficulty must be 1, 2 or 3"),
    (["T", "p", "a", "", "", "2", "", "scaling", "d_k=!!python/object/apply:os.system [ls]"],
     "tags and aliases are not values"),
])
def test_bad_piped_answers_are_usage_errors_naming_the_field(tmp_path, answers, message):
    r = new("--file", str(tmp_path / "w.yaml"), "--kind", "recall", "--topic", "w",
            input="\n".join(answers) + "\n")
    assert r.exit_code == 2 and message in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "w.yaml").exists()
