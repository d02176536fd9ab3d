"""`tutor quiz`: ask each planned card through its kind, grade, schedule, save at once.

A session reads lines, from a terminal or from a pipe (the scriptable protocol
described in `tutor quiz --help`). A card kind presents and grades; this module
runs the two ways a card is asked (graded, or rated by the user with the
grader's suggestion), and every answered card goes to the store in one
transaction before the next card is shown.
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from tutor import scheduling
from tutor.errors import TutorError, UsageError
from tutor.grading.numbers import AnswerError
from tutor.scheduling import Grade
from tutor.session.io import COMMANDS, FOOTER, HoldBack, Lines, Quit, Skip, Undo, command

RELEARN_GAP = 3                          # other cards before a missed one comes back
MAX_AGAIN = 4                            # times one card comes back in a session


@dataclass
class QuizOptions:
    topics: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    count: int | None = None
    new_only: bool = False
    cram: bool = False
    interview_date: date | None = None
    seed: int | None = None
    new_limit: int | None = None
    as_json: bool = False
    now: datetime | None = None
    kinds: list[str] = field(default_factory=list)


@dataclass
class Asked:
    """What one card produced."""

    answer: str
    correct: bool | None
    grade: Grade
    values: dict[str, Any] | None = None
    expected: Any = None
    graded: Any = None


class Card:
    """One card on screen: the question, the session's tools, and what has been used."""

    def __init__(self, session: Session, q, number: int, total: int) -> None:
        self.s = session
        self.q = q
        self.number = number
        self.total = total
        self.rng = session.rng
        self.helped = False      # a hint or the demo was used: no Easy
        self.started = time.monotonic()
        self.fields: dict | None = None
        self.pres = None
        self.again = False       # asked again in this session after Again

    @property
    def interactive(self) -> bool:
        return self.s.lines.interactive

    # --- input -------------------------------------------------------------------------------
    def read(self, prompt: str = "> ", allow_empty: bool = True, multiline: bool = False) -> str:
        """The next answer line; runs :d, :h and ?, and raises Skip, Quit, Undo or HoldBack
        for :s, :q (or the end of input), :u, :b and :x."""
        from rich.text import Text

        while True:
            line = self.s.lines.read(prompt, multiline=multiline)
            if line is None:
                raise Quit
            cmd = command(line)
            if cmd == ":q":
                raise Quit
            if cmd == ":s":
                raise Skip
            if cmd == ":u":
                if self.s.can_undo():
                    raise Undo
                self.s.out.print(Text("Nothing to undo in this session yet.", style="yellow"))
                continue
            if cmd in (":b", ":x"):
                raise HoldBack(cmd)
            if cmd == "?":
                self.s.out.print(Text("  ".join(f"{k} {v}" for k, v in COMMANDS.items()),
                                      style="dim"))
                continue
            if cmd == ":h":
                self.helped = True
                hint = self.q.hint.strip() if self.q.hint else "No hint for this card."
                self.s.out.print(Text.assemble(("Hint: ", "yellow"), hint))
                continue
            if cmd == ":d":
                self.helped = True
                self.s.prove(self.q, self.fields)
                if self.pres is not None:  # the card again, so the demo and it are both in view
                    self.s.show(self, self.pres)
                continue
            if not allow_empty and not line.strip() and self.interactive:
                continue
            return line

    def parsed(self, parse: Callable[[str], Any], prompt: str = "> ") -> tuple[str, Any]:
        """An answer line and its parsed value. A line that cannot be read is asked again
        at a terminal; from a pipe it counts as wrong (value None) with a warning."""
        from rich.text import Text

        while True:
            line = self.read(prompt, allow_empty=False)
            try:
                return line, parse(line)
            except AnswerError as e:
                if self.interactive:
                    self.s.out.print(Text(str(e), style="red"))
                    continue
                from tutor.present.console import warn

                warn(f"{self.s.lines.where()}: {e}; counted as wrong")
                return line, None

    @property
    def elapsed_ms(self) -> int:
        return int((time.monotonic() - self.started) * 1000)

    # --- ratings -----------------------------------------------------------------------------
    def rating(self, suggested: Grade | None = None) -> Grade:
        from rich.text import Text

        preview = self.s.preview(self.q)
        choices = " · ".join(f"{g.value} {g.name}" + (f" {preview[g]}" if preview else "")
                             for g in Grade)
        prompt = f"rate {choices}" + (
            f" [Enter: {suggested.value} {suggested.name}]" if suggested else "") + " > "
        if not self.interactive:  # a script sees the choices too (a terminal shows the prompt)
            self.s.out.print(Text(prompt.removesuffix(" > "), style="dim"))
        while True:
            line = self.read(prompt)
            if not line.strip() and suggested is not None:
                return suggested
            grade = Grade.parse(line)
            if grade is not None:
                return grade
            if not self.interactive:
                raise UsageError(f"{self.s.lines.where()}: expected a rating 1-4 or "
                                 f"again/hard/good/easy, got {line.strip()!r}")
            self.s.out.print(Text("Type 1, 2, 3 or 4 (again, hard, good, easy).", style="red"))

    def auto_rating(self, graded, fast_ms: int | None) -> Grade:
        """The rating of a graded answer. A fast right answer suggests Easy, which the user
        may lower before it is saved (a lucky guess is not Easy)."""
        if not graded.correct:
            below = graded.suggested is not None and graded.suggested < Grade.good
            return graded.suggested if below else Grade.again
        easy = (self.interactive and not self.helped and fast_ms is not None
                and self.elapsed_ms < fast_ms)
        if not easy:
            return Grade.good
        preview = self.s.preview(self.q)
        shown = {g: f" {preview[g]}" if preview else "" for g in Grade}
        line = self.read(f"easy{shown[Grade.easy]} · Enter keeps it, or 2 hard{shown[Grade.hard]}"
                         f" · 3 good{shown[Grade.good]} to lower it > ")
        lowered = Grade.parse(line) if line.strip() else None
        return lowered if lowered in (Grade.hard, Grade.good, Grade.again) else Grade.easy

    def checklist(self, graded, points: list[str]):
        """Let the user correct the grader's guess, point by point (terminal only)."""
        from tutor.kinds.base import rating_for_coverage
        from tutor.present.quiz import checklist

        ticked = {i for i, p in enumerate(points, 1) if p in graded.covered}
        while True:
            self.s.out.print(checklist(points, ticked))
            line = self.read("Enter accepts · numbers toggle points (e.g. 2 3) > ")
            if not line.strip():
                break
            for word in line.replace(",", " ").split():
                if word.isdigit() and 1 <= int(word) <= len(points):
                    ticked ^= {int(word)}
        graded.covered = [p for i, p in enumerate(points, 1) if i in ticked]
        graded.missed = [p for i, p in enumerate(points, 1) if i not in ticked]
        graded.score = len(ticked) / len(points) if points else None
        if graded.score is not None:
            graded.suggested = rating_for_coverage(graded.score, bool(graded.flags))
        return graded


