"""`tutor stats` and `tutor reset` on screen: the tables, the 30-day chart, the prompts."""

from __future__ import annotations

import math
import sys
from datetime import UTC, date, datetime

from rich.text import Text

from tutor.format import percent as _pct
from tutor.format import plural as _plural


def stats_view(bank, topics: list[str], as_json: bool, now: datetime | None,
               interview: date | None = None) -> None:
    from tutor.errors import UsageError
    from tutor.present.console import print_json
    from tutor.session.loop import _check_topics
    from tutor.stats import compute_stats
    from tutor.store import Store, db_path, sqlite_errors

    _check_topics(bank, topics)
    now = now or datetime.now(UTC)
    interview_at = None
    if interview is not None:
        if interview < now.date():
            raise UsageError(f"--interview-date {interview.isoformat()} is in the past")
        # noon UTC on the day, as `tutor quiz --interview-date` counts it
        interview_at = datetime(interview.year, interview.month, interview.day, 12, tzinfo=UTC)
    questions = bank.select(topics=topics)
    path = db_path()
    store = Store(path, readonly=True) if path.exists() else None
    try:
        with sqlite_errors(path):
            data = compute_stats(store if store and not store.empty else None, questions,
                                 now, interview_at=interview_at)
    finally:
        if store:
            store.close()
    if as_json:
        print_json(data)
        return
    _render(data)


def shown_percent(x: float | None) -> str:
    """A recall as a whole percent that never rounds a value below 1 up to 100%."""
    if x is None:
        return "-"
    return f"{min(math.floor(x * 100 + 0.5), 99 if x < 1 else 100)}%"


def _ago(iso: str | None, now: datetime) -> str:
    if iso is None:
        return ""
    seconds = max(0.0, (now - datetime.fromisoformat(iso)).total_seconds())
    if seconds < 30:
        return "just now"
    if seconds < 3600:
        return f"{max(1, round(seconds / 60))} min ago"
    if seconds < 86400:
        return f"{round(seconds / 3600)} h ago"
    return f"{round(seconds / 86400)} d ago"


_GAP = 2  # columns of `_table` are this far apart


def _table(*columns: str):
    """A borderless table with a rule under the header; the first column left-aligned,
    the others right-aligned, none wrapped (so ids and topics are never cut)."""
    from rich import box
    from rich.table import Table

    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=(0, 1, 0, 0))
    for i, name in enumerate(columns):
        table.add_column(name, justify="left" if i == 0 else "right", no_wrap=True)
    return table


def _render(data: dict) -> None:
    from rich.padding import Padding

    from tutor.present.console import console

    out = console()
    now = datetime.fromisoformat(data["now"])
    out.print(f"{data['seen']} of {data['in_bank']} cards seen, "
              f"{_plural(data['total_reviews'], 'review')}", style="bold")
    table = _table("topic", "seen", "recall", "lapses", "failed", "retention")
    for t in data["topics"]:
        retention = (f"{_pct(t['retention_30d'])} ({t['retention_reviews']})"
                     if t["retention_reviews"] else "-")
        table.add_row(Text(t["topic"]), f"{t['seen']}/{t['in_bank']}",
                      shown_percent(t["mean_recall"]), str(t["lapses"]), str(t["failed"]),
                      retention)
    out.print(table)
    out.print(Padding(Text(
        "recall: predicted now; lapses: learned cards forgotten; failed: rated Again, "
        "first sight included; retention: learned cards recalled in 30 days (reviews)",
        style="dim"), (0, 0, 0, 2)))
    forecast = " ".join(str(f["due"]) for f in data["forecast"])
    hours, rest = divmod(int(data["study_seconds"]), 3600)
    out.print(f"Due now: [bold]{data['due_today']}[/], the reviews `tutor quiz` asks "
              f"(later today: {data['due_later_today']})")
    out.print(f"Next 7 days: {forecast} (from {data['forecast'][0]['date'][5:]})")
    streak = _plural(data["streak_days"], "day")
    out.print(f"Streak: {streak}   study time: {hours} h {rest // 60:02d} min")
    out.print(_chart(data["reviews_per_day"]))
    if data["weakest"]:
        out.print(_weakest(data["weakest"], now, out.width))
    else:
        out.print("No reviews yet: start with `tutor quiz`.")
    drills = data.get("drills")
    if drills and drills["total"] > drills["new"]:
        out.print(f"Drills: {drills['passed']} passed, {drills['due']} due, "
                  f"{drills['failed']} failed, {drills['new']} not tried "
                  f"(`tutor quiz --kind drill` asks the due ones)")
    if data["suspended"]:
        out.print(f"Suspended ({len(data['suspended'])}): `tutor unsuspend ID` brings one back")
        for qid in data["suspended"]:
            out.print(Text(f"  {qid}"))
    if data["buried"]:
        out.print(f"Buried until tomorrow: {len(data['buried'])}")
    if data["readiness"]:
        held = len(data["suspended"]) + len(data["buried"])
        out.print(readiness_view(data["readiness"], left_out=held))


