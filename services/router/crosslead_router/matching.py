"""Matching v1: which partner gets a lead. Pure: plain values in, a decision out.

A lead may go to the target of an agreement whose source is the lead's source partner, whose
categories include the lead's ``need`` and whose target serves the lead's region; never back to
the source itself. Each rule is a named filter applied in order, so a lead nobody can take is
explained by the first rule that left no candidate, and later laws (capacity, similar size,
reciprocity) slot in as more rules or as a different ranking.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

__all__ = ["RULES", "Candidate", "LeadToRoute", "Match", "NoMatch", "Rule", "match"]


@dataclass(frozen=True)
class LeadToRoute:
    source_partner_id: str
    need: str
    region: str


@dataclass(frozen=True)
class Candidate:
    """An agreement together with what the router knows about its target partner."""

    agreement_id: str
    source_partner_id: str
    target_partner_id: str
    categories: frozenset[str]
    target_regions: frozenset[str]
    accept_within_seconds: int
    created_at: datetime


@dataclass(frozen=True)
class Match:
    agreement_id: str
    target_partner_id: str
    accept_within_seconds: int


@dataclass(frozen=True)
class NoMatch:
    reason: str


@dataclass(frozen=True)
class Rule:
    keeps: Callable[[LeadToRoute, Candidate], bool]
    #: Why the lead is unroutable when this rule leaves no candidate.
    explain: Callable[[LeadToRoute], str]


RULES: tuple[Rule, ...] = (
    Rule(
        lambda lead, c: c.source_partner_id == lead.source_partner_id,
        lambda lead: f"partner {lead.source_partner_id} has no agreement with any partner",
    ),
    Rule(
        lambda lead, c: c.target_partner_id != lead.source_partner_id,
        lambda lead: "the only agreements point back to the source partner",
    ),
    Rule(
        lambda lead, c: lead.need in c.categories,
        lambda lead: f"no agreement covers the need {lead.need!r}",
    ),
    Rule(
        lambda lead, c: lead.region in c.target_regions,
        lambda lead: f"no partner covering {lead.need!r} serves the region {lead.region!r}",
    ),
)


def _rank(candidate: Candidate) -> tuple[datetime, str, str]:
    # Oldest agreement first, so the same inputs always pick the same partner.
    return (candidate.created_at, candidate.target_partner_id, candidate.agreement_id)


def match(
    lead: LeadToRoute, candidates: Sequence[Candidate], rules: Sequence[Rule] = RULES
) -> Match | NoMatch:
    """Pick the target for ``lead`` among ``candidates``, or say why there is none."""
    remaining = list(candidates)
    for rule in rules:
        remaining = [c for c in remaining if rule.keeps(lead, c)]
        if not remaining:
            return NoMatch(rule.explain(lead))
    best = min(remaining, key=_rank)
    return Match(best.agreement_id, best.target_partner_id, best.accept_within_seconds)
