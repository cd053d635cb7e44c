"""Matching v2: who may take a lead, how the candidates rank, and why the others cannot. Pure:
plain values in, a ranking out.

A partner is a candidate when the operator has not disabled it, an agreement from the lead's
source covers the lead's need, the customer's consent covers it, it serves the lead's region,
has not had the lead before, has an enabled webhook endpoint for offers (or has registered none
yet), is not paused, is inside its opening hours and has capacity left. Each rule is a named
:class:`Check` applied in order; a partner that fails one is excluded with that check's code.
The first six are *hard* (nothing will change them while the lead waits); the last four are
*soft*: when only they stand in the way, the lead waits for a partner to open.

Candidates are ranked by a weighted sum of factors, each in [0, 1]; see :func:`score`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from crosslead_common.events import (
    Availability,
    Exclusion,
    RoutingDecision,
    ScoredCandidate,
    ShareContact,
)

__all__ = [
    "CHECKS",
    "SOFT_EXCLUSIONS",
    "WEIGHTS",
    "Check",
    "Choice",
    "History",
    "LeadToRoute",
    "Ranking",
    "Situation",
    "Target",
    "blocked",
    "capacity_windows",
    "is_open",
    "rank",
    "score",
]

#: How much each factor weighs in a candidate's score (they sum to 1).
WEIGHTS: Mapping[str, float] = {
    "size": 0.25,
    "reciprocity": 0.25,
    "acceptance": 0.15,
    "conversion": 0.15,
    "priority": 0.20,
}
#: Pseudo-observations behind every rate, half of them successes: a partner without history
#: scores a neutral 0.5, and a few outcomes move it only part of the way.
PRIOR_OBSERVATIONS = 2

#: Exclusions that may lift while a lead waits (a new capacity window, opening hours, un-pause).
SOFT_EXCLUSIONS = frozenset({"no_endpoint", "paused", "schedule", "capacity"})

_EPOCH = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True)
class LeadToRoute:
    source_partner_id: str
    need: str
    region: str
    #: The categories the customer agreed to be passed to; None: the need only.
    consent_categories: frozenset[str] | None = None

    @property
    def consent_scope(self) -> frozenset[str]:
        return (
            frozenset({self.need}) if self.consent_categories is None else self.consent_categories
        )


@dataclass(frozen=True)
class Target:
    """An agreement of the lead's source together with what the router knows of its target."""

    agreement_id: str
    partner_id: str
    categories: frozenset[str]
    accept_within_seconds: int
    priority: int
    created_at: datetime
    offers: frozenset[str]
    regions: frozenset[str]
    paused: bool = False
    availability: Availability | None = None
    capacity_per_day: int | None = None
    capacity_per_hour: int | None = None
    #: The operator disabled the partner.
    disabled: bool = False
    #: Whether an offer under the agreement carries the customer's contact (``on_offer``).
    share_contact: ShareContact = "on_accept"


@dataclass(frozen=True)
class History:
    """What the router has seen of one partner (offers as counted in ``offers``)."""

    #: Offers it sent plus offers it received over the last 30 days.
    volume_30d: int = 0
    #: Offers from it to the lead's source, and from the source to it, over 90 days.
    sent_to_source_90d: int = 0
    received_from_source_90d: int = 0
    #: Offers it answered (accepted, rejected or let expire), accepted, and converted (won).
    answered: int = 0
    accepted: int = 0
    converted: int = 0
    last_offered_at: datetime | None = None


@dataclass(frozen=True)
class Situation:
    """Everything besides the lead and the agreements that a decision depends on."""

    now: datetime
    source_capacity_per_day: int | None = None
    source_volume_30d: int = 0
    history: Mapping[str, History] = field(default_factory=dict)
    #: Offers counted so far per (partner, capacity window).
    used: Mapping[tuple[str, str], int] = field(default_factory=dict)
    #: Partners the lead was offered to before (they rejected it or let it expire).
    already_offered: frozenset[str] = frozenset()
    #: Partners whose webhook endpoints are all disabled (or none receives offers).
    unreachable: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Check:
    code: str
    #: Why the target is excluded, or None when it passes.
    fails: Callable[[LeadToRoute, Target, Situation], str | None]


