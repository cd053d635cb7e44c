"""What each party may see of a lead (pure): the source and the operator see every timeline
entry; a partner the lead was offered to sees only the entries about its own offer and its own
deals, so it never learns another partner's id, agreement, deadline, rejection reason or deal
amounts."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from crosslead_intake.lifecycle import next_status

__all__ = ["Entry", "for_target", "owner_of", "target_status"]

#: Entries about the lead itself that name no partner: every viewer sees them.
_SHARED: Final = frozenset({"received"})
#: Keys only the source and the operator see (every candidate's score, the routing reasons).
_SOURCE_ONLY_KEYS: Final = frozenset({"decision"})


@dataclass(frozen=True)
class Entry:
    type: str
    at: datetime
    details: Mapping[str, Any]


def owner_of(entry: Entry) -> str | None:
    """The partner an entry is about: the target of an offer or of its delivery, expiry,
    answer, deals, commissions and payouts; ``None`` for routing facts and shared ones."""
    owner = entry.details.get("target_partner_id") or entry.details.get("partner_id")
    return owner if isinstance(owner, str) else None


def for_target(entries: Iterable[Entry], partner_id: str) -> list[Entry]:
    """The entries ``partner_id``, a partner the lead was offered to, may see: the shared
    ones and those about its own offer and deals, without the routing decision."""
    return [
        Entry(e.type, e.at, {k: v for k, v in e.details.items() if k not in _SOURCE_ONLY_KEYS})
        for e in entries
        if e.type in _SHARED or owner_of(e) == partner_id
    ]


def target_status(entries: Iterable[Entry]) -> str:
    """The lead's status as a target sees it: the facts of its own offer applied in order
    (a partner that rejected sees ``rejected``, not what happened with the next one)."""
    status = "received"
    for entry in entries:
        status = next_status(status, entry.type)
    return status