# --- the two ways a card is asked -------------------------------------------------------------

def ask_graded(card: Card, kind) -> Asked:
    """Choice, numeric, order: the answer is graded; the rating follows."""
    from tutor.kinds.base import Graded

    q = card.q
    pres = kind.present(q, card.rng)
    card.fields, card.pres = pres.fields, pres
    card.s.show(card, pres)
    answer, graded = card.parsed(lambda t: kind.grade(q, pres, t), pres.input_prompt)
    if graded is None:
        expected = pres.data.get("expected")
        graded = Graded(False, 0.0, "Counted as wrong: the answer could not be read.",
                        expected=expected)
    card.s.feedback(q, pres, graded, points=False)
    grade = card.auto_rating(graded, kind.FAST_MS)
    return Asked(answer, graded.correct, grade, values=pres.values, expected=graded.expected,
                 graded=graded)


def ask_rated(card: Card, kind) -> Asked:
    """Recall, keypoints: the grader suggests, the user rates."""
    q = card.q
    pres = kind.present(q, card.rng)
    card.pres = pres
    card.s.show(card, pres)
    answer = card.read(pres.input_prompt, multiline=True)
    graded = kind.grade(q, pres, answer)
    listed = bool(answer.strip()) and bool(q.points)
    card.s.feedback(q, pres, graded, points=not listed)
    if listed and card.interactive:
        graded = card.checklist(graded, [kp.point for kp in q.points])
    grade = card.rating(graded.suggested)
    return Asked(answer, None, grade, graded=graded)


