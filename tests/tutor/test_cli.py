"""The bank commands through the real CLI: output, JSON, and every error path."""

import json

import pytest
from typer.testing import CliRunner

from tutor.cli import app

runner = CliRunner()

USER_BANK = """\
topic: mytopic
title: My topic
aliases: [mine]
questions:
  - id: mytopic/one
    kind: recall
    prompt: What is one?
    answer: One is one.
    tags: [explain]
    asked_in: [topicwise/q01]
  - id: mytopic/two
    kind: order
    prompt: Order these.
    answer: First, then second.
    steps: [first, second]
    demo: {name: masks, args: {n: 6}}
"""


@pytest.fixture
def user_bank(tmp_path):
    d = tmp_path / "bank"
    d.mkdir()
    (d / "mine.yaml").write_text(USER_BANK, encoding="utf-8")
    return d


def run(*args):
    return runner.invoke(app, list(args))


def test_version():
    from tutor import __version__

    r = run("--version")
    assert r.exit_code == 0 and r.stdout.strip() == f"tutor {__version__}"


def test_help_lists_commands_with_examples():
    r = run("--help")
    assert r.exit_code == 0
    for cmd in ("topics", "list", "show", "validate", "schema", "demo"):
        assert cmd in r.stdout
    for cmd in ("topics", "list", "show", "validate", "schema", "demo"):
        assert "Example" in run(cmd, "--help").stdout or cmd == "demo"


def test_list_json_has_stable_keys(user_bank):
    r = run("--bank", str(user_bank), "list", "--topic", "mine", "--json")
    assert r.exit_code == 0, r.stderr
    rows = json.loads(r.stdout)
    assert [row["id"] for row in rows] == ["mytopic/one", "mytopic/two"]
    for row in rows:
        assert {"id", "topic", "kind", "prompt", "difficulty", "demo"} <= set(row)
    assert rows[1]["demo"] == {"name": "masks", "args": {"n": 6}}


def test_list_filters(user_bank, monkeypatch):
    monkeypatch.setenv("TUTOR_BANK", str(user_bank))
    assert [q["id"] for q in json.loads(run("list", "--kind", "order", "--json").stdout)
            if q["topic"] == "mytopic"] == ["mytopic/two"]
    assert [q["id"] for q in json.loads(run("list", "--tag", "explain", "--json").stdout)
            if q["topic"] == "mytopic"] == ["mytopic/one"]
    src = json.loads(run("list", "--source", "topicwise/q01", "--json").stdout)
    assert "mytopic/one" in [q["id"] for q in src]


def test_list_bad_options_exit_2(user_bank):
    r = run("--bank", str(user_bank), "list", "--kind", "essay")
    assert r.exit_code == 2
    assert r.stderr.strip() == ("error: --kind: 'essay' is not one of recall, choice, numeric, "
                                "keypoints, order, drill")
    r = run("--bank", str(user_bank), "list", "--topic", "mytopik")
    assert r.exit_code == 2 and "did you mean 'mytopic'?" in r.stderr


def test_show_text_and_json(user_bank):
    r = run("--bank", str(user_bank), "show", "mytopic/two")
    assert r.exit_code == 0
    assert "Steps in order" in r.stdout and "tutor demo masks --n 6" in r.stdout
    data = json.loads(run("--bank", str(user_bank), "show", "mytopic/two", "--json").stdout)
    assert data["steps"] == ["first", "second"] and data["topic"] == "mytopic"
    assert data["source"]["line"] == 11


def test_show_unknown_id(user_bank):
    r = run("--bank", str(user_bank), "show", "mytopic/tow")
    assert r.exit_code == 1
    assert r.stderr.strip() == ("error: no question with id 'mytopic/tow'; "
                                "did you mean 'mytopic/two'?")


def test_validate_ok_and_problems(user_bank, tmp_path):
    r = run("validate", str(user_bank))
    assert r.exit_code == 0 and r.stdout.startswith("ok: 1 file(s), 2 question(s)")
    bad = tmp_path / "bad.yaml"
    bad.write_text(USER_BANK.replace("kind: order", "kind: ordr"), encoding="utf-8")
    r = run("validate", str(bad))
    assert r.exit_code == 1
    lines = r.stderr.strip().splitlines()
    assert lines[0] == (f"{bad}:12:11: kind 'ordr' is not one of recall, choice, numeric, "
                        "keypoints, order, drill")
    assert lines[-1] == "1 problem(s) in 1 of 1 file(s)"


def test_validate_missing_path(tmp_path):
    r = run("validate", str(tmp_path / "nope"))
    assert r.exit_code == 1 and "no such file or directory" in r.stderr


def test_other_commands_skip_broken_files(user_bank):
    (user_bank / "broken.yaml").write_text("topic: [\n", encoding="utf-8")
    r = run("--bank", str(user_bank), "list", "--topic", "mytopic", "--json")
    assert r.exit_code == 0
    assert len(json.loads(r.stdout)) == 2
    assert "broken.yaml:2:1: not valid YAML" in r.stderr and "(file skipped)" in r.stderr


def test_schema_is_json_schema_and_validates_a_file():
    import jsonschema
    import yaml

    r = run("schema")
    schema = json.loads(r.stdout)
    assert schema["title"] == "tutor question file"
    jsonschema.validate(yaml.safe_load(USER_BANK), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"topic": "x", "title": "t", "questions": [{"kind": "recall"}]},
                            schema)


def test_topics_json(user_bank):
    rows = json.loads(run("--bank", str(user_bank), "topics", "--json").stdout)
    mine = next(r for r in rows if r["topic"] == "mytopic")
    assert mine == {"topic": "mytopic", "title": "My topic", "questions": 2, "aliases": ["mine"]}


def test_demo_listing_and_unknown_name():
    r = run("demo")
    assert r.exit_code == 0 and "scaling" in r.stdout and "kv-cache" in r.stdout
    r = run("demo", "scalng")
    assert r.exit_code == 2
    assert r.stderr.strip().startswith(
        "error: unknown demo or topic 'scalng'; did you mean 'scaling'")


def test_demo_option_bounds_exit_2():
    r = run("demo", "scaling", "--d-k", "99999")
    assert r.exit_code == 2
    assert r.stderr.strip() == ("error: --d-k: 99,999 is above the largest allowed value 16,384 "
                                "(it would need more memory or time than a demo should take)")