def _weakest(rows: list[dict], now: datetime, width: int):
    """The weakest cards, ids never cut: one table row each when they fit in `width`,
    else each id on its own line with its figures under it."""
    from rich.cells import cell_len
    from rich.console import Group

    def failed(w: dict) -> str:
        return f"{w['failed']}, {_ago(w['last_failed'], now)}" if w["failed"] else "0"

    cells = [(w["id"], shown_percent(w["recall"]), _days(w["stability"]), failed(w),
              str(w["reviews"])) for w in rows]
    heads = ("id", "recall", "stability", "failed", "reviews")
    widths = [max(cell_len(h), *(cell_len(c[i]) for c in cells)) for i, h in enumerate(heads)]
    title = Text("Weakest: failed in the last 24 h, then lowest recall", style="bold")
    if sum(widths) + _GAP * (len(widths) - 1) <= width:
        table = _table(*heads)
        for c in cells:
            table.add_row(Text(c[0]), *c[1:])
        return Group(title, table)
    lines: list = [title]
    for c in cells:
        lines.append(Text(c[0]))
        items = [f"recall {c[1]}", f"stability {c[2]}", f"failed {c[3]}", f"reviews {c[4]}"]
        lines += [Text(f"    {line}", style="dim") for line in _fill(items, width - 4)]
    return Group(*lines)


def _fill(items: list[str], width: int) -> list[str]:
    """Items joined by two spaces into lines of at most `width`, never splitting one."""
    out = [items[0]]
    for item in items[1:]:
        if len(out[-1]) + 2 + len(item) <= width:
            out[-1] += "  " + item
        else:
            out.append(item)
    return out


def _days(stability: float | None) -> str:
    if stability is None:
        return "-"
    return f"{stability:.2f} d" if stability < 10 else f"{stability:.0f} d"


def readiness_view(ready: dict, left_out: int = 0):
    """Readiness for an interview day (`tutor.session.plan.readiness`): seen and unseen
    cards apart, and the reviews a day that reach every weak or new card in time."""
    from rich.console import Group
    from rich.padding import Padding

    target = f"{ready['target']:.0%}"
    days = _plural(ready["days_left"], "day")
    lines = [Text(f"Readiness on {ready['date']} ({days} left)", style="bold")]
    if ready["seen"]:
        lines.append(Text(f"seen: {ready['seen']}, mean predicted recall on the day "
                          f"{shown_percent(ready['mean_recall_seen'])}, "
                          f"{ready['below_target']} below {target}"))
    lines.append(Text(f"never seen: {ready['unseen']}"
                      + (f" ({left_out} suspended or buried left out)" if left_out else "")))
    lines.append(Text(f"to be ready: at least {_plural(ready['reviews_per_day'], 'review')} "
                      "a day"))
    lines.append(Text(f"  = ({ready['unseen']} unseen + {ready['below_target']} below "
                      f"{target}) / {days}, rounded up", style="dim"))
    table = _table("topic", "seen", "recall", f"< {target}", "unseen")
    for t in ready["topics"]:
        table.add_row(Text(t["topic"]), str(t["seen"]), shown_percent(t["mean_recall_seen"]),
                      str(t["below_target"]), str(t["unseen"]))
    return Group(*[Padding(x, (0, 0, 0, 2)) if i else x for i, x in enumerate(lines)],
                 Padding(table, (0, 0, 0, 2)))


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