def _zone(availability: Availability | None) -> ZoneInfo | None:
    if availability is None:
        return None
    try:
        return ZoneInfo(availability.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def is_open(availability: Availability | None, now: datetime) -> bool:
    """Whether a partner with this schedule takes leads at ``now``. No schedule: always; a
    schedule in an unknown time zone: never (the partner's hours cannot be told)."""
    if availability is None:
        return True
    zone = _zone(availability)
    if zone is None:
        return False
    local = now.astimezone(zone)
    return (
        local.isoweekday() in availability.weekdays
        and availability.start <= local.time().replace(tzinfo=None) < availability.end
    )


def capacity_windows(target: Target, now: datetime) -> tuple[tuple[str, int], ...]:
    """The capacity windows an offer to ``target`` at ``now`` counts in, with their limits.

    A day is the partner's local calendar day when it has a schedule (its time zone), the UTC
    day otherwise; an hour is always the UTC hour (local hours repeat when clocks go back)."""
    windows = []
    if target.capacity_per_day is not None:
        local = now.astimezone(_zone(target.availability) or UTC)
        windows.append((f"day:{local.date().isoformat()}", target.capacity_per_day))
    if target.capacity_per_hour is not None:
        windows.append((f"hour:{now.astimezone(UTC):%Y-%m-%dT%H}", target.capacity_per_hour))
    return tuple(windows)


def _capacity_left(lead: LeadToRoute, t: Target, s: Situation) -> str | None:
    for window, limit in capacity_windows(t, s.now):
        if s.used.get((t.partner_id, window), 0) >= limit:
            return f"{limit} offers already made in {window}"
    return None


def _outside_consent(lead: LeadToRoute, t: Target, s: Situation) -> str | None:
    scope = lead.consent_scope
    if lead.need not in scope:
        return f"the customer did not agree to be passed on for {lead.need!r}"
    if t.offers and not t.offers & scope:
        return f"offers none of the consented categories {sorted(scope)}"
    return None


CHECKS: tuple[Check, ...] = (
    Check("disabled", lambda lead, t, s: "disabled by the operator" if t.disabled else None),
    Check(
        "source",
        lambda lead, t, s: (
            "the lead's own source" if t.partner_id == lead.source_partner_id else None
        ),
    ),
    Check(
        "need",
        lambda lead, t, s: (
            None if lead.need in t.categories else f"agreement does not cover {lead.need!r}"
        ),
    ),
    Check("consent", _outside_consent),
    Check(
        "region",
        lambda lead, t, s: None if lead.region in t.regions else f"does not serve {lead.region!r}",
    ),
    Check(
        "already_offered",
        lambda lead, t, s: (
            "was offered the lead before" if t.partner_id in s.already_offered else None
        ),
    ),
    Check(
        "no_endpoint",
        lambda lead, t, s: (
            "no enabled webhook endpoint receives its offers"
            if t.partner_id in s.unreachable
            else None
        ),
    ),
    Check("paused", lambda lead, t, s: "paused" if t.paused else None),
    Check(
        "schedule",
        lambda lead, t, s: None if is_open(t.availability, s.now) else "outside its schedule",
    ),
    Check("capacity", _capacity_left),
)

_CHECK_ORDER = {check.code: n for n, check in enumerate(CHECKS)}


def _first_failure(lead: LeadToRoute, target: Target, situation: Situation) -> Exclusion | None:
    for check in CHECKS:
        detail = check.fails(lead, target, situation)
        if detail is not None:
            return Exclusion(partner_id=target.partner_id, reason=check.code, detail=detail)
    return None


def _parity(a: float, b: float) -> float:
    """1 for equal sizes, falling towards 0 as one dwarfs the other."""
    if a <= 0 or b <= 0:
        return 1.0 if a == b else 0.0
    return min(a, b) / max(a, b)


def _rate(successes: int, trials: int) -> float:
    return (successes + PRIOR_OBSERVATIONS / 2) / (trials + PRIOR_OBSERVATIONS)


def score(
    target: Target, history: History, situation: Situation, priorities: tuple[int, int]
) -> dict[str, float]:
    """The factors of one candidate, each in [0, 1]:

    - ``size``: parity with the source in declared daily capacity (when both declare one) and
      in observed 30-day volume, averaged;
    - ``reciprocity``: the share of the two partners' 90-day offers that went from the
      candidate to the source (smoothed: 0.5 when they never exchanged leads);
    - ``acceptance``: offers it accepted among those it answered (smoothed);
    - ``conversion``: accepted leads it reported won (smoothed);
    - ``priority``: the agreement's priority relative to the other candidates' (``priorities``
      is their lowest and highest; 0.5 when they are all equal).
    """
    # Volumes are smoothed by one offer, so that 0 against 1 is not already "no parity".
    parities = [_parity(history.volume_30d + 1, situation.source_volume_30d + 1)]
    if target.capacity_per_day is not None and situation.source_capacity_per_day is not None:
        parities.append(_parity(target.capacity_per_day, situation.source_capacity_per_day))
    low, high = priorities
    return {
        "size": sum(parities) / len(parities),
        "reciprocity": _rate(
            history.sent_to_source_90d,
            history.sent_to_source_90d + history.received_from_source_90d,
        ),
        "acceptance": _rate(history.accepted, history.answered),
        "conversion": _rate(history.converted, history.accepted),
        "priority": 0.5 if high == low else (target.priority - low) / (high - low),
    }


@dataclass(frozen=True)
class Choice:
    """A candidate, ready to be offered the lead."""

    target: Target
    scored: ScoredCandidate
    #: The capacity windows an offer counts in, with their limits.
    windows: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class Ranking:
    choices: tuple[Choice, ...]
    excluded: tuple[Exclusion, ...]

    def decision(
        self, hop: int, chosen: Choice | None, lost: Iterable[Exclusion] = ()
    ) -> RoutingDecision:
        """The decision to record: ``chosen`` got the lead, ``lost`` were candidates ranked
        above it that turned out to be excluded after all (capacity taken meanwhile)."""
        lost = tuple(lost)
        gone = {e.partner_id for e in lost}
        return RoutingDecision(
            hop=hop,
            chosen_partner_id=chosen.target.partner_id if chosen else None,
            candidates=tuple(c.scored for c in self.choices if c.target.partner_id not in gone),
            excluded=self.excluded + lost,
        )


def _agreement_preference(target: Target) -> tuple[int, datetime, str]:
    return (-target.priority, target.created_at, target.agreement_id)


def rank(lead: LeadToRoute, targets: Sequence[Target], situation: Situation) -> Ranking:
    """Every partner reachable through ``targets``, either ranked best first or excluded with
    the reason that got it furthest through :data:`CHECKS`. A partner reachable through several
    agreements is offered under its highest-priority (then oldest) one that passes."""
    eligible: dict[str, Target] = {}
    failures: dict[str, Exclusion] = {}
    for target in sorted(targets, key=_agreement_preference):
        failure = _first_failure(lead, target, situation)
        if failure is None:
            eligible.setdefault(target.partner_id, target)
        elif (
            target.partner_id not in failures
            or _CHECK_ORDER[failure.reason] > _CHECK_ORDER[failures[target.partner_id].reason]
        ):
            failures[target.partner_id] = failure
    priorities = [t.priority for t in eligible.values()]
    bounds = (min(priorities), max(priorities)) if priorities else (0, 0)
    choices = []
    for target in eligible.values():
        factors = score(
            target, situation.history.get(target.partner_id, History()), situation, bounds
        )
        total = round(sum(WEIGHTS[name] * value for name, value in factors.items()), 6)
        scored = ScoredCandidate(
            partner_id=target.partner_id,
            agreement_id=target.agreement_id,
            score=total,
            factors={name: round(value, 6) for name, value in factors.items()},
        )
        choices.append(Choice(target, scored, capacity_windows(target, situation.now)))

    def order(choice: Choice) -> tuple[float, datetime, datetime, str]:
        # Best score first; among equals, the partner offered a lead least recently.
        last = situation.history.get(choice.target.partner_id, History()).last_offered_at
        return (
            -choice.scored.score,
            last or _EPOCH,
            choice.target.created_at,
            choice.target.partner_id,
        )

    excluded = [e for partner, e in failures.items() if partner not in eligible]
    return Ranking(
        choices=tuple(sorted(choices, key=order)),
        excluded=tuple(sorted(excluded, key=lambda e: (_CHECK_ORDER[e.reason], e.partner_id))),
    )


_UNROUTABLE_REASONS: Mapping[str, Callable[[LeadToRoute], str]] = {
    "disabled": lambda lead: "every partner with an agreement is disabled",
    "source": lambda lead: "the only agreements point back to the source partner",
    "need": lambda lead: f"no agreement covers the need {lead.need!r}",
    "consent": lambda lead: f"the customer's consent covers no partner for {lead.need!r}",
    "region": lambda lead: f"no partner covering {lead.need!r} serves the region {lead.region!r}",
    "already_offered": lambda lead: "every partner that could take the lead has had it",
}


def blocked(lead: LeadToRoute, excluded: Sequence[Exclusion]) -> tuple[str, str]:
    """Why nobody got the lead: ``("waiting", reason)`` when only soft exclusions (paused,
    schedule, capacity) stand in the way of some partner, else ``("unroutable", reason)``
    explained by the check that got the partners furthest."""
    soft = sorted(
        {e.reason for e in excluded if e.reason in SOFT_EXCLUSIONS}, key=_CHECK_ORDER.__getitem__
    )
    if soft:
        return "waiting", f"no partner can take the lead now ({', '.join(soft)})"
    if not excluded:
        return "unroutable", f"partner {lead.source_partner_id} has no agreement with any partner"
    furthest = max((e.reason for e in excluded), key=_CHECK_ORDER.__getitem__)
    return "unroutable", _UNROUTABLE_REASONS[furthest](lead)
