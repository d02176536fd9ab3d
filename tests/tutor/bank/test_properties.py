"""Property tests: whatever the input, the loader reports problems; it never crashes."""

from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tutor.bank import load_file
from tutor.bank.loader import Problem

SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])

GOOD = {
    "topic": "masks",
    "title": "Masks",
    "questions": [
        {"id": "masks/a", "kind": "recall", "prompt": "p?", "answer": "a."},
        {"id": "masks/b", "kind": "choice", "prompt": "p?", "answer": "a.",
         "options": [{"text": "x", "correct": True, "explanation": "e"},
                     {"text": "y", "explanation": "e"}]},
        {"id": "masks/c", "kind": "order", "prompt": "p?", "answer": "a.",
         "steps": ["one", "two", "three"]},
    ],
}

scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.text(max_size=8),
                    st.floats(allow_nan=False, allow_infinity=False))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=4)),
    max_leaves=12)


def check(path: Path) -> None:
    parsed, problems = load_file(path)
    assert (parsed is None) == bool(problems)
    for p in problems:
        assert isinstance(p, Problem)
        assert p.path == str(path) and p.line >= 1 and p.column >= 1 and p.message


@SETTINGS
@given(text=st.text(max_size=300))
def test_any_text(tmp_path, text):
    path = tmp_path / "t.yaml"
    path.write_text(text, encoding="utf-8")
    check(path)


@SETTINGS
@given(data=values)
def test_any_yaml_document(tmp_path, data):
    path = tmp_path / "d.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    check(path)


@SETTINGS
@given(where=st.sampled_from([(), ("questions", 0), ("questions", 1),
                              ("questions", 1, "options", 0), ("questions", 2)]),
       key=st.sampled_from(["id", "kind", "prompt", "answer", "options", "steps", "topic",
                            "difficulty", "demo", "extra"]),
       value=values, delete=st.booleans())
def test_mutations_of_a_valid_file(tmp_path, where, key, value, delete):
    import copy

    doc = copy.deepcopy(GOOD)
    node = doc
    for part in where:
        node = node[part]
    if delete:
        node.pop(key, None)
    else:
        node[key] = value
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    check(path)
