"""`tutor quiz`: pick the cards, ask them, grade, schedule, and save each answer at once.

A session reads lines, from a terminal or from a pipe (the scriptable protocol
described in `tutor quiz --help`). Each card kind asks and grades in its own way;
every answered card goes to the store in one transaction before the next card
is shown.
"""

from __future__ import annotations

import json
import random
import string
import sys
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from tutor import scheduling
from tutor.errors import TutorError, UsageError
from tutor.grading import AnswerError
from tutor.scheduling import Grade

DEFAULT_NEW_PER_DAY = 10
COMMANDS = {"d": "prove it", "h": "hint", "s": "skip", "q": "quit"}


# --- settings and the clock -----------------------------------------------------------------

@dataclass(frozen=True)
class Settings:
    """`settings.toml` in the tutor home: `new_per_day = 10`, `desired_retention = 0.9`."""

    new_per_day: int = DEFAULT_NEW_PER_DAY
    desired_retention: float = scheduling.DESIRED_RETENTION


def load_settings() -> Settings:
    from tutor.paths import tutor_home

    path = tutor_home() / "settings.toml"
    if not path.exists():
        return Settings()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise TutorError(f"{path}: {e}", "fix the file or delete it to use the defaults") from None
    unknown = sorted(set(data) - {"new_per_day", "desired_retention"})
    if unknown:
        raise TutorError(f"{path}: unknown setting {unknown[0]!r}",
                         "the settings are new_per_day and desired_retention")
    new = data.get("new_per_day", DEFAULT_NEW_PER_DAY)
    if not isinstance(new, int) or isinstance(new, bool) or new < 0:
        raise TutorError(f"{path}: new_per_day = {new!r} must be a whole number >= 0")
    retention = data.get("desired_retention", scheduling.DESIRED_RETENTION)
    if not isinstance(retention, int | float) or not 0.7 <= retention <= 0.99:
        raise TutorError(f"{path}: desired_retention = {retention!r} must be between "
                         "0.7 and 0.99")
    return Settings(new, float(retention))


def parse_now(text: str, source: str) -> datetime:
    """An ISO 8601 time for --now or TUTOR_NOW; a time without a zone is taken as UTC."""
    try:
        dt = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"{source}: {text!r} is not an ISO 8601 time",
                         "e.g. 2025-03-01T09:00:00Z") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def make_clock(fixed: datetime | None) -> Callable[[], datetime]:
    if fixed is not None:
        return lambda: fixed
    return lambda: datetime.now(UTC)


def start_of_day(dt: datetime) -> datetime:
    return datetime(dt.year, dt.month, dt.day, tzinfo=UTC)


# --- which cards ----------------------------------------------------------------------------

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


def _parsed_time(iso: str | None) -> datetime | None:
    return datetime.fromisoformat(iso) if iso else None


def plan_session(questions: list, rows: dict, now: datetime, *, new_allowance: int,
                 count: int | None = None, new_only: bool = False, cram: bool = False,
                 interview_at: datetime | None = None,
                 rng: random.Random | None = None) -> list:
    """The cards of a session, in the order they are asked.

    - default: due reviews (most overdue first), then up to `new_allowance` new cards
      (easiest first);
    - cram: every seen card, weakest (lowest recall now) first, then new cards;
    - interview_at: due cards, cards predicted below the desired retention on that
      day, and new cards, lowest predicted recall on that day first;
    - new_only keeps only new cards; count caps the session.
    """
    rng = rng or random.Random()
    shuffled = list(questions)
    rng.shuffle(shuffled)  # ties are broken at random (reproducibly with --seed)
    seen = [q for q in shuffled if q.id in rows]
    new = sorted((q for q in shuffled if q.id not in rows), key=lambda q: q.difficulty)
    if not cram:
        new = new[:max(0, new_allowance)]

    def recall_at(q, at: datetime) -> float:
        r = rows.get(q.id)
        if r is None:
            return 0.0
        return scheduling.retrievability(r.stability, _parsed_time(r.last_review), at)

    if new_only:
        seen = []
    if cram:
        pool = sorted(seen, key=lambda q: recall_at(q, now)) + new
    elif interview_at is not None:
        keep = [q for q in seen if datetime.fromisoformat(rows[q.id].due) <= now
                or recall_at(q, interview_at) < scheduling.DESIRED_RETENTION]
        pool = sorted(keep + new, key=lambda q: recall_at(q, interview_at))
    else:
        due = sorted((q for q in seen if datetime.fromisoformat(rows[q.id].due) <= now),
                     key=lambda q: datetime.fromisoformat(rows[q.id].due))
        pool = due + new
    return pool[:count] if count is not None else pool


