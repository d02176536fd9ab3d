"""The cached bank index agrees with a full load and is rebuilt when any file changes."""

import os

from tutor.bank import load_bank
from tutor.bank.index import CACHE_NAME, load_index
from tutor.paths import tutor_home

FILE = """\
topic: idx
title: Index
questions:
  - id: idx/one
    kind: recall
    prompt: One?
    answer: One.
    tags: [attention]
"""


def test_index_matches_full_load_and_is_cached(tmp_path):
    bank_dir = tmp_path / "bank"
    bank_dir.mkdir()
    (bank_dir / "idx.yaml").write_text(FILE, encoding="utf-8")
    full = load_bank([bank_dir])
    index = load_index([bank_dir])
    assert {q.id: (q.topic, q.kind, tuple(q.tags)) for q in full.questions.values()} == \
        {q.id: (q.topic, q.kind, q.tags) for q in index.questions.values()}
    assert index.topics == full.topics
    cache = tutor_home() / "cache" / CACHE_NAME
    stamp = cache.stat().st_mtime_ns
    assert len(load_index([bank_dir]).questions) == len(full.questions)
    assert cache.stat().st_mtime_ns == stamp  # served from the cache


def test_index_rebuilt_when_a_file_changes(tmp_path):
    bank_dir = tmp_path / "bank"
    bank_dir.mkdir()
    path = bank_dir / "idx.yaml"
    path.write_text(FILE, encoding="utf-8")
    assert "idx/one" in load_index([bank_dir]).questions
    path.write_text(FILE.replace("idx/one", "idx/two"), encoding="utf-8")
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    index = load_index([bank_dir])
    assert "idx/two" in index.questions and "idx/one" not in index.questions
    (bank_dir / "broken.yaml").write_text("topic: [\n", encoding="utf-8")
    problems = [str(p) for p in load_index([bank_dir]).problems]
    assert any("broken.yaml:2:1: not valid YAML" in p for p in problems)
