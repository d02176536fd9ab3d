"""The session clock: --now / TUTOR_NOW for tests, UTC always, and day boundaries."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime

from tutor.errors import UsageError


def parse_now(text: str, source: str) -> datetime:
    """An ISO 8601 time for --now or TUTOR_NOW; a time without a zone is taken as UTC."""
    try:
        dt = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"{source}: {text!r} is not an ISO 8601 time",
                         "e.g. 2025-03-01T09:00:00Z") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    if not 1971 <= dt.year <= 9000:  # schedules add years to it; the far ends overflow
        raise UsageError(f"{source}: {text!r} is too far from today",
                         "give a time between the years 1971 and 9000")
    return dt.astimezone(UTC)


def fixed_now(option: str | None) -> datetime | None:
    """--now if given, else TUTOR_NOW if set, else None (the real clock)."""
    if option:
        return parse_now(option, "--now")
    env = os.environ.get("TUTOR_NOW")
    return parse_now(env, "TUTOR_NOW") if env else None


def make_clock(fixed: datetime | None) -> Callable[[], datetime]:
    if fixed is not None:
        return lambda: fixed
    return lambda: datetime.now(UTC)


def start_of_day(dt: datetime) -> datetime:
    return datetime(dt.year, dt.month, dt.day, tzinfo=UTC)