def readiness(questions: list, rows: dict, at: datetime) -> dict[str, Any]:
    """Mean predicted recall at `at`, overall and by topic; a new card counts as 0."""
    by_topic: dict[str, list[float]] = {}
    for q in questions:
        r = rows.get(q.id)
        value = 0.0 if r is None else scheduling.retrievability(
            r.stability, _parsed_time(r.last_review), at)
        by_topic.setdefault(q.topic, []).append(value)
    values = [v for vs in by_topic.values() for v in vs]
    return {"date": at.date().isoformat(),
            "mean_recall": round(sum(values) / len(values), 4) if values else 0.0,
            "by_topic": {t: round(sum(vs) / len(vs), 4) for t, vs in sorted(by_topic.items())}}


# --- reading lines --------------------------------------------------------------------------

class _Quit(Exception):
    """The user typed q, or the input ended."""


class _Skip(Exception):
    pass


class Lines:
    """Where answers come from: a terminal (prompts, re-asking) or a pipe (the protocol)."""

    def __init__(self, interactive: bool, out) -> None:
        self.interactive = interactive
        self.out = out
        self.line_no = 0

    def read(self, prompt: str = "> ") -> str | None:
        if self.interactive:
            try:
                return self.out.input(f"[bold cyan]{prompt}[/]")
            except EOFError:
                return None
        line = sys.stdin.readline()
        if not line:
            return None
        self.line_no += 1
        return line.rstrip("\r\n")

    def where(self) -> str:
        return f"input line {self.line_no}"


@dataclass
class Asked:
    """What one card produced."""

    answer: str
    correct: bool | None
    grade: Grade
    values: dict[str, Any] | None = None
    expected: Any = None


