"""Drill results as cards: every check is a review in the progress store, on FSRS's schedule.

A pass is rated Good and a failure Again, under question id `drills/NAME`, so a
passed drill comes back when FSRS says it is due, like any other card.
"""

from __future__ import annotations

from datetime import UTC, datetime

from tutor.drills.registry import Drill

STATUSES = ("new", "passed", "due", "failed")
KIND = "drill"


def now_utc(option: str | None = None) -> datetime:
    """--now, else TUTOR_NOW when set (for tests and transcripts), else the clock."""
    from tutor.clock import fixed_now

    return fixed_now(option) or datetime.now(UTC)


def status(name: str, store_rows: dict, now: datetime) -> str:
    """new, passed, due or failed, from the store's card rows (`Store.cards()`).

    The last check failed when its card is relearning, or learning at step 0 (where an
    Again puts it); otherwise it passed, and it is due once FSRS's due time has come.
    """
    row = store_rows.get(f"drills/{name}")
    if row is None:
        return "new"
    if row.state == 3 or (row.state == 1 and _step(row.card_json) == 0):
        return "failed"
    due = datetime.fromisoformat(row.due)
    return "due" if due <= now else "passed"


def _step(card_json: str) -> int | None:
    import json

    try:
        return json.loads(card_json).get("step")
    except ValueError:
        return None


def record(drill: Drill, passed: bool, now: datetime, elapsed_ms: int = 0,
           summary: dict | None = None):
    """Store one check as a review (Good on pass, Again on fail); returns the card row."""
    from tutor import scheduling
    from tutor.settings import load_settings
    from tutor.store import Review, open_store

    grade = scheduling.Grade.good if passed else scheduling.Grade.again
    scheduler = scheduling.make_scheduler(load_settings().desired_retention)

    def reschedule(card_json: str | None):
        card = (scheduling.load_card(card_json) if card_json
                else scheduling.new_card(drill.question_id, now))
        new = scheduling.review(scheduler, card, grade, now, elapsed_ms)
        return new.to_json(), scheduling.card_fields(new)

    review = Review(drill.question_id, "drills", KIND, int(grade), None, passed, summary,
                    elapsed_ms, now)
    with open_store() as store:
        return store.record_review(review, None, reschedule)


def card_rows() -> dict:
    """Every drill's card row (empty when there is no store yet)."""
    from tutor.store import Store, db_path

    path = db_path()
    if not path.exists():
        return {}
    with Store(path, readonly=True) as store:
        if store.empty:
            return {}
        return {k: v for k, v in store.cards().items() if k.startswith("drills/")}
