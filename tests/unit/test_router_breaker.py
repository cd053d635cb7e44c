"""The circuit breaker of one endpoint: closed, open after failures in a row, one probe."""

from __future__ import annotations

from crosslead_router.breaker import Breakers


def test_failures_in_a_row_open_the_breaker_and_a_success_in_between_resets_them() -> None:
    breakers = Breakers(threshold=3, cooldown=10)
    for _ in range(2):
        breakers.record("p", ok=False, now=0)
    breakers.record("p", ok=True, now=0)
    breakers.record("p", ok=False, now=0)
    breakers.record("p", ok=False, now=0)
    assert breakers.room("p", now=1, normal=4) == 4
    breakers.record("p", ok=False, now=1)
    assert breakers.room("p", now=1, normal=4) == 0
    assert breakers.room("other", now=1, normal=4) == 4
    assert breakers.tripped() == ["p"]
    assert breakers.next_change(now=1) == 10


def test_after_the_cooldown_one_probe_decides() -> None:
    breakers = Breakers(threshold=1, cooldown=10)
    breakers.record("p", ok=False, now=0)
    assert breakers.room("p", now=9.9, normal=4) == 0
    assert breakers.room("p", now=10, normal=4) == 1
    breakers.record("p", ok=False, now=10)  # the probe failed: open for another cooldown
    assert breakers.room("p", now=19, normal=4) == 0
    assert breakers.room("p", now=20, normal=4) == 1
    breakers.record("p", ok=True, now=20)  # the probe answered: closed
    assert breakers.room("p", now=20, normal=4) == 4
    assert breakers.tripped() == []
    assert breakers.next_change(now=20) is None