class Card:
    """One card on screen: the question, the session's tools, and what has been used."""

    def __init__(self, session: Session, q, number: int, total: int) -> None:
        self.s = session
        self.q = q
        self.number = number
        self.total = total
        self.helped = False      # a hint or the demo was used: no Easy
        self.started = time.monotonic()
        self.letters = ""        # option letters, which shadow the one-letter commands

    def command(self, text: str) -> str | None:
        t = text.strip().lower()
        if t.startswith(":") and t[1:] in COMMANDS:
            return t[1:]
        if t in COMMANDS and t.upper() not in self.letters:
            return t
        return None

    def read(self, prompt: str = "> ", allow_empty: bool = True) -> str:
        """The next answer line; runs d and h, raises _Skip / _Quit for s and q (or EOF)."""
        while True:
            line = self.s.lines.read(prompt)
            if line is None:
                raise _Quit
            cmd = self.command(line)
            if cmd == "q":
                raise _Quit
            if cmd == "s":
                raise _Skip
            if cmd == "h":
                self.helped = True
                hint = self.q.hint.strip() if self.q.hint else "No hint for this card."
                self.s.say(f"[yellow]Hint:[/] {_esc(hint)}")
                continue
            if cmd == "d":
                self.helped = True
                self.s.prove(self.q)
                continue
            if not allow_empty and not line.strip() and self.s.lines.interactive:
                continue
            return line

    @property
    def elapsed_ms(self) -> int:
        return int((time.monotonic() - self.started) * 1000)

    def auto(self, answer: str, correct: bool, **extra) -> Asked:
        grade = scheduling.auto_grade(self.q.kind, correct, self.elapsed_ms, hinted=self.helped,
                                      interactive=self.s.lines.interactive)
        return Asked(answer, correct, grade, **extra)

    def rating(self, suggested: Grade | None = None) -> Grade:
        prompt = "rate 1 again · 2 hard · 3 good · 4 easy" + (
            f" [Enter: {suggested.value} {suggested.name}]" if suggested else "") + " > "
        while True:
            line = self.read(prompt)
            if not line.strip() and suggested is not None:
                return suggested
            grade = Grade.parse(line)
            if grade is not None:
                return grade
            if not self.s.lines.interactive:
                raise UsageError(f"{self.s.lines.where()}: expected a rating 1-4 or "
                                 f"again/hard/good/easy, got {line.strip()!r}")
            self.s.say("[red]Type 1, 2, 3 or 4 (again, hard, good, easy).[/]")

    def parsed(self, parse: Callable[[str], Any], prompt: str = "> ") -> tuple[str, Any]:
        """An answer line and its parsed value. A line that cannot be read is asked again
        at a terminal; from a pipe it counts as wrong (value None) with a warning."""
        while True:
            line = self.read(prompt, allow_empty=False)
            try:
                return line, parse(line)
            except AnswerError as e:
                if self.s.lines.interactive:
                    self.s.say(f"[red]{_esc(str(e))}[/]")
                    continue
                from tutor.ui import warn

                warn(f"{self.s.lines.where()}: {e}; counted as wrong")
                return line, None


def _esc(text: str) -> str:
    from rich.markup import escape

    return escape(text)


# --- asking each kind -----------------------------------------------------------------------

def ask_recall(card: Card) -> Asked:
    q = card.q
    card.s.show(card, [], "Think or type your answer; Enter reveals the model answer.")
    answer = card.read("answer > ")
    card.s.reveal(q)
    return Asked(answer, None, card.rating())


def ask_keypoints(card: Card) -> Asked:
    from tutor.grading import match_keypoints

    q = card.q
    card.s.show(card, [], "Type your answer on one line; it is checked against the key points.")
    answer = card.read("answer > ")
    result = match_keypoints(answer, q.points)
    for point in result.covered:
        card.s.say(f"  [green]✓ covered[/]  {_esc(point)}")
    for point in result.missed:
        card.s.say(f"  [red]✗ missed[/]   {_esc(point)}")
    card.s.reveal(q, points=False)
    share = len(result.covered) / max(1, len(q.points))
    suggested = Grade.good if share == 1 else Grade.hard if share >= 0.5 else Grade.again
    grade = card.rating(suggested)
    return Asked(answer, None, grade, values={"covered": result.covered,
                                              "missed": result.missed})


def ask_choice(card: Card) -> Asked:
    from tutor.grading import parse_letters

    q = card.q
    card.letters = string.ascii_uppercase[:len(q.options)]
    lines = [f"{letter}. {_esc(o.text)}" for letter, o in zip(card.letters, q.options,
                                                            strict=False)]
    multi = sum(o.correct for o in q.options) > 1
    card.s.show(card, lines, "Type the letter(s) of every right option, e.g. "
                + ("A,C" if multi else "B") + ".")
    answer, chosen = card.parsed(lambda t: parse_letters(t, len(q.options)), "letters > ")
    correct = chosen == set(q.correct_letters)
    card.s.verdict(correct, f"the answer is {', '.join(q.correct_letters)}")
    for letter, o in zip(card.letters, q.options, strict=False):
        mark = "[green]✓[/]" if o.correct else "[red]✗[/]"
        picked = " (yours)" if chosen and letter in chosen else ""
        card.s.say(f"  {mark} {letter}. {_esc(o.explanation)}{picked}")
    card.s.misconception(q)
    return card.auto(answer, correct, expected=q.correct_letters)


