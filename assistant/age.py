"""How long ago an index was built, in words for people: "3 hours ago" (the chat's side
panel) or, short, "3 h" (the CLI's "3 h old"). Not here: dates and time zones for display;
only the elapsed time since an ISO timestamp."""

from __future__ import annotations

from datetime import datetime, timezone

_UNITS = (("day", "d", 86400), ("hour", "h", 3600), ("minute", "min", 60))


def age(created_at: str, now: datetime | None = None, short: bool = False) -> str:
    """The time since `created_at` (ISO 8601; naive means UTC) in its largest whole unit.

    Unparseable input is returned as is.

    >>> now = datetime(2026, 1, 1, 3, 0, tzinfo=timezone.utc)
    >>> age("2026-01-01T00:00:00+00:00", now), age("2026-01-01T00:00:00Z", now, short=True)
    ('3 hours ago', '3 h')
    >>> age("2026-01-01T02:59:30", now), age("2026-01-01T02:59:30", now, short=True), age("yesterday")
    ('just now', '30 s', 'yesterday')
    """
    try:
        then = datetime.fromisoformat(created_at.replace("Z", "+00:00"))
    except ValueError:
        return created_at
    if then.tzinfo is None:
        then = then.replace(tzinfo=timezone.utc)
    seconds = ((now or datetime.now(timezone.utc)) - then).total_seconds()
    for unit, abbreviation, size in _UNITS:
        if seconds >= size:
            count = int(seconds // size)
            return f"{count} {abbreviation}" if short else f"{count} {unit}{'s' if count != 1 else ''} ago"
    return f"{max(int(seconds), 0)} s" if short else "just now"


def index_age(created_at: str, now: datetime | None = None) -> str:
    """`index_age("2026-01-01T00:00:00+00:00", now=2026-01-01T02:00Z) -> "2 h"`: `age(..., short=True)`."""
    return age(created_at, now, short=True)
