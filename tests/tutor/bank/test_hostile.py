"""Hostile and odd question files: each is skipped with a file:line problem, in bounded
time, while every other file still loads; and YAML is read as editors read it (1.2)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from tutor.bank import core, load_bank, load_file, load_paths
from tutor.bank.index import CACHE_NAME, load_index
from tutor.bank.yamlsafe import MAX_CHARS, MAX_DEPTH, MAX_NODES, parse
from tutor.paths import tutor_home

GOOD = """\
topic: good
title: Good
questions:
  - {id: good/one, kind: recall, prompt: One?, answer: One.}
"""
ONE = """\
topic: t
title: T
questions:
  - id: t/q
    kind: recall
    prompt: p
    answer: a
    difficulty: {}
"""


def at(text: str, line: int, needle: str) -> str:
    """'line:column' of the first `needle` on a 1-based line of `text`."""
    return f"{line}:{text.splitlines()[line - 1].index(needle) + 1}"


def problems_of(path: Path) -> list[str]:
    parsed, problems = load_file(path)
    assert (parsed is None) == bool(problems)
    return [f"{p.line}:{p.column}: {p.message}" for p in problems]


def write(root: Path, name: str, text: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    path = root / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("value, message", [
    ("!!int abc", "8:17: !!int 'abc' is not a whole number"),
    ("!!float x", "8:17: !!float 'x' is not a number"),
    ("!!bool maybe", "8:17: !!bool 'maybe' is not true or false"),
    ("!!int 0x", "8:17: !!int '0x' is not a whole number"),
    ("1" * 4400, "8:17: a number with 4,400 digits"),
    # the file, `questions` and the question are 3 levels: the 62nd `[` is one too many
    ("[" * 500 + "]" * 500, f"8:{17 + MAX_DEPTH - 3}: nesting deeper than {MAX_DEPTH} levels"),
])
def test_a_bad_value_is_one_problem_and_the_rest_of_the_bank_loads(tmp_path, value, message):
    bad = write(tmp_path / "bank", "bad.yaml", ONE.format(value))
    write(tmp_path / "bank", "good.yaml", GOOD)
    got = problems_of(bad)
    assert len(got) == 1 and got[0].startswith(message), got
    bank = load_bank([tmp_path / "bank"], builtin=False)
    assert list(bank.questions) == ["good/one"]
    assert [p.path for p in bank.problems] == [str(bad)]


def test_deep_block_nesting_is_refused_before_it_is_built(tmp_path):
    text = "topic: t\ntitle: T\nquestions:\n" + "".join("  " * i + "-\n" for i in range(1, 900))
    got = problems_of(write(tmp_path, "deep.yaml", text))
    assert len(got) == 1 and f"nesting deeper than {MAX_DEPTH} levels" in got[0]


def test_one_long_text_aliased_many_times_is_refused_quickly(tmp_path):
    big = "y" * 100_000
    text = ("topic: t\ntitle: T\nquestions:\n  - id: t/q1\n    kind: recall\n    prompt: p\n"
            f"    answer: &big {big}\n    tags: [" + ", ".join(["*big"] * 100) + "]\n")
    start = time.perf_counter()
    got = problems_of(write(tmp_path, "quad.yaml", text))
    assert time.perf_counter() - start < 2.0
    # the anchor and n aliases hold (n + 1) * 100,000 characters: over MAX_CHARS at the
    # n-th alias, n = MAX_CHARS // 100,000; each `*big, ` is 6 characters from column 12
    n = MAX_CHARS // 100_000
    assert got == [f"8:{12 + 6 * (n - 1)}: aliases expand past 5 MiB of "
                   "text; write the values out instead of repeating long aliases"]


def test_many_plain_values_are_refused_early_and_not_blamed_on_aliases(tmp_path):
    text = ("topic: t\ntitle: T\nquestions:\n  - id: t/q1\n    kind: recall\n    prompt: p\n"
            "    answer: a\n    tags: [" + ",".join(["1"] * (MAX_NODES + 10)) + "]\n")
    start = time.perf_counter()
    got = problems_of(write(tmp_path, "many.yaml", text))
    assert time.perf_counter() - start < 5.0
    assert len(got) == 1 and f"more than {MAX_NODES:,} values in one file" in got[0], got


def test_values_are_read_as_yaml_1_2_like_editors():
    data = parse("a: 1e3\nb: yes\nc: 0777\nd: 1_000\ne: .inf\nf: 0x1F\ng: 0o17\nh: off\n"
                 "i: 2020-01-01\nj: ~\nk: 'true'\nl: !!float 3\nm: +12\n").data
    assert data == {"a": 1000.0, "b": "yes", "c": 777, "d": "1_000", "e": float("inf"),
                    "f": 31, "g": 15, "h": "off", "i": "2020-01-01", "j": None, "k": "true",
                    "l": 3.0, "m": 12}
    assert type(data["a"]) is float and type(data["c"]) is int


def test_numeric_args_in_exponent_form_are_numbers(tmp_path):
    path = write(tmp_path, "p.yaml", """\
