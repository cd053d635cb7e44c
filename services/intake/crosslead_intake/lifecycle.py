"""How each lifecycle fact moves a lead's status (pure; the timeline keeps every fact)."""

from __future__ import annotations

from typing import Final, Literal, get_args

__all__ = [
    "ACCEPTABLE",
    "CONVERTIBLE",
    "REROUTABLE",
    "STATUSES",
    "WON",
    "LeadStatus",
    "TimelineType",
    "next_status",
    "takes_routing",
]

#: Every status a lead can have: ``received`` or ``duplicate`` when submitted, then a fact
#: that moves it (``_TRANSITIONS``; a unit test checks the two agree).
LeadStatus = Literal[
    "received",
    "duplicate",
    "waiting",
    "unroutable",
    "routed",
    "delivered",
    "accepted",
    "rejected",
    "expired",
    "converted",
    "refunded",
    "paid",
]
#: Every type of timeline entry: the facts recorded about a lead (also those that move no
#: status: ``delivery_failed``, ``partially_refunded``, the commissions).
TimelineType = Literal[
    "received",
    "duplicate",
    "routed",
    "waiting",
    "unroutable",
    "delivered",
    "delivery_failed",
    "expired",
    "accepted",
    "rejected",
    "converted",
    "refunded",
    "partially_refunded",
    "commission_accrued",
    "commission_reversed",
    "paid",
]

#: Every status a lead can have, in the order of its life.
STATUSES: Final = get_args(LeadStatus)
#: Statuses in which the target partner may still accept or reject the offer.
ACCEPTABLE: Final = frozenset({"routed", "delivered"})
#: Statuses in which the target partner may report deals on the lead.
CONVERTIBLE: Final = frozenset({"accepted", "converted", "refunded", "paid"})
#: Statuses in which the router may (again) offer the lead, put it on hold or give up on it.
REROUTABLE: Final = frozenset({"received", "waiting", "rejected", "expired"})
#: Statuses of a lead on which a deal was won (a refund or a payout comes after a won deal).
WON: Final = frozenset({"converted", "refunded", "paid"})

# fact → the statuses it moves the lead out of. Facts arrive from three services and may
# arrive late (a `delivered` after the partner already accepted): a fact never moves a lead
# backwards, it is only recorded in the timeline. A `duplicate` lead is never offered, so no
# fact moves it.
_TRANSITIONS: Final[dict[str, frozenset[str]]] = {
    "routed": REROUTABLE,
    "waiting": REROUTABLE - {"waiting"},
    "unroutable": REROUTABLE,
    "delivered": frozenset({"routed"}),
    "accepted": ACCEPTABLE,
    "rejected": ACCEPTABLE,
    "expired": ACCEPTABLE,
    "converted": frozenset({"accepted", "converted", "refunded", "paid"}),
    "refunded": frozenset({"converted", "paid"}),
    "paid": frozenset({"converted", "refunded"}),  # a partial refund leaves some to pay
}


def next_status(current: str, fact: str) -> str:
    """The lead's status after ``fact``; unchanged when the fact does not move it."""
    return fact if current in _TRANSITIONS.get(fact, frozenset()) else current


def takes_routing(status: str, current_hop: int, hop: int) -> bool:
    """Whether a ``routed`` fact for ``hop`` makes its target the lead's current target: when
    the lead may be routed, or when it supersedes an unanswered offer of an earlier hop (the
    router may move on after a failed delivery)."""
    return status in REROUTABLE or (status in ACCEPTABLE and hop > current_hop)
