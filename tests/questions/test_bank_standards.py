"""The bank's standards for 2025-26 interviews: size and mix, demos and primary sources,
an introduction line per topic, well-formed references, and answers in the bank's own words
(no run of ten words shared with the seed documents outside a quoted misconception)."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from tutor.bank import load_paths

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT.parent / "shared" / "seeds"   # beside a clone in CI; absent elsewhere
# a paper (a year), a model card or technical report, or official documentation
REFERENCE = re.compile(r"(19|20)\d\d|arXiv:\d{4}\.\d{4,5}|https?://|documentation|datasheet"
                       r"|model card|guide|docs|chapter|edition|\bed\.", re.IGNORECASE)


@pytest.fixture(scope="module")
def bank():
    return load_paths([ROOT / "questions"], against_builtin=False)


@pytest.fixture(scope="module")
def cards(bank):
    """The question cards (drills are exercises, counted apart)."""
    return [q for q in bank.questions.values() if q.kind != "drill"]


def test_at_least_350_questions_with_the_mix_of_kinds(cards):
    kinds = Counter(q.kind for q in cards)
    assert len(cards) >= 350, len(cards)
    assert kinds["numeric"] >= 80 and kinds["choice"] >= 70 and kinds["keypoints"] >= 45, kinds


def test_demos_and_primary_sources(cards):
    demo = sum(bool(q.demo) for q in cards) / len(cards)
    sourced = sum(bool(q.references) for q in cards) / len(cards)
    assert demo >= 0.65, f"{demo:.0%} link a demo"
    assert sourced >= 0.85, f"{sourced:.0%} cite a source"


def test_every_topic_has_an_introduction_line(bank):
    missing = [t.name for t in bank.topics.values() if not (t.description or "").strip()]
    assert missing == []


def test_references_are_well_formed(bank):
    bad = [(q.id, r) for q in bank.questions.values() for r in q.references
           if len(r) < 12 or not REFERENCE.search(r)]
    assert bad == []


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def _prose(run: str) -> bool:
    """A run of words, not a formula: most of its words are longer than two letters."""
    words = run.split()
    return sum(len(w) > 2 and not w.isdigit() for w in words) > len(words) / 2


@pytest.mark.skipif(not SEEDS.is_dir(), reason="the seed documents are in ../shared/seeds")
def test_no_run_of_ten_words_copied_from_the_seed_documents(bank):
    runs = set()
    for path in sorted(SEEDS.glob("*.txt")):
        words = _words(path.read_text(encoding="utf-8", errors="replace"))
        runs.update(" ".join(words[i:i + 10]) for i in range(len(words) - 9))
    copied = []
    for q in bank.questions.values():
        texts = [q.prompt, q.answer, *(kp.point for kp in q.points)]
        texts += [o.text for o in getattr(q, "options", [])]
        texts += [o.explanation for o in getattr(q, "options", [])]
        for text in texts:  # a misconception may quote the error it corrects
            words = _words(text)
            hits = {r for r in ({" ".join(words[i:i + 10]) for i in range(len(words) - 9)}
                                & runs) if _prose(r)}
            if hits:
                copied.append((q.id, sorted(hits)[0]))
    assert copied == []
