"""Times for scheduling in tests, relative to now: a hearing's links work until its end
plus a grace, so a hard-coded date would expire with the calendar."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def soon(minutes: float = 10) -> str:
    """An ISO time ``minutes`` from now (UTC, whole seconds)."""
    return (datetime.now(UTC) + timedelta(minutes=minutes)).replace(microsecond=0).isoformat()


def tomorrow(at: str = "09:30") -> str:
    """Tomorrow's date at ``at`` as ``YYYY-MM-DDTHH:MM`` (no zone)."""
    return f"{(datetime.now(UTC) + timedelta(days=1)).date().isoformat()}T{at}"