topic: p1
title: P1
questions:
  - id: p1/emb
    kind: numeric
    prompt: How many parameters does an embedding of {vocab} tokens at width {d_model} hold?
    answer: vocab x d_model
    answer_from: {name: params.embedding_table, args: {d_model: 1e3}}
    vary: {vocab: [32000]}
""")
    (qfile, _), problems = load_file(path)
    assert problems == []
    assert qfile.questions[0].answer_from.args == {"d_model": 1000.0}


def test_yes_no_where_true_false_is_expected_asks_for_true_or_false(tmp_path):
    path = write(tmp_path, "c.yaml", """\
topic: c
title: C
questions:
  - id: c/q
    kind: choice
    prompt: Yes or no?
    answer: Yes.
    options:
      - {text: yes, correct: yes, explanation: right}
      - {text: no, correct: no, explanation: wrong}
""")
    assert problems_of(path) == [
        "9:30: correct: 'yes' is text in YAML 1.2, not true/false; write true or false",
        "10:29: correct: 'no' is text in YAML 1.2, not true/false; write true or false"]
    fixed = path.read_text().replace("correct: yes", "correct: true").replace(
        "correct: no", "correct: false")
    (qfile, _), problems = load_file(write(tmp_path, "c.yaml", fixed))
    assert problems == [] and [o.text for o in qfile.questions[0].options] == ["yes", "no"]


def test_true_where_text_is_expected_asks_for_quotes(tmp_path):
    text = GOOD.replace("answer: One.", "answer: true")
    assert problems_of(write(tmp_path, "t.yaml", text)) == [
        f'{at(text, 4, "true")}: answer: true is read as true/false here; quote it ("true") '
        'if you mean the text']


@pytest.mark.parametrize("text, line, needle, expected", [
    (GOOD + "~: x\n", 5, "~", "key null is not text"),
    (GOOD.replace("answer: One.}", "answer: One., 1: x}"), 4, "1: x", "key 1 is not text"),
    ("---\n", 1, "-", "file is empty"),
])
def test_keys_that_are_not_text_and_empty_documents(tmp_path, text, line, needle, expected):
    got = problems_of(write(tmp_path, "k.yaml", text))
    assert len(got) == 1 and got[0].startswith(f"{at(text, line, needle)}: {expected}"), got


def test_a_range_with_max_below_min_says_so_and_nothing_else(tmp_path):
    path = write(tmp_path, "r.yaml", """\
topic: t
title: T
questions:
  - {id: t/q, kind: numeric, prompt: "{n}", answer: a, vary: {n: {min: 5, max: 1}}, answer_from: {name: masks.causal_pairs}}
