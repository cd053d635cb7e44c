"""Circuit breakers for webhook endpoints. Pure: the caller passes the clock.

A breaker is closed while an endpoint answers; after ``threshold`` failed attempts in a row it
opens and no attempt is made for ``cooldown`` seconds; then it is half-open: one attempt (the
probe) may go out, and its outcome closes the breaker again or reopens it for another
``cooldown``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Breakers"]


@dataclass
class Breakers:
    """One breaker per key (the partner whose endpoint is called)."""

    threshold: int
    cooldown: float
    _failures: dict[str, int] = field(default_factory=dict)
    _open_until: dict[str, float] = field(default_factory=dict)

    def room(self, key: str, now: float, normal: int) -> int:
        """How many attempts to ``key`` may be in flight at ``now``: ``normal`` while closed,
        0 while open, 1 (the probe) once the cooldown is over."""
        until = self._open_until.get(key)
        if until is None:
            return normal
        return 0 if now < until else 1

    def record(self, key: str, ok: bool, now: float) -> None:
        """Count an attempt's outcome."""
        if ok:
            self._failures.pop(key, None)
            self._open_until.pop(key, None)
            return
        failures = self._failures.get(key, 0) + 1
        self._failures[key] = failures
        if key in self._open_until or failures >= self.threshold:
            self._open_until[key] = now + self.cooldown

    def tripped(self) -> list[str]:
        """The keys whose breaker is open or half-open."""
        return list(self._open_until)

    def next_change(self, now: float) -> float | None:
        """Seconds until the next open breaker turns half-open (None: none is waiting)."""
        waits = [until - now for until in self._open_until.values() if until > now]
        return min(waits) if waits else None