def ask(card: Card) -> Asked:
    from tutor.kinds import kind

    module = kind(card.q.kind)
    if hasattr(module, "ask"):
        return module.ask(card)
    return (ask_rated if module.SELF_RATED else ask_graded)(card, module)


# --- the session ------------------------------------------------------------------------------

@dataclass
class Tally:
    seen: int = 0
    right: int = 0
    wrong: int = 0
    skipped: int = 0
    held_back: int = 0
    relearned: set[str] = field(default_factory=set)   # asked again after Again, then passed
    by_topic: dict[str, list[int]] = field(default_factory=dict)  # topic -> [right, wrong]

    def add(self, topic: str, ok: bool) -> None:
        self.seen += 1
        self.right += ok
        self.wrong += not ok
        rw = self.by_topic.setdefault(topic, [0, 0])
        rw[0 if ok else 1] += 1

    def remove(self, topic: str, ok: bool) -> None:
        self.seen -= 1
        self.right -= ok
        self.wrong -= not ok
        self.by_topic[topic][0 if ok else 1] -= 1

    def weakest_topic(self) -> str | None:
        missed = [(rw[0] / (rw[0] + rw[1]), -rw[1], t) for t, rw in self.by_topic.items()
                  if rw[1]]
        return min(missed)[2] if missed else None