""")  # noqa: E501
    got = problems_of(path)
    assert len(got) == 1 and "max=1 is below min=5" in got[0] and "list" not in got[0], got


def test_files_that_are_not_text(tmp_path):
    elf = tmp_path / "bin.yaml"
    raw = b"\x7fELF\x02\x01\x01\x00" + bytes(range(256))
    elf.write_bytes(raw)
    first = raw.index(0x80)  # the first byte that is not UTF-8; 0x0a before it ends line 1
    line, col = raw[:first].count(b"\n") + 1, first - raw[:first].rindex(b"\n")
    assert problems_of(elf) == [f"{line}:{col}: not UTF-8 text (byte 0x80); save the file as "
                                "UTF-8"]
    folder = tmp_path / "dir.yaml"
    folder.mkdir()
    assert load_paths([folder], against_builtin=False).problems[0].message == \
        "no .yaml or .yml files here"
    assert problems_of(folder) == ["1:1: is a directory, not a question file"]


def test_special_entries_are_reported_not_skipped_silently(tmp_path):
    bank = tmp_path / "bank"
    write(bank, "good.yaml", GOOD)
    write(bank, "UPPER.YAML", GOOD.replace("good", "upper"))
    write(bank, ".tutor-new-x1y2.yaml", GOOD)  # an editor's or `tutor new`'s temporary file
    os.mkfifo(bank / "fifo.yaml")
    (bank / "loop.yaml").symlink_to(bank / "loop2.yaml")
    (bank / "loop2.yaml").symlink_to(bank / "loop.yaml")
    start = time.perf_counter()
    loaded = load_bank([bank], builtin=False)
    assert time.perf_counter() - start < 5.0  # the FIFO is never opened for reading
    assert sorted(loaded.questions) == ["good/one", "upper/one"]
    assert sorted((Path(p.path).name, p.line) for p in loaded.problems) == [
        ("fifo.yaml", 1), ("loop.yaml", 1), ("loop2.yaml", 1)]
    assert all("not a regular file" in p.message for p in loaded.problems)
    assert problems_of(bank / "fifo.yaml") == [
        "1:1: is not a regular file (a FIFO, socket or device); a question file is plain text"]


def test_an_unreadable_directory_is_named(tmp_path, monkeypatch):
    bank = tmp_path / "bank"
    write(bank, "good.yaml", GOOD)
    write(bank / "hidden", "q.yaml", GOOD.replace("good", "hidden"))
    scandir = os.scandir

    def refuse(path):
        if Path(path).name == "hidden":
            raise PermissionError(13, "Permission denied")
        return scandir(path)

    monkeypatch.setattr(core.os, "scandir", refuse)
    loaded = load_bank([bank], builtin=False)
    assert list(loaded.questions) == ["good/one"]
    assert [str(p) for p in loaded.problems] == [
        f"{bank / 'hidden'}:0:0: cannot read this directory (Permission denied); the "
        "questions in it are skipped"]


def test_a_huge_tree_is_cut_short_with_a_message(tmp_path, monkeypatch):
    monkeypatch.setattr(core, "MAX_ENTRIES", 50)
    for i in range(80):
        (tmp_path / "tree" / f"d{i:02d}").mkdir(parents=True)
    write(tmp_path / "tree", "a.yaml", GOOD)
    loaded = load_bank([tmp_path / "tree"], builtin=False)
    assert any("more than 50 entries under this directory" in p.message
               for p in loaded.problems)


def test_a_check_that_crashes_skips_only_its_file(tmp_path, monkeypatch):
    from tutor.bank import loader

    write(tmp_path / "bank", "a.yaml", GOOD)
    write(tmp_path / "bank", "b.yaml", GOOD.replace("good", "bad"))
    real = loader.load_file

    def flaky(path):
        if path.name == "b.yaml":
            raise RuntimeError("boom")
        return real(path)

    monkeypatch.setattr(loader, "load_file", flaky)
    loaded = load_bank([tmp_path / "bank"], builtin=False)
    assert list(loaded.questions) == ["good/one"]
    assert len(loaded.problems) == 1 and loaded.problems[0].line == 1
    assert "(RuntimeError: boom)" in loaded.problems[0].message


@pytest.mark.parametrize("junk", ["[]", "null", '"x"', '{"key": 1}', "{not json"])
def test_a_damaged_index_cache_is_a_miss(tmp_path, junk):
    write(tmp_path / "bank", "a.yaml", GOOD)
    load_index([tmp_path / "bank"])
    cache = tutor_home() / "cache" / CACHE_NAME
    cache.write_text(junk, encoding="utf-8")
    assert "good/one" in load_index([tmp_path / "bank"]).questions
    rebuilt = json.loads(cache.read_text(encoding="utf-8"))
    assert "good/one" in {q["id"] for q in rebuilt["questions"]}


def test_an_edit_that_keeps_size_and_mtime_still_refreshes_the_index(tmp_path):
    path = write(tmp_path / "bank", "a.yaml", GOOD.replace("One?", "old1"))
    assert load_index([tmp_path / "bank"]).questions["good/one"].prompt == "old1"
    st = path.stat()
    time.sleep(0.01)
    path.write_text(GOOD.replace("One?", "new2"), encoding="utf-8")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert path.stat().st_size == st.st_size and path.stat().st_mtime_ns == st.st_mtime_ns
    assert load_index([tmp_path / "bank"]).questions["good/one"].prompt == "new2"


def test_a_value_that_fits_no_branch_of_a_union_is_still_reported(tmp_path):
    path = write(tmp_path, "n.yaml", """\
topic: t
title: T
questions:
  - {id: t/q, kind: numeric, prompt: "{n}", answer: a, vary: {n: &empty }, answer_from: {name: masks.causal_pairs}}
""")  # noqa: E501
    got = problems_of(path)
    assert len(got) == 1 and got[0].startswith("4:") and "vary.n" in got[0], got
