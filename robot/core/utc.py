"""One rule for stored and sent times: every datetime is UTC. Pure."""

from __future__ import annotations

from datetime import UTC, datetime


def as_utc(dt: datetime) -> datetime:
    """``dt`` in UTC; a naive datetime is taken as UTC already (the store never guesses a local
    zone)."""
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)
