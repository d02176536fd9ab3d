"""What a session reports: one JSON line per graded card, the summary, 'nothing due'."""

from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta


def record(q, asked, due: str | None, cram: bool) -> None:
    """One JSON line for a graded card (the scripted protocol's --json output)."""
    line = {"id": q.id, "kind": q.kind, "correct": asked.correct,
            "rating": asked.grade.name, "due": due, "answer": asked.answer, "cram": cram}
    if q.kind == "numeric":
        line["values"] = asked.values
    if asked.expected is not None:
        line["expected"] = asked.expected
    g = asked.graded
    if g is not None:
        line["score"] = None if g.score is None else round(g.score, 4)
        line["flags"] = g.flags
        if g.covered or g.missed:
            line["covered"] = g.covered
            line["missed"] = g.missed
        line["suggested"] = g.suggested.name if g.suggested else None
    sys.stdout.write(json.dumps(line) + "\n")
    sys.stdout.flush()


def nothing_due(rows: dict, now: datetime) -> str:
    from tutor.format import until

    upcoming = sorted(r.due for r in rows.values())
    nxt = (f" The next review is {until(datetime.fromisoformat(upcoming[0]), now)}."
           if upcoming else "")
    return (f"Nothing to review now.{nxt} Try `tutor quiz --new-limit 5` for new cards, or "
            "`tutor quiz --cram` to review ahead without changing the schedule.")


def summary(session, store, questions: list, now: datetime, seconds: float,
            ready: dict | None) -> None:
    from rich.text import Text

    from tutor.format import until

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
        nxt = f"; next {until(upcoming[0], now)}" if upcoming else ""
        weakest = f"Weakest topic: {t.weakest_topic()}." if t.weakest_topic() else \
            "No misses this time."
        cards = "card" if t.seen == 1 else "cards"
        session.out.print(Text.assemble(
            (f"{t.seen} {cards}", "bold"),
            f": {t.right} right, {t.wrong} wrong"
            f"{f', {t.skipped} skipped' if t.skipped else ''} in {minutes}m {secs:02d}s. "
            f"Due in the next 24 h: {due_24h}{nxt}. {weakest} Everything is saved."))
