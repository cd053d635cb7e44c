"""Matching with plain values: who may take a lead, how candidates rank and why, and why the
others are left out."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta

from crosslead_common.events import Availability, Exclusion
from crosslead_router.matching import (
    WEIGHTS,
    History,
    LeadToRoute,
    Situation,
    Target,
    blocked,
    capacity_windows,
    is_open,
    rank,
)

# A Wednesday, 10:30 UTC.
NOW = datetime(2026, 1, 7, 10, 30, tzinfo=UTC)
T0 = datetime(2026, 1, 1, tzinfo=UTC)
LEAD = LeadToRoute(source_partner_id="shop", need="installation", region="south")
AT_NOW = Situation(now=NOW)


def target(partner_id: str, **changes: object) -> Target:
    base = Target(
        agreement_id=f"agr-{partner_id}",
        partner_id=partner_id,
        categories=frozenset({"installation", "repair"}),
        accept_within_seconds=3600,
        priority=0,
        created_at=T0,
        offers=frozenset({"installation"}),
        regions=frozenset({"south"}),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def ranked(lead: LeadToRoute, targets: list[Target], situation: Situation = AT_NOW) -> list[str]:
    return [c.target.partner_id for c in rank(lead, targets, situation).choices]


def reasons(
    lead: LeadToRoute, targets: list[Target], situation: Situation = AT_NOW
) -> dict[str, str]:
    return {e.partner_id: e.reason for e in rank(lead, targets, situation).excluded}


def test_each_partner_is_a_candidate_or_excluded_with_the_reason() -> None:
    targets = [
        target("fitter"),
        target("shop"),
        target("glazier", categories=frozenset({"glass"})),
        target("north", regions=frozenset({"north"})),
        target("window-maker", offers=frozenset({"windows"})),
        target("seen-it"),
        target("resting", paused=True),
        target("full", capacity_per_day=2),
        target(
            "closed",
            availability=Availability(timezone="UTC", weekdays=(6, 7), start=time(9), end=time(17)),
        ),
    ]
    situation = Situation(
        now=NOW,
        already_offered=frozenset({"seen-it"}),
        used={("full", "day:2026-01-07"): 2},
    )
    assert ranked(LEAD, targets, situation) == ["fitter"]
    assert reasons(LEAD, targets, situation) == {
        "shop": "source",
        "glazier": "need",
        "window-maker": "consent",
        "north": "region",
        "seen-it": "already_offered",
        "resting": "paused",
        "closed": "schedule",
        "full": "capacity",
    }
    excluded = rank(LEAD, targets, situation).excluded
    # Ordered by the check that left each out.
    assert [e.reason for e in excluded][:3] == ["source", "need", "consent"]
    assert excluded[-1] == Exclusion(
        partner_id="full", reason="capacity", detail="2 offers already made in day:2026-01-07"
    )


def test_consent_scope_bounds_the_partners() -> None:
    targets = [target("fitter"), target("roofer", offers=frozenset({"roofing"}))]
    wider = replace(LEAD, consent_categories=frozenset({"installation", "roofing"}))
    assert ranked(wider, targets) == ["fitter", "roofer"]
    assert reasons(LEAD, targets) == {"roofer": "consent"}
    # A need outside the consent: nobody at all (intake refuses such leads, this is the backstop).
    outside = replace(LEAD, consent_categories=frozenset({"roofing"}))
    assert ranked(outside, targets) == []
    assert set(reasons(outside, targets).values()) == {"consent"}
    assert blocked(outside, rank(outside, targets, AT_NOW).excluded)[0] == "unroutable"


def test_only_paused_closed_or_full_partners_mean_waiting_otherwise_unroutable() -> None:
    north = target("north", regions=frozenset({"north"}))
    assert blocked(LEAD, rank(LEAD, [north, target("x", paused=True)], AT_NOW).excluded) == (
        "waiting",
        "no partner can take the lead now (paused)",
    )
    assert blocked(LEAD, rank(LEAD, [north], AT_NOW).excluded) == (
        "unroutable",
        "no partner covering 'installation' serves the region 'south'",
    )
    assert blocked(LEAD, ()) == ("unroutable", "partner shop has no agreement with any partner")
    seen = Situation(now=NOW, already_offered=frozenset({"a"}))
    assert blocked(LEAD, rank(LEAD, [north, target("a")], seen).excluded) == (
        "unroutable",
        "every partner that could take the lead has had it",
    )


def test_schedules_are_read_in_the_partners_time_zone() -> None:
    berlin_office = Availability(
        timezone="Europe/Berlin", weekdays=(1, 2, 3, 4, 5), start=time(9), end=time(12)
    )
    assert is_open(berlin_office, NOW)  # 11:30 in Berlin on a Wednesday
    assert not is_open(berlin_office, NOW + timedelta(minutes=30))  # 12:00: the end is exclusive
    assert not is_open(berlin_office, NOW - timedelta(hours=3))  # 08:30
    assert not is_open(berlin_office, NOW + timedelta(days=3))  # Saturday
    assert is_open(None, NOW)
    nowhere = Availability(timezone="Mars/Olympus", weekdays=(3,), start=time(0), end=time(23))
    assert not is_open(nowhere, NOW)


def test_capacity_days_are_local_and_hours_utc() -> None:
    tokyo = Availability(
        timezone="Asia/Tokyo", weekdays=(1, 2, 3, 4, 5, 6, 7), start=time(0), end=time(23, 59)
    )
    late = datetime(2026, 1, 7, 20, 15, tzinfo=UTC)  # 05:15 on the 8th in Tokyo
    limited = target("t", capacity_per_day=5, capacity_per_hour=2, availability=tokyo)
    assert capacity_windows(limited, late) == (("day:2026-01-08", 5), ("hour:2026-01-07T20", 2))
    assert capacity_windows(target("u", capacity_per_day=1), late) == (("day:2026-01-07", 1),)
    assert capacity_windows(target("free"), late) == ()


def test_a_partner_of_similar_size_wins_and_the_factors_say_why() -> None:
    situation = Situation(now=NOW, source_capacity_per_day=10)
    giant = target("giant", capacity_per_day=1000)
    peer = target("peer", capacity_per_day=12)
    ranking = rank(LEAD, [giant, peer], situation)
    best, other = (c.scored for c in ranking.choices)
    assert (best.partner_id, other.partner_id) == ("peer", "giant")
    assert best.factors["size"] > other.factors["size"]
    assert {k: v for k, v in best.factors.items() if k != "size"} == {
        k: v for k, v in other.factors.items() if k != "size"
    }
    assert best.score == round(sum(WEIGHTS[k] * v for k, v in best.factors.items()), 6)


def test_observed_volume_counts_towards_size() -> None:
    situation = Situation(
        now=NOW,
        source_volume_30d=40,
        history={"busy": History(volume_30d=4000), "alike": History(volume_30d=35)},
    )
    assert ranked(LEAD, [target("busy"), target("alike")], situation) == ["alike", "busy"]


def test_the_partner_that_sends_leads_back_wins() -> None:
    situation = Situation(
        now=NOW,
        history={
            "taker": History(received_from_source_90d=6),
            "giver": History(sent_to_source_90d=5, received_from_source_90d=1),
        },
    )
    ranking = rank(LEAD, [target("taker"), target("giver")], situation)
    giver, taker = (c.scored for c in ranking.choices)
    assert (giver.partner_id, taker.partner_id) == ("giver", "taker")
    assert giver.factors["reciprocity"] == 0.75  # (5 + 1) / (6 + 2)
    assert taker.factors["reciprocity"] == 0.125  # (0 + 1) / (6 + 2)


def test_acceptance_conversion_and_priority_count_and_newcomers_are_neutral() -> None:
    situation = Situation(
        now=NOW,
        history={
            "good": History(answered=10, accepted=9, converted=6),
            "poor": History(answered=10, accepted=1, converted=0),
        },
    )
    targets = [target("poor"), target("new"), target("good")]
    ranking = rank(LEAD, targets, situation)
    assert [c.target.partner_id for c in ranking.choices] == ["good", "new", "poor"]
    new = ranking.choices[1].scored.factors
    assert (new["acceptance"], new["conversion"], new["priority"]) == (0.5, 0.5, 0.5)
    favoured = [target("poor", priority=5), target("new"), target("good")]
    assert ranked(LEAD, favoured, situation)[0] == "poor"


def test_ties_go_to_the_partner_offered_a_lead_least_recently() -> None:
    situation = Situation(
        now=NOW,
        history={
            "a": History(last_offered_at=NOW - timedelta(minutes=1)),
            "b": History(last_offered_at=NOW - timedelta(hours=1)),
        },
    )
    # "c" never had an offer; scores are equal (no answers, no exchanges, equal volume).
    assert ranked(LEAD, [target("a"), target("b"), target("c")], situation) == ["c", "b", "a"]


def test_a_partner_reachable_through_several_agreements_is_offered_under_the_best() -> None:
    targets = [
        target("fitter", agreement_id="agr-old"),
        target("fitter", agreement_id="agr-favoured", priority=3),
        target("fitter", agreement_id="agr-glass", priority=9, categories=frozenset({"glass"})),
    ]
    ranking = rank(LEAD, targets, AT_NOW)
    assert [c.scored.agreement_id for c in ranking.choices] == ["agr-favoured"]
    assert ranking.excluded == ()


def test_the_decision_moves_candidates_that_lost_their_capacity_to_the_excluded() -> None:
    ranking = rank(LEAD, [target("a"), target("b")], AT_NOW)
    first, second = ranking.choices
    lost = Exclusion(partner_id=first.target.partner_id, reason="capacity", detail="taken")
    decision = ranking.decision(2, second, [lost])
    assert decision.hop == 2
    assert decision.chosen_partner_id == second.target.partner_id
    assert [c.partner_id for c in decision.candidates] == [second.target.partner_id]
    assert decision.excluded == (lost,)


def test_a_partner_without_an_enabled_endpoint_is_left_out_and_the_lead_waits_for_it() -> None:
    targets = [target("fitter"), target("unreachable")]
    situation = Situation(now=NOW, unreachable=frozenset({"unreachable"}))
    assert ranked(LEAD, targets, situation) == ["fitter"]
    assert reasons(LEAD, targets, situation) == {"unreachable": "no_endpoint"}
    alone = rank(LEAD, [target("unreachable")], situation)
    assert blocked(LEAD, alone.excluded) == (
        "waiting",
        "no partner can take the lead now (no_endpoint)",
    )