def ask_numeric(card: Card) -> Asked:
    from tutor.formulas import compute_answer
    from tutor.grading import format_number, parse_number, within

    q = card.q
    values = {k: card.s.rng.choice(v) for k, v in sorted(q.choices().items())}
    fields = {**q.answer_from.args, **values}
    prompt = q.prompt.format_map(fields)
    truth = compute_answer(q.answer_from.name, fields)
    units = f" ({q.units})" if q.units else ""
    card.s.show(card, [], f"Type a number{units}: 124M, 1.2e8, 2^30 and 2 GiB all work; "
                f"within {q.tolerance * 100:.3g}% counts.", prompt=prompt)
    answer, given = card.parsed(parse_number, "number > ")
    correct = given is not None and within(given, truth.value, q.tolerance)
    card.s.verdict(correct, f"the answer is {format_number(truth.value)}{units}")
    card.s.say(f"  [dim]working:[/] {_esc(truth.working)}")
    card.s.reveal(q, answer_only=True, fields=fields)
    return card.auto(answer, correct, values=values, expected=truth.value)


def ask_order(card: Card) -> Asked:
    from tutor.grading import parse_order

    q = card.q
    n = len(q.steps)
    shown = list(range(n))
    while shown == sorted(shown):  # never show the steps already in order
        card.s.rng.shuffle(shown)
    lines = [f"{i}. {_esc(q.steps[j])}" for i, j in enumerate(shown, 1)]
    card.s.show(card, lines, "Type the step numbers in the right order, e.g. "
                + " ".join(str(i) for i in range(n, 0, -1)) + ".")
    expected = " ".join(str(shown.index(j) + 1) for j in range(n))
    answer, order = card.parsed(lambda t: parse_order(t, n), "order > ")
    correct = order is not None and [shown[i - 1] for i in order] == list(range(n))
    card.s.verdict(correct, f"the order is {expected}")
    for j, step in enumerate(q.steps, 1):
        card.s.say(f"  {j}. {_esc(step)}")
    card.s.misconception(q)
    return card.auto(answer, correct, expected=expected)


ASK = {"recall": ask_recall, "keypoints": ask_keypoints, "choice": ask_choice,
       "numeric": ask_numeric, "order": ask_order}


# --- the session ----------------------------------------------------------------------------

