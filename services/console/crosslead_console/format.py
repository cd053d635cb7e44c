"""Display helpers for the templates: times, time left, money."""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["parse_time", "short_time", "time_left"]


def parse_time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def short_time(value: object) -> str:
    """``2026-12-04 15:30 UTC`` for an RFC 3339 time; the input unchanged otherwise."""
    parsed = parse_time(value)
    return parsed.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if parsed else str(value or "")


def time_left(deadline: object, now: datetime | None = None) -> str:
    """``2 h 05 min left``, ``40 s left`` or ``expired`` until an RFC 3339 deadline."""
    parsed = parse_time(deadline)
    if parsed is None:
        return ""
    seconds = int((parsed - (now or datetime.now(UTC))).total_seconds())
    if seconds <= 0:
        return "expired"
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h left"
    if hours:
        return f"{hours} h {minutes:02d} min left"
    if minutes:
        return f"{minutes} min left"
    return f"{secs} s left"
