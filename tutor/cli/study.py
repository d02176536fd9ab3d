"""Commands for studying: quiz, grade, stats, reset."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from tutor.cli.app import (
    TagOpt,
    TopicOpt,
    _complete_id,
    _kinds,
    _load_bank,
    _load_index,
    app,
)


def _interview_day(text: str | None):
    """--interview-date as a date (None when not given); a usage error if not YYYY-MM-DD."""
    from datetime import date

    from tutor.errors import UsageError

    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--interview-date: {text!r} is not YYYY-MM-DD") from None


@app.command()
def quiz(
    topic: TopicOpt = None,
    tag: TagOpt = None,
    kind: Annotated[list[str] | None, typer.Option(
        "--kind", "-k", metavar="KIND",
        help="Only this kind (repeatable): " + ", ".join(_kinds()) + ".")] = None,
    count: Annotated[int | None, typer.Option("--count", "-n", help="At most N cards.")] = None,
    new: Annotated[bool, typer.Option("--new", help="Only cards never seen before.")] = False,
    cram: Annotated[bool, typer.Option("--cram", help="Review the cards you have seen, weakest "
                                       "first, without changing the schedule (logged as cram); "
                                       "with --new, look at new cards instead.")] = False,
    interview_date: Annotated[str | None, typer.Option(
        "--interview-date", metavar="YYYY-MM-DD", help="Order cards by predicted recall on "
        "that day (lowest first) and report readiness by topic.")] = None,
    seed: Annotated[int | None, typer.Option(
        "--seed", help="Reproducible card order and numeric values.")] = None,
    new_limit: Annotated[int | None, typer.Option(
        "--new-limit", metavar="N", help="New cards in this run (default: new_per_day in "
        "settings.toml, 10, less those started today).")] = None,
    as_json: Annotated[bool, typer.Option(
        "--json", help="One JSON line per graded card on stdout, then a summary line; "
                       "prompts go to stderr.")] = False,
    now: Annotated[str | None, typer.Option("--now", hidden=True,
                                            help="Pretend it is this ISO 8601 time.")] = None,
) -> None:
    """Spaced-repetition quiz: due reviews first, then new cards; every answer is saved at once.

    Commands start with a colon on every card, so an answer is never taken for one:
    :d proves the answer with its live demo (then shows the card again), :h shows the
    hint, :s skips, :u undoes the last answer, :b buries the card until tomorrow, :x
    suspends it (`tutor unsuspend` brings it back), :q quits (so does Ctrl-D), and ?
    lists them. At a terminal, arrow keys, Ctrl-A/E and history work, and Alt-Enter
    starts a new line in a free-text answer.

    Recall cards: Enter reveals the answer, then rate 1-4 (again, hard, good, easy);
    the prompt shows the interval each rating gives. Keypoints: the grader's checklist
    of points, which you can correct, suggests the rating. Choice: letters (A,C), in a
    shuffled order. Order: step numbers (3 1 2). Numeric: 124M, 1.2e8, 2^30, 2 GiB,
    4096*4097/2. A card you rate Again comes back later in the same session.

    Scripted use (stdin is not a terminal), one line at a time:

    \b
      - each card's prompt is printed, then one line is read as the answer;
      - recall and keypoints cards then read one more line, the rating:
        1-4 or again/hard/good/easy (empty: the suggested rating);
      - a card rated Again (or wrong) is asked again after a few others;
      - a line `:q` ends the session; end of input ends it cleanly;
      - everything answered is saved; scripted answers are never rated Easy;
      - with --json, stdout has one JSON object per graded card (id, kind,
        correct (null when self-rated), rating, due (ISO UTC), answer, expected,
        score, flags, values for numeric cards), then {"summary": {...}}.

    Settings live in TUTOR_HOME/settings.toml (new_per_day = 10,
    desired_retention = 0.9). TUTOR_NOW=ISO8601 fixes the clock, for testing.

    \b
    Example:
        tutor quiz --topic masks -n 5
        printf 'B\\n3\\n:q\\n' | tutor quiz --seed 1 --json
    """
    from tutor.clock import fixed_now
    from tutor.session.loop import QuizOptions, run_quiz

    when = _interview_day(interview_date)
    clock = fixed_now(now)
    options = QuizOptions(topic or [], tag or [], count, new, cram, when, seed, new_limit,
                          as_json, clock, kind or [])
    try:
        code = run_quiz(_load_bank(), options)
    except KeyboardInterrupt:
        code = 130  # before the first card: nothing to save
    raise typer.Exit(code)


@app.command()
def grade(
    question_id: Annotated[str, typer.Argument(metavar="ID", help="A question id, e.g. "
                                               "masks/causal-pair-count.",
                                               autocompletion=_complete_id)],
    value: Annotated[list[str] | None, typer.Option(
        "--value", metavar="KEY=VALUE", help="Fix a varied value (repeatable), e.g. "
        "--value n=2048 or --value lengths=1000,40,40,40; order=3,1,2 fixes the shown "
        "order of an order card.")] = None,
    seed: Annotated[int | None, typer.Option(
        "--seed", help="Draw the values not fixed by --value reproducibly.")] = None,
    as_json: Annotated[bool, typer.Option(
        "--json", help="One JSON object: id, kind, correct, score, covered, missed, flags, "
                       "rating, expected, and values for numeric cards.")] = False,
) -> None:
    """Grade one answer (read from stdin) exactly as the quiz would; nothing is recorded.

    Choice letters are those of `tutor show`. Numeric values not fixed with --value
    are drawn as the quiz would, and printed. `correct` is null where the user is
    the judge (recall, keypoints); `score` is the share of key points covered (1 or 0
    for the other kinds); `flags` are the wrong claims the answer states.

    \b
    Example:
        echo "2^21" | tutor grade masks/causal-pair-count --value n=2048
        echo "A,C" | tutor grade architecture/encoder-vs-decoder --json
    """
    from tutor.grade import grade_view

    if sys.stdin.isatty():
        sys.stderr.write("Type the answer, then Ctrl-D:\n")
    answer = sys.stdin.read()
    grade_view(_load_bank(), question_id, answer.strip("\n"), value or [], as_json, seed)


@app.command()
def stats(
    topic: TopicOpt = None,
    interview_date: Annotated[str | None, typer.Option(
        "--interview-date", metavar="YYYY-MM-DD", help="Also report readiness for that "
        "day: seen and unseen cards, and the reviews a day needed.")] = None,
    as_json: Annotated[bool, typer.Option(
        "--json", help="One JSON object: topics (seen, in_bank, mean_recall, lapses, "
        "failed, retention_30d, retention_reviews), seen, in_bank, due_today, "
        "due_later_today, forecast, suspended, buried, streak_days, study_seconds, "
        "total_reviews, weakest (id, topic, recall, stability, lapses, failed, "
        "last_failed, failed_last_24h, reviews), reviews_per_day, and readiness (null "
        "without --interview-date; else date, days_left, seen, unseen, "
        "mean_recall_seen, below_target, target, reviews_per_day, mean_recall, "
        "by_topic, topics).")] = False,
    now: Annotated[str | None, typer.Option("--now", hidden=True,
                                            help="Pretend it is this ISO 8601 time.")] = None,
) -> None:
    """What is mastered, what is slipping, and what is due.

    Per topic: cards seen of those in the bank, mean predicted recall now, lapses
    (learned cards forgotten), failed (every answer rated Again, first sight
    included) and true retention over 30 days. Overall: the reviews due now (what
    `tutor quiz` asks: suspended and buried cards left out) and later today, a
    7-day forecast, the streak, study time, the ten weakest questions (failed in
    the last 24 h first, then lowest recall, then lowest stability), reviews per
    day, and the suspended cards. Recall is the FSRS-6 forgetting curve at the
    time since the last review, in fractional days.

    With --interview-date: mean predicted recall of the seen cards on that day,
    the unseen cards, and the reviews a day needed to be ready,
    ceil((unseen + seen cards predicted below the desired retention) / days left).

    \b
    Example:
        tutor stats --interview-date 2026-12-11
        tutor stats --json
    """
    from tutor.clock import fixed_now
    from tutor.present.stats import stats_view

    when = _interview_day(interview_date)
    clock = fixed_now(now)
    stats_view(_load_index(), topic or [], as_json, clock, when)


@app.command()
def reset(
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask first.")] = False,
) -> None:
    """Start afresh: move the progress store to a timestamped backup.

    \b
    Example:
        tutor reset --yes
    """
    from tutor.present.stats import reset_view

    reset_view(yes)


@app.command()
def unsuspend(
    question_id: Annotated[list[str] | None, typer.Argument(
        metavar="[ID]...", help="Question ids; none lists the suspended cards.",
        autocompletion=_complete_id)] = None,
    every: Annotated[bool, typer.Option("--all", help="Bring back every suspended card.")]
        = False,
) -> None:
    """Bring suspended cards back into the quiz (`:x` in a quiz suspends one).

    \b
    Example:
        tutor unsuspend masks/causal-pair-count
        tutor unsuspend --all
    """
    from tutor.present.stats import unsuspend_view

    unsuspend_view(question_id or [], every)
