"""How each lifecycle fact moves a lead's status (pure; the timeline keeps every fact)."""

from __future__ import annotations

from typing import Final

__all__ = ["ACCEPTABLE", "CONVERTIBLE", "next_status"]

#: Statuses in which the target partner may still accept or reject the offer.
ACCEPTABLE: Final = frozenset({"routed", "delivered"})
#: Statuses in which the target partner may report deals on the lead.
CONVERTIBLE: Final = frozenset({"accepted", "converted", "refunded", "paid"})

# fact → the statuses it moves the lead out of. Facts arrive from three services and may
# arrive late (a `delivered` after the partner already accepted): a fact never moves a lead
# backwards, it is only recorded in the timeline.
_TRANSITIONS: Final[dict[str, frozenset[str]]] = {
    "routed": frozenset({"received", "waiting"}),
    "unroutable": frozenset({"received", "waiting"}),
    "delivered": frozenset({"routed"}),
    "accepted": ACCEPTABLE,
    "rejected": ACCEPTABLE,
    "expired": ACCEPTABLE,
    "converted": frozenset({"accepted", "converted", "refunded"}),
    "refunded": frozenset({"converted"}),
}


def next_status(current: str, fact: str) -> str:
    """The lead's status after ``fact``; unchanged when the fact does not move it."""
    return fact if current in _TRANSITIONS.get(fact, frozenset()) else current