@dataclass
class Tally:
    seen: int = 0
    right: int = 0
    wrong: int = 0
    skipped: int = 0
    by_topic: dict[str, list[int]] = field(default_factory=dict)  # topic -> [right, wrong]

    def add(self, topic: str, ok: bool) -> None:
        self.seen += 1
        self.right += ok
        self.wrong += not ok
        rw = self.by_topic.setdefault(topic, [0, 0])
        rw[0 if ok else 1] += 1

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

    # output
    def say(self, markup: str) -> None:
        self.out.print(markup)

    def show(self, card: Card, lines: list[str], how: str, prompt: str | None = None) -> None:
        from rich.console import Group
        from rich.panel import Panel
        from rich.text import Text

        from tutor.render import header, reflow

        q = card.q
        keys = [f"{k} {v}" for k, v in COMMANDS.items() if k != "d" or q.demo]
        shadowed = any(k.upper() in card.letters for k in COMMANDS)
        parts: list = [Text(reflow(prompt or q.prompt), style="bold")]
        if lines:
            parts += [Text("")] + [Text.from_markup(line) for line in lines]
        parts += [Text(""), Text(how, style="dim"),
                  Text(("keys (prefix with ':' here): " if shadowed else "keys: ")
                       + " · ".join(keys), style="dim")]
        self.out.print(Panel(Group(*parts), title=f"[{card.number}/{card.total}] {_esc(q.id)}",
                             subtitle=_esc(header(q)), title_align="left",
                             subtitle_align="left"))

    def reveal(self, q, points: bool = True, answer_only: bool = False,
               fields: dict | None = None) -> None:
        from tutor.render import reflow

        answer = q.answer.format_map(fields) if fields is not None else q.answer
        self.say(f"[bold]Answer[/]\n{_esc(reflow(answer))}")
        if answer_only:
            return
        if points and q.points:
            self.say("[bold]Key points[/]")
            for kp in q.points:
                self.say(f"  • {_esc(kp.point)}")
        self.misconception(q)

    def misconception(self, q) -> None:
        from tutor.render import reflow

        if q.misconception:
            self.say(f"[bold]Misconception[/] {_esc(reflow(q.misconception))}")

    def verdict(self, correct: bool, truth: str) -> None:
        self.say("[bold green]Right.[/]" if correct else f"[bold red]Not quite:[/] {_esc(truth)}")

    def prove(self, q) -> None:
        if q.demo is None:
            self.say("No demo for this card.")
            return
        from tutor.demo_cli import show_demo
        from tutor.demos.registry import DEMOS

        info = DEMOS.get(q.demo.name)
        if info is None:
            self.say(f"[red]The demo {_esc(q.demo.name)!r} is not available.[/]")
            return
        try:
            show_demo(info, dict(q.demo.args), out=self.out)
        except TutorError as e:
            self.say(f"[red]demo failed: {_esc(str(e))}[/]")
        except ImportError as e:
            self.say(f"[red]demo unavailable: {_esc(str(e))}[/]")

    # the loop
    def run(self, plan: list) -> None:
        from tutor.store import Review

        for number, q in enumerate(plan, 1):
            card = Card(self, q, number, len(plan))
            try:
                asked = ASK[q.kind](card)
            except _Skip:
                self.tally.skipped += 1
                continue
            now = self.clock()
            reschedule = None if self.opts.cram else self._rescheduler(q, asked.grade, now,
                                                                       card.elapsed_ms)
            review = Review(q.id, q.topic, q.kind, int(asked.grade), asked.answer,
                            asked.correct, asked.values, card.elapsed_ms, now, cram=self.opts.cram)
            row = self.store.record_review(review, self.session_id, reschedule)
            ok = asked.correct if asked.correct is not None else asked.grade > Grade.again
            self.tally.add(q.topic, ok)
            self._report(q, asked, row, now)

    def _rescheduler(self, q, grade: Grade, now: datetime, elapsed_ms: int):
        def reschedule(card_json: str | None) -> tuple[str, dict]:
            card = (scheduling.load_card(card_json) if card_json
                    else scheduling.new_card(q.id, now))
            new = scheduling.review(self.scheduler, card, grade, now, elapsed_ms)
            return new.to_json(), scheduling.card_fields(new)

        return reschedule

    def _report(self, q, asked: Asked, row, now: datetime) -> None:
        due = row.due if row is not None else None
        if self.opts.as_json:
            line = {"id": q.id, "kind": q.kind, "correct": asked.correct,
                    "rating": asked.grade.name, "due": due,
                    "answer": asked.answer, "cram": self.opts.cram}
            if q.kind == "numeric":
                line["values"] = asked.values
            if asked.expected is not None:
                line["expected"] = asked.expected
            if q.kind == "keypoints":
                line["covered"] = asked.values["covered"]
                line["missed"] = asked.values["missed"]
            sys.stdout.write(json.dumps(line) + "\n")
            sys.stdout.flush()
        when = ("schedule unchanged (cram)" if self.opts.cram
                else f"next review {_when(datetime.fromisoformat(due), now)}")
        self.say(f"[dim]{asked.grade.name} · {when}[/]\n")