class Session:
    def __init__(self, opts: QuizOptions, store, scheduler, clock, lines: Lines, out,
                 rng: random.Random) -> None:
        self.opts = opts
        self.store = store
        self.scheduler = scheduler
        self.clock = clock
        self.lines = lines
        self.out = out
        self.rng = rng
        self.tally = Tally()
        self.session_id: int | None = None
        self._preview_scheduler = None
        self.history: list = []       # (question, asked again) of each recorded answer
        self.outcomes: list = []      # (topic, ok) of each recorded answer

    # output
    def show(self, card: Card, pres) -> None:
        from tutor.present.quiz import card_panel

        footer = FOOTER if card.q.demo else FOOTER.replace(":d prove it · ", "")
        if card.again:
            footer = "again, after Again · " + footer
        self.out.print(card_panel(card.q, pres, card.number, card.total, footer))

    def preview(self, q) -> dict | None:
        """The interval each rating would give this card now (None when cramming)."""
        if self.opts.cram or self.scheduler is None:
            return None
        from tutor.format import interval

        if self._preview_scheduler is None:  # the same scheduler without fuzz, as Anki shows
            self._preview_scheduler = scheduling.make_scheduler(
                self.scheduler.desired_retention, fuzz=False)
        now = self.clock()
        row = self.store.cards([q.id]).get(q.id)
        card = scheduling.load_card(row.card_json) if row else scheduling.new_card(q.id, now)
        out = {}
        for g in Grade:
            new = scheduling.review(self._preview_scheduler, card, g, now, None)
            out[g] = interval((new.due - now).total_seconds())
        return out

    def can_undo(self) -> bool:
        return bool(self.history)

    def feedback(self, q, pres, graded, *, points: bool) -> None:
        from tutor.kinds.numeric import fill
        from tutor.present.quiz import notes, reveal, verdict

        self.out.print(verdict(graded))
        if graded.notes:
            self.out.print(notes(graded.notes))
        answer = fill(q.answer, pres.fields) if pres.fields is not None else q.answer
        self.out.print(reveal(q, answer, points=points))

    def prove(self, q, fields: dict | None = None) -> None:
        from rich.text import Text

        if q.demo is None:
            self.out.print("No demo for this card.")
            return
        from tutor.demos.registry import DEMOS
        from tutor.present.demo import show_demo

        info = DEMOS.get(q.demo.name)
        if info is None:
            self.out.print(Text(f"The demo {q.demo.name!r} is not available.", style="red"))
            return
        try:
            show_demo(info, demo_args(q.demo.args, fields), out=self.out)
        except TutorError as e:
            self.out.print(Text(f"demo failed: {e}", style="red"))
        except ImportError as e:
            self.out.print(Text(f"demo unavailable: {e}", style="red"))

    # the loop
    def run(self, plan: list) -> None:
        """Ask every planned card; a card rated Again comes back after a few others (at the
        latest when nothing else is left) until it is passed (rated Hard or better)."""
        from collections import deque

        queue = deque((q, False) for q in plan)
        asked_again: dict[str, int] = {}
        number = 0
        while queue:
            q, again = queue.popleft()
            number += 1
            card = Card(self, q, number, number + len(queue))
            card.again = again
            try:
                asked = ask(card)
            except Skip:
                self.tally.skipped += 1
                continue
            except HoldBack as hb:
                self._hold_back(q, hb.how)
                continue
            except Undo:
                undone, requeued = self._undo()
                number -= 2
                if not (requeued and q.id == undone[0].id and again):
                    queue.appendleft((q, again))      # the card on screen, unless it is the
                if requeued:                          # undone answer's own return
                    for i, (other, back) in enumerate(queue):
                        if other.id == undone[0].id and back:
                            del queue[i]
                            break
                queue.appendleft(undone)
                continue
            now = self.clock()
            row = self._record(q, asked, card.elapsed_ms, now)
            self._report(q, asked, row, now)
            if again and asked.grade > Grade.again:
                self.tally.relearned.add(q.id)  # passed after coming back
            comes_back = asked.grade == Grade.again and asked_again.get(q.id, 0) < MAX_AGAIN
            if comes_back:
                asked_again[q.id] = asked_again.get(q.id, 0) + 1
                queue.insert(min(RELEARN_GAP, len(queue)), (q, True))
            self.history.append((q, again, comes_back))

    def _record(self, q, asked: Asked, elapsed_ms: int, now: datetime):
        from tutor.store import Review

        reschedule = None if self.opts.cram else self._rescheduler(q, asked.grade, now,
                                                                   elapsed_ms)
        graded = asked.graded
        values = asked.values if q.kind == "numeric" else (
            {"covered": graded.covered, "missed": graded.missed}
            if graded is not None and q.kind == "keypoints" else None)
        review = Review(q.id, q.topic, q.kind, int(asked.grade), asked.answer, asked.correct,
                        values, elapsed_ms, now, cram=self.opts.cram)
        row = self.store.record_review(review, self.session_id, reschedule)
        ok = asked.correct if asked.correct is not None else asked.grade > Grade.again
        self.tally.add(q.topic, ok)
        self.outcomes.append((q.topic, ok))
        return row

    def _undo(self):
        from rich.text import Text

        qid = self.store.undo_last(self.session_id)
        q, again, requeued = self.history.pop()
        topic, ok = self.outcomes.pop()
        self.tally.remove(topic, ok)
        self.tally.relearned.discard(qid)
        self.out.print(Text(f"Undone: {qid} is back as it was; it is asked again now.",
                            style="yellow"))
        return (q, again), requeued

    def _hold_back(self, q, how: str) -> None:

        from rich.text import Text

        from tutor.clock import start_of_day

        self.tally.held_back += 1
        if how == ":x":
            self.store.set_suspended(q.id, True)
            self.out.print(Text(f"Suspended {q.id}: it is not asked again until "
                                f"`tutor unsuspend {q.id}`.", style="yellow"))
        else:
            until = start_of_day(self.clock()) + timedelta(days=1)
            self.store.bury(q.id, until)
            self.out.print(Text(f"Buried {q.id} until tomorrow.", style="yellow"))

    def _rescheduler(self, q, grade: Grade, now: datetime, elapsed_ms: int):
        def reschedule(card_json: str | None) -> tuple[str, dict]:
            card = (scheduling.load_card(card_json) if card_json
                    else scheduling.new_card(q.id, now))
            new = scheduling.review(self.scheduler, card, grade, now, elapsed_ms)
            return new.to_json(), scheduling.card_fields(new)

        return reschedule

    def _report(self, q, asked: Asked, row, now: datetime) -> None:
        from rich.text import Text

        from tutor.format import until
        from tutor.session.report import record

        due = row.due if row is not None else None
        if self.opts.as_json:
            record(q, asked, due, self.opts.cram)
        when = ("schedule unchanged (cram)" if self.opts.cram
                else f"next review {until(datetime.fromisoformat(due), now)}")
        self.out.print(Text(f"{asked.grade.name} · {when}\n", style="dim"))


