"""The webhook retry schedule: delays, jitter and when to give up."""

from __future__ import annotations

import random

import pytest

from crosslead_router.retries import RetryPolicy

SCHEDULE = (1.0, 5.0, 30.0, 120.0)


def test_delays_follow_the_schedule_and_the_last_one_repeats() -> None:
    policy = RetryPolicy(SCHEDULE, max_attempts=10, jitter=0)
    rng = random.Random(1)
    delays = [policy.delay_after(n, rng) for n in range(1, 8)]
    assert delays == [1.0, 5.0, 30.0, 120.0, 120.0, 120.0, 120.0]


def test_no_delay_after_the_last_allowed_attempt() -> None:
    policy = RetryPolicy(SCHEDULE, max_attempts=3, jitter=0)
    rng = random.Random(1)
    assert policy.delay_after(2, rng) == 5.0
    assert policy.delay_after(3, rng) is None
    assert policy.delay_after(4, rng) is None


@pytest.mark.parametrize("attempts", [1, 2, 3, 4, 9])
def test_jitter_stays_within_its_fraction_and_spreads_retries(attempts: int) -> None:
    policy = RetryPolicy(SCHEDULE, max_attempts=10, jitter=0.2)
    base = SCHEDULE[min(attempts, len(SCHEDULE)) - 1]
    rng = random.Random(42)
    delays = [policy.delay_after(attempts, rng) for _ in range(200)]
    assert all(d is not None and base * 0.8 <= d <= base * 1.2 for d in delays)
    assert len(set(delays)) > 100
