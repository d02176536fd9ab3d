"""The shipped JSON Schema: every built-in file is valid against it, and it knows the demo and
formula names and each demo's arguments, so an editor flags a typo. Strict ajv, when a local
install is found (AJV=path/to/ajv), checks the schema itself."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest
import yaml

from tutor.bank.schema import json_schema

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def validator():
    schema = json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_every_builtin_file_and_the_example_are_valid(validator):
    files = sorted((ROOT / "questions").glob("*.yaml")) + [ROOT / "examples/my-first-topic.yaml"]
    for f in files:
        errors = list(validator.iter_errors(yaml.safe_load(f.read_text(encoding="utf-8"))))
        assert errors == [], f"{f.name}: {errors[0].message}"


def _one(question: dict) -> dict:
    return {"topic": "t", "title": "T", "questions": [question]}


def test_a_misspelt_demo_or_option_is_flagged(validator):
    base = {"id": "t/a", "kind": "recall", "prompt": "p", "answer": "a"}
    assert validator.is_valid(_one({**base, "demo": {"name": "scaling", "args": {"d_k": [64]}}}))
    assert not validator.is_valid(_one({**base, "demo": {"name": "scalng"}}))
    assert not validator.is_valid(_one({**base, "demo": {"name": "scaling",
                                                         "args": {"dk": 64}}}))
    assert not validator.is_valid(_one({**base, "demo": {"name": "scaling",
                                                         "args": {"d_k": "big"}}}))
    numeric = {"id": "t/n", "kind": "numeric", "prompt": "{d_model}", "answer": "a",
               "vary": {"d_model": [768]}, "answer_from": {"name": "params.block_12d2"},
               "demo": {"name": "params", "args": {"d_model": "{d_model}"}}}
    assert validator.is_valid(_one(numeric))
    assert not validator.is_valid(_one({**numeric, "answer_from": {"name": "params.block12"}}))


def test_strict_ajv_accepts_the_schema_and_the_bank(tmp_path):
    ajv = os.environ.get("AJV") or shutil.which("ajv")
    if not ajv:
        pytest.skip("ajv-cli is not installed (npm install ajv-cli; AJV=...)")
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps(json_schema()), encoding="utf-8")
    r = subprocess.run([ajv, "compile", "--spec=draft2020", "--strict=true", "-s", str(schema)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    for f in sorted((ROOT / "questions").glob("*.yaml"))[:3]:
        r = subprocess.run([ajv, "validate", "--spec=draft2020", "--strict=true", "-s",
                            str(schema), "-d", str(f)], capture_output=True, text=True,
                           timeout=120)
        assert r.returncode == 0, r.stdout + r.stderr