def demo_args(args: dict, fields: dict | None) -> dict:
    """A card's demo arguments, with '{name}' values taken from the card's drawn values."""
    if not fields:
        return {k: v for k, v in args.items() if not _is_field(v)}
    out = {}
    for key, value in args.items():
        if _is_field(value):
            name = value[1:-1]
            if name in fields:
                out[key] = fields[name]
        else:
            out[key] = value
    return out


def _is_field(value) -> bool:
    return isinstance(value, str) and value.startswith("{") and value.endswith("}") \
        and value[1:-1].isidentifier()


def _check_topics(bank, topics: list[str]) -> None:
    import difflib

    for t in topics:
        if bank.resolve_topic(t) not in bank.topics:
            close = difflib.get_close_matches(t, list(bank.topics), n=1)
            hint = f"did you mean {close[0]!r}?" if close else "see `tutor topics`"
            raise UsageError(f"--topic: unknown topic {t!r}", hint)


def run_quiz(bank, opts: QuizOptions, interactive: bool | None = None) -> int:
    """Run a session; returns the exit code (0, or 130 after Ctrl-C with everything saved)."""
    import sqlite3

    from tutor.clock import make_clock, start_of_day
    from tutor.present.console import console
    from tutor.present.quiz import readiness_table
    from tutor.session.plan import plan_session, readiness
    from tutor.session.report import nothing_due, summary
    from tutor.settings import load_settings
    from tutor.store import open_store, store_error

    _check_topics(bank, opts.topics)
    if opts.count is not None and opts.count < 1:
        raise UsageError("--count must be at least 1")
    if opts.new_limit is not None and opts.new_limit < 0:
        raise UsageError("--new-limit must be 0 or more")
    settings = load_settings()
    clock = make_clock(opts.now)
    start = clock()
    interview_at = None
    if opts.interview_date is not None:
        if opts.interview_date < start.date():
            raise UsageError(f"--interview-date {opts.interview_date.isoformat()} is in the past")
        interview_at = datetime(opts.interview_date.year, opts.interview_date.month,
                                opts.interview_date.day, 12, tzinfo=UTC)
    interactive = sys.stdin.isatty() if interactive is None else interactive
    out = console(stderr=opts.as_json)
    rng = random.Random(opts.seed)
    from tutor.kinds import KINDS

    for k in opts.kinds:
        if k not in KINDS:
            raise UsageError(f"--kind: {k!r} is not one of {', '.join(KINDS)}")
    questions = bank.select(topics=opts.topics, tags=opts.tags, kinds=opts.kinds)
    if not opts.kinds and not opts.topics:
        # implementing a function is asked for (--kind drill, --topic drills), not sprung on
        # a daily review
        questions = [q for q in questions if q.kind != "drill"]
    if not questions:
        raise UsageError("no questions match --topic/--tag/--kind",
                         "see `tutor topics` and `tutor list`")

    store = open_store()
    try:
        suspended, buried = store.held_back(start)
        questions = [q for q in questions if q.id not in suspended and q.id not in buried]
        rows = store.cards([q.id for q in questions])
        new_today = store.new_cards_since(start_of_day(start))
        limit = settings.new_per_day if opts.new_limit is None else opts.new_limit
        allowance = limit if opts.new_limit is not None else limit - new_today
        plan = plan_session(questions, rows, start, new_allowance=allowance, count=opts.count,
                            new_only=opts.new_only, cram=opts.cram, interview_at=interview_at,
                            rng=rng)
        ready = readiness(questions, rows, interview_at, now=start) if interview_at else None
        if ready:
            out.print(readiness_table(ready))
        session = Session(opts, store, scheduling.make_scheduler(settings.desired_retention),
                          clock, Lines(interactive, out), out, rng)
        if not plan:
            out.print(nothing_due(rows, start, opts))
        code = 0
        if plan:
            session.session_id = store.start_session(
                start, "cram" if opts.cram else "interview" if interview_at else "review")
            try:
                session.run(plan)
            except Quit:
                pass
            except KeyboardInterrupt:
                code = 130
                out.print()
            finally:
                store.end_session(session.session_id, clock(), session.tally.skipped)
        # time taken on the session's clock, so a fixed TUTOR_NOW gives a fixed summary
        summary(session, store, questions, clock(), (clock() - start).total_seconds(), ready)
        return code
    except sqlite3.Error as e:
        raise store_error(store.path, e) from None
    finally:
        store.close()
