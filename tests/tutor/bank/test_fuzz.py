"""The fuzz corpus (fuzz_corpus.py, about 560 malformed files) through the loader and the
command line: never an exception, an internal error or a traceback; every problem names
its file and line; a bad file never stops the others from loading."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.tutor.bank.fuzz_corpus import corpus
from tutor.bank import load_bank, load_file

ROOT = Path(__file__).resolve().parents[3]
GOOD = """\
topic: fuzz-good
title: Good
questions:
  - {id: fuzz-good/one, kind: recall, prompt: One?, answer: One.}
"""
CASES = corpus()
# a sample for the slow, one-process-per-file route: one of each family
SAMPLE = ["deep-flow-1000", "alias-quadratic-10000x2000", "tag-19", "control-raw-001b",
          "enc-utf16-bom", "wrong-choice.options.correct-01"]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("fuzz")
    for name, content in CASES:
        (root / f"{name}.yaml").write_bytes(content)
    (root / "zz-good.yaml").write_text(GOOD, encoding="utf-8")
    return root


def test_the_corpus_is_a_few_hundred_cases_of_every_family():
    families = {name.split("-")[0] for name, _ in CASES}
    assert {"truncate", "flip", "tag", "deep", "alias", "control", "enc", "binary", "huge",
            "wrong"} <= families
    assert 300 <= len(CASES) <= 1000
    assert len({name for name, _ in CASES}) == len(CASES)


def test_every_case_gives_problems_with_a_line_never_an_exception(corpus_dir):
    worst = 0.0
    for name, _ in CASES:
        path = corpus_dir / f"{name}.yaml"
        start = time.perf_counter()
        parsed, problems = load_file(path)  # raises nothing, whatever the file holds
        worst = max(worst, time.perf_counter() - start)
        assert (parsed is None) == bool(problems), name
        for p in problems:
            assert p.path == str(path) and p.line >= 1 and p.column >= 1, (name, p)
            assert p.message and "\n" not in p.message, (name, p)
    assert worst < 10.0  # a hang detector, not a speed target (see benchmarks/)


def test_the_whole_corpus_as_one_bank_keeps_the_good_file(corpus_dir):
    bank = load_bank([corpus_dir], builtin=False)
    assert "fuzz-good/one" in bank.questions
    bad = {Path(p.path).name for p in bank.problems}
    assert "zz-good.yaml" not in bad
    assert all(p.line >= 1 for p in bank.problems)


def _tutor(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    import resource

    def limit_memory() -> None:  # 2 GiB of address space: a blow-up fails, it cannot swap
        resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))

    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1", "COLUMNS": "100"}
    return subprocess.run([sys.executable, "-m", "tutor", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, errors="replace", timeout=timeout,
                          preexec_fn=limit_memory)


def _clean(result: subprocess.CompletedProcess) -> None:
    assert result.returncode in (0, 1, 2), result.stderr[-2000:]
    for stream in (result.stdout, result.stderr):
        assert "Traceback" not in stream and "internal error" not in stream, stream[-2000:]


def test_validate_the_corpus_names_file_and_line_for_every_problem(corpus_dir):
    result = _tutor("validate", str(corpus_dir))
    _clean(result)
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    where = re.compile(re.escape(str(corpus_dir)) + r"/[^:]+\.yaml:\d+:\d+: \S")
    assert all(where.match(line) for line in lines[:-1]), \
        [line for line in lines[:-1] if not where.match(line)][:5]
    assert re.fullmatch(r"\d+ problem\(s\) in \d+ of \d+ file\(s\)", lines[-1])
    named = {Path(line.split(".yaml:")[0] + ".yaml").name for line in lines[:-1]}
    rejected = {f"{name}.yaml" for name, _ in CASES if load_file(corpus_dir / f"{name}.yaml")[1]}
    assert rejected <= named  # every rejected case is named (duplicate ids add the others)


@pytest.mark.parametrize("name", SAMPLE)
def test_validate_one_file(corpus_dir, name):
    path = corpus_dir / f"{name}.yaml"
    result = _tutor("validate", str(path))
    _clean(result)
    expected = load_file(path)[1]
    assert result.returncode == (1 if expected else 0)
    assert [line for line in result.stderr.splitlines() if line.startswith(str(path))] == \
        [str(p) for p in expected]


def test_list_with_the_corpus_as_a_bank_warns_per_file_and_lists_the_good_one(corpus_dir):
    result = _tutor("--bank", str(corpus_dir), "list", "--topic", "fuzz-good", "--json")
    _clean(result)
    assert result.returncode == 0
    assert '"fuzz-good/one"' in result.stdout
    warning = re.compile(r"warning: " + re.escape(str(corpus_dir)) +
                         r"/[^:]+\.yaml:\d+:\d+: .+ \(file skipped\)")
    lines = result.stderr.splitlines()
    assert lines and all(warning.fullmatch(line) for line in lines), \
        [line for line in lines if not warning.fullmatch(line)][:5]
