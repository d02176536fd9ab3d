"""The rating step at a terminal: the checklist the user can correct, and Easy lowered."""

from __future__ import annotations

import io
import random

from rich.console import Console

from tutor.kinds.base import Graded
from tutor.scheduling import Grade
from tutor.session.loop import Card, QuizOptions, Session


class Typed:
    """A terminal that types the given lines."""

    interactive = True

    def __init__(self, *lines: str) -> None:
        self.lines = list(lines)
        self.line_no = 0

    def read(self, prompt: str = "> ", multiline: bool = False) -> str | None:
        return self.lines.pop(0) if self.lines else None

    def where(self) -> str:
        return "terminal"


class Q:
    id = "t/q"
    kind = "keypoints"
    topic = "t"
    hint = None
    demo = None


def card(*lines: str) -> Card:
    out = Console(file=io.StringIO(), width=80)
    session = Session(QuizOptions(), None, None, None, Typed(*lines), out, random.Random(0))
    return Card(session, Q(), 1, 1)


def graded(covered: list[str], missed: list[str]) -> Graded:
    return Graded(None, len(covered) / (len(covered) + len(missed)), "", covered=covered,
                  missed=missed, suggested=Grade.hard)


def test_checklist_accepts_the_guess_with_enter():
    g = card("").checklist(graded(["a", "b"], ["c"]), ["a", "b", "c"])
    assert g.covered == ["a", "b"] and g.suggested == Grade.good


def test_checklist_toggles_points_and_the_suggestion_follows():
    g = card("3", "").checklist(graded(["a"], ["b", "c"]), ["a", "b", "c"])
    assert g.covered == ["a", "c"] and g.score == 2 / 3 and g.suggested == Grade.good
    g = card("1 2", "").checklist(graded(["a", "b"], ["c"]), ["a", "b", "c"])
    assert g.covered == [] and g.suggested == Grade.again


def test_a_fast_right_answer_suggests_easy_which_can_be_lowered():
    right = Graded(True, 1.0, "Right.", suggested=Grade.good)
    assert card("").auto_rating(right, fast_ms=60_000) == Grade.easy
    assert card("3").auto_rating(right, fast_ms=60_000) == Grade.good
    assert card("2").auto_rating(right, fast_ms=60_000) == Grade.hard
    slow = card()
    slow.started -= 120
    assert slow.auto_rating(right, fast_ms=60_000) == Grade.good
    hinted = card()
    hinted.helped = True
    assert hinted.auto_rating(right, fast_ms=60_000) == Grade.good


def test_a_wrong_answer_keeps_partial_credit_below_good():
    nearly = Graded(False, 0.8, "Nearly", suggested=Grade.hard)
    assert card().auto_rating(nearly, fast_ms=10_000) == Grade.hard
    wrong = Graded(False, 0.0, "No", suggested=Grade.good)  # never Good when wrong
    assert card().auto_rating(wrong, fast_ms=10_000) == Grade.again


def test_the_rating_prompt_previews_the_interval_of_each_rating(tmp_path, monkeypatch):
    from datetime import UTC, datetime

    from fsrs import Card as FsrsCard
    from fsrs import Rating, Scheduler

    from tutor import scheduling
    from tutor.format import interval
    from tutor.store import Store

    monkeypatch.setenv("TUTOR_HOME", str(tmp_path))
    now = datetime(2025, 3, 1, 9, tzinfo=UTC)
    store = Store(tmp_path / "progress.db")
    lines = Typed("3")
    out = Console(file=io.StringIO(), width=200)
    session = Session(QuizOptions(), store, scheduling.make_scheduler(), lambda: now, lines,
                      out, random.Random(0))
    prompts = []
    lines.read = lambda prompt="> ", multiline=False: (prompts.append(prompt), "3")[1]
    assert Card(session, Q(), 1, 1).rating() == Grade.good
    ref = Scheduler(enable_fuzzing=False)
    expected = []
    for r in Rating:
        c, _ = ref.review_card(FsrsCard(card_id=scheduling.card_id_for(Q.id), due=now), r,
                               review_datetime=now)
        shown = interval((c.due - now).total_seconds())
        expected.append(f"{r.value} {Grade(r.value).name} {shown}")
    assert prompts[0].startswith("rate " + " · ".join(expected))
    assert "1 again 1m" in prompts[0] and "3 good 10m" in prompts[0]
    store.close()
