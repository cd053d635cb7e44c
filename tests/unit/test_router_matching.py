"""Matching v1 with plain values: who gets a lead, and why nobody does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from crosslead_router.matching import Candidate, LeadToRoute, Match, NoMatch, match

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def agreement(
    agreement_id: str,
    target: str,
    *,
    source: str = "shop",
    categories: tuple[str, ...] = ("installation",),
    regions: tuple[str, ...] = ("north",),
    age_rank: int = 0,
    accept_within: int = 3600,
) -> Candidate:
    return Candidate(
        agreement_id=agreement_id,
        source_partner_id=source,
        target_partner_id=target,
        categories=frozenset(categories),
        target_regions=frozenset(regions),
        accept_within_seconds=accept_within,
        created_at=T0 + timedelta(minutes=age_rank),
    )


LEAD = LeadToRoute(source_partner_id="shop", need="installation", region="south")


def test_the_partner_serving_the_leads_region_gets_it() -> None:
    candidates = [
        agreement("a1", "installer-north", regions=("north",)),
        agreement("a2", "installer-south", regions=("south", "east"), accept_within=900),
    ]
    assert match(LEAD, candidates) == Match("a2", "installer-south", 900)


def test_the_need_must_be_one_of_the_agreements_categories() -> None:
    candidates = [
        agreement("a1", "glazier", categories=("glass",), regions=("south",)),
        agreement("a2", "installer", categories=("installation", "repair"), regions=("south",)),
    ]
    assert match(LEAD, candidates) == Match("a2", "installer", 3600)
    assert match(LEAD, candidates[:1]) == NoMatch("no agreement covers the need 'installation'")


def test_a_lead_never_goes_back_to_its_source() -> None:
    candidates = [agreement("a1", "shop", regions=("south",))]
    result = match(LEAD, candidates)
    assert isinstance(result, NoMatch)
    assert "back to the source" in result.reason


def test_only_the_sources_own_agreements_count() -> None:
    candidates = [agreement("a1", "installer", source="someone-else", regions=("south",))]
    assert match(LEAD, candidates) == NoMatch("partner shop has no agreement with any partner")


def test_no_partner_in_the_region_is_explained() -> None:
    candidates = [agreement("a1", "installer-north", regions=("north",))]
    assert match(LEAD, candidates) == NoMatch(
        "no partner covering 'installation' serves the region 'south'"
    )


def test_no_candidates_at_all_is_unroutable() -> None:
    assert isinstance(match(LEAD, []), NoMatch)


def test_the_choice_is_deterministic_oldest_agreement_then_partner_id() -> None:
    south = ("south",)
    older = agreement("a-old", "zeta", regions=south, age_rank=0)
    newer = agreement("a-new", "alpha", regions=south, age_rank=5)
    same_age_b = agreement("a-b", "beta", regions=south, age_rank=0)
    assert match(LEAD, [newer, older]) == Match("a-old", "zeta", 3600)
    assert match(LEAD, [older, newer]) == Match("a-old", "zeta", 3600)
    assert match(LEAD, [older, same_age_b, newer]).target_partner_id == "beta"  # type: ignore[union-attr]
