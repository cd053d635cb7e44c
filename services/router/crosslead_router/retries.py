"""When a failed webhook is tried again. Pure: the caller passes the random source."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["RetryPolicy"]


@dataclass(frozen=True)
class RetryPolicy:
    """``schedule[n]`` seconds after the (n+1)-th failed attempt (the last value repeats),
    each delay spread by up to ``± jitter`` of itself so that many deliveries failing
    together (a partner's outage) do not all come back at the same instant."""

    schedule: Sequence[float]
    max_attempts: int
    jitter: float = 0.2

    def delay_after(self, attempts: int, rng: random.Random) -> float | None:
        """Seconds to wait after ``attempts`` failed attempts, or None when that was the
        last one allowed."""
        if attempts >= self.max_attempts:
            return None
        base = self.schedule[min(max(attempts, 1), len(self.schedule)) - 1]
        return base * (1 + self.jitter * rng.uniform(-1, 1))
