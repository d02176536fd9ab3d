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


def filters(opts) -> str:
    """The session's filters, as options to repeat in every hint it prints."""
    words = [f"--topic {t}" for t in opts.topics] + [f"--tag {t}" for t in opts.tags]
    words += [f"--kind {k}" for k in opts.kinds]
    return "".join(f" {w}" for w in words)


def nothing_due(rows: dict, now: datetime, opts) -> str:
    from tutor.format import until

    upcoming = sorted(r.due for r in rows.values())
    nxt = (f" The next review is {until(datetime.fromisoformat(upcoming[0]), now)}."
           if upcoming else "")
    f = filters(opts)
    if opts.cram and not rows:
        return (f"Nothing to cram: no card here has been seen yet. Try `tutor quiz{f}` for "
                f"new cards, or `tutor quiz --cram --new{f}` to look at them without "
                "scheduling.")
    return (f"Nothing to review now.{nxt} Try `tutor quiz --new-limit 5{f}` for new cards, or "
            f"`tutor quiz --cram{f}` to review ahead without changing the schedule.")


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
            "weakest_topic": t.weakest_topic(), "session_id": session.session_id,
            "relearned": len(t.relearned), "held_back": t.held_back}
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
        cards = "answer" if t.seen == 1 else "answers"
        relearned = f", {len(t.relearned)} relearned" if t.relearned else ""
        session.out.print(Text.assemble(
            (f"{t.seen} {cards}", "bold"),
            f": {t.right} right, {t.wrong} wrong{relearned}"
            f"{f', {t.skipped} skipped' if t.skipped else ''} in {minutes}m {secs:02d}s. "
            f"Due in the next 24 h: {due_24h}{nxt}. {weakest} Everything is saved."))
