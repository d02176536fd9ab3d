"""`tutor stats` and `tutor reset` on screen: the tables, the 30-day chart, the prompts."""

from __future__ import annotations

import sys
from datetime import UTC, datetime

from rich.text import Text

from tutor.format import percent as _pct
from tutor.format import plural as _plural


def stats_view(bank, topics: list[str], as_json: bool, now: datetime | None) -> None:
    from tutor.present.console import print_json
    from tutor.session.loop import _check_topics
    from tutor.stats import compute_stats
    from tutor.store import Store, db_path, sqlite_errors

    _check_topics(bank, topics)
    now = now or datetime.now(UTC)
    questions = bank.select(topics=topics)
    path = db_path()
    store = Store(path, readonly=True) if path.exists() else None
    try:
        with sqlite_errors(path):
            data = compute_stats(store.db if store and not store.empty else None, questions,
                                 now)
    finally:
        if store:
            store.close()
    if as_json:
        print_json(data)
        return
    _render(data)


def _render(data: dict) -> None:
    from rich.table import Table

    from tutor.present.console import console

    out = console()
    table = Table(title=f"{data['seen']} of {data['in_bank']} cards seen, "
                        f"{_plural(data['total_reviews'], 'review')}", title_justify="left")
    for name, justify in (("topic", "left"), ("seen", "right"), ("recall now", "right"),
                          ("lapses", "right"), ("retention 30 d", "right")):
        table.add_column(name, justify=justify)
    for t in data["topics"]:
        retention = (f"{_pct(t['retention_30d'])} of {t['retention_reviews']}"
                     if t["retention_reviews"] else "-")
        table.add_row(t["topic"], f"{t['seen']}/{t['in_bank']}", _pct(t["mean_recall"]),
                      str(t["lapses"]), retention)
    out.print(table)
    forecast = " ".join(str(f["due"]) for f in data["forecast"]) + \
        f" (from {data['forecast'][0]['date'][5:]})"
    hours, rest = divmod(int(data["study_seconds"]), 3600)
    out.print(f"Due today: [bold]{data['due_today']}[/]   next 7 days: {forecast}")
    streak = _plural(data["streak_days"], "day")
    out.print(f"Streak: {streak}   study time: {hours} h {rest // 60:02d} min")
    out.print(_chart(data["reviews_per_day"]))
    if data["weakest"]:
        weak = Table(title="Weakest questions", title_justify="left")
        for name in ("id", "recall", "lapses", "reviews"):
            weak.add_column(name, justify="left" if name == "id" else "right")
        for w in data["weakest"]:
            weak.add_row(w["id"], _pct(w["recall"]), str(w["lapses"]), str(w["reviews"]))
        out.print(weak)
    else:
        out.print("No reviews yet: start with `tutor quiz`.")


_BLOCKS = " ▁▂▃▄▅▆▇█"


def _chart(days: list[dict]) -> str:
    """Reviews per day as a two-row bar chart of eighth blocks."""
    peak = max((d["reviews"] for d in days), default=0)
    if not peak:
        return "Reviews per day (30 days): none"
    top, bottom = [], []
    for d in days:
        eighths = round(16 * d["reviews"] / peak)
        bottom.append(_BLOCKS[min(8, eighths)])
        top.append(_BLOCKS[max(0, eighths - 8)])
    pad = " " * 6
    first, last = days[0]["date"][5:], days[-1]["date"][5:]
    return (f"Reviews per day, last 30 days (peak {peak})\n{pad}[cyan]{''.join(top)}[/]\n"
            f"{pad}[cyan]{''.join(bottom)}[/]\n{pad}{first}{' ' * (len(days) - 10)}{last}")


def reset_view(yes: bool, now: datetime | None = None) -> None:
    from tutor.present.console import console
    from tutor.store import db_path, reset

    out = console()
    path = db_path()
    if not path.exists():
        out.print(f"No progress store at {path}; nothing to reset.")
        return
    if not yes:
        sys.stdout.write(f"Move all progress in {path} to a backup and start afresh? [y/N] ")
        sys.stdout.flush()
        answer = sys.stdin.readline().strip().lower()
        if answer not in ("y", "yes"):
            out.print("Nothing changed.")
            return
    backup = reset(now or datetime.now(UTC))
    out.print(f"Progress moved to {backup}; rename it back to {path.name} to restore it.")


def unsuspend_view(ids: list[str], every: bool) -> None:
    from datetime import UTC, datetime

    from tutor.errors import UsageError
    from tutor.present.console import console
    from tutor.store import open_store

    out = console()
    with open_store() as store:
        suspended, _ = store.held_back(datetime.now(UTC))
        if not ids and not every:
            if not suspended:
                out.print("No suspended cards.")
            for qid in sorted(suspended):
                out.print(Text(qid))
            return
        targets = sorted(suspended) if every else ids
        unknown = [q for q in targets if q not in suspended]
        if unknown:
            raise UsageError(f"{unknown[0]} is not suspended", "`tutor unsuspend` lists them")
        for qid in targets:
            store.set_suspended(qid, False)
    out.print(f"Back in the quiz: {len(targets)} card{'s' if len(targets) != 1 else ''}.")