def _when(due: datetime, now: datetime) -> str:
    seconds = (due - now).total_seconds()
    if seconds < 3600:
        return f"in {max(1, round(seconds / 60))} min"
    if seconds < 86400:
        return f"in {seconds / 3600:.0f} h"
    return f"in {seconds / 86400:.0f} days ({due.date().isoformat()})"


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

    from tutor.store import open_store, store_error
    from tutor.ui import console

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
    questions = bank.select(topics=opts.topics, tags=opts.tags)
    if not questions:
        raise UsageError("no questions match --topic/--tag", "see `tutor topics` and `tutor list`")

    store = open_store()
    try:
        rows = store.cards([q.id for q in questions])
        new_today = store.new_cards_since(start_of_day(start))
        limit = settings.new_per_day if opts.new_limit is None else opts.new_limit
        allowance = limit if opts.new_limit is not None else limit - new_today
        plan = plan_session(questions, rows, start, new_allowance=allowance, count=opts.count,
                            new_only=opts.new_only, cram=opts.cram, interview_at=interview_at,
                            rng=rng)
        ready = readiness(questions, rows, interview_at) if interview_at else None
        if ready:
            _print_readiness(out, ready)
        session = Session(opts, store, scheduling.make_scheduler(settings.desired_retention),
                          clock, Lines(interactive, out), out, rng)
        if not plan:
            out.print(_nothing_due(rows, start, opts))
        code = 0
        if plan:
            session.session_id = store.start_session(
                start, "cram" if opts.cram else "interview" if interview_at else "review")
            try:
                session.run(plan)
            except _Quit:
                pass
            except KeyboardInterrupt:
                code = 130
                out.print()
            finally:
                store.end_session(session.session_id, clock(), session.tally.skipped)
        # time taken on the session's clock, so a fixed TUTOR_NOW gives a fixed summary
        _summary(session, store, questions, clock(), (clock() - start).total_seconds(), ready)
        return code
    except sqlite3.Error as e:
        raise store_error(store.path, e) from None
    finally:
        store.close()


def _nothing_due(rows: dict, now: datetime, opts: QuizOptions) -> str:
    upcoming = sorted(r.due for r in rows.values())
    nxt = (f" The next review is {_when(datetime.fromisoformat(upcoming[0]), now)}."
           if upcoming else "")
    return (f"Nothing to review now.{nxt} Try `tutor quiz --new-limit 5` for new cards, or "
            "`tutor quiz --cram` to review ahead without changing the schedule.")


def _print_readiness(out, ready: dict) -> None:
    from rich.table import Table

    table = Table(title=f"Readiness on {ready['date']}: mean predicted recall "
                        f"{ready['mean_recall']:.0%}", title_justify="left")
    table.add_column("topic")
    table.add_column("recall", justify="right")
    for topic, value in ready["by_topic"].items():
        table.add_row(topic, f"{value:.0%}")
    out.print(table)


def _summary(session: Session, store, questions: list, now: datetime, seconds: float,
             ready: dict | None) -> None:
    t = session.tally
    rows = store.cards([q.id for q in questions])
    dues = sorted(datetime.fromisoformat(r.due) for r in rows.values())
    due_24h = sum(1 for d in dues if d <= now + timedelta(days=1))
    upcoming = [d for d in dues if d > now]
    data = {"seen": t.seen, "right": t.right, "wrong": t.wrong, "skipped": t.skipped,
            "seconds": round(seconds, 1), "due_next_24h": due_24h,
            "next_due": upcoming[0].isoformat() if upcoming else None,
            "weakest_topic": t.weakest_topic(), "session_id": session.session_id}
    if ready is not None:
        data["readiness"] = ready
    if session.opts.as_json:
        sys.stdout.write(json.dumps({"summary": data}) + "\n")
        sys.stdout.flush()
    if t.seen or t.skipped:
        minutes, secs = divmod(int(seconds), 60)
        nxt = f"; next {_when(upcoming[0], now)}" if upcoming else ""
        weakest = f"Weakest topic: {t.weakest_topic()}." if t.weakest_topic() else \
            "No misses this time."
        cards = "card" if t.seen == 1 else "cards"
        session.say(f"[bold]{t.seen} {cards}[/]: {t.right} right, {t.wrong} wrong"
                    f"{f', {t.skipped} skipped' if t.skipped else ''} in {minutes}m {secs:02d}s. "
                    f"Due in the next 24 h: {due_24h}{nxt}. {weakest} Everything is saved.")
