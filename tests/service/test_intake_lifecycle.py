"""A lead's life when the router offers it to one partner at a time: re-routing after a
rejection or expiry, waiting, giving up, and payouts — as partners and the operator see it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from crosslead_common.events import (
    EventData,
    Exclusion,
    LeadDelivered,
    LeadExpired,
    LeadRouted,
    LeadUnroutable,
    LeadWaiting,
    PayoutSettled,
    RoutingDecision,
    ScoredCandidate,
)
from tests.service.intake import ADMIN, Intake, auth
from tests.support import eventually

pytestmark = [pytest.mark.schema("intake"), pytest.mark.sqlite_only]


async def apply(intake: Intake, event: EventData, entries: int) -> dict[str, Any]:
    """Publish a router or payouts event and wait until the lead's timeline has ``entries``
    entries; returns the lead as the operator sees it."""
    await intake.publish(event)

    async def applied() -> dict[str, Any] | None:
        lead = (await intake.client.get(f"/v1/leads/{event.subject()}", headers=ADMIN)).json()
        return dict(lead) if len(lead["timeline"]) >= entries else None

    return await eventually(applied)


def decision(hop: int, chosen: str, *others: str) -> RoutingDecision:
    return RoutingDecision(
        hop=hop,
        chosen_partner_id=chosen,
        candidates=tuple(
            ScoredCandidate(partner_id=p, agreement_id="agr", score=0.5, factors={"size": 0.5})
            for p in (chosen, *others)
        ),
        excluded=(Exclusion(partner_id="ptr_elsewhere", reason="region"),),
    )


def routed(
    lead_id: str, source: dict[str, Any], target: dict[str, Any], agreement: str, hop: int
) -> LeadRouted:
    return LeadRouted(
        lead_id=lead_id,
        source_partner_id=source["id"],
        target_partner_id=target["id"],
        agreement_id=agreement,
        accept_by=datetime.now(UTC) + timedelta(hours=1),
        hop=hop,
        decision=decision(hop, target["id"]),
    )


async def test_a_rejected_lead_is_offered_to_the_next_partner_and_only_it_may_answer(
    intake: Intake,
) -> None:
    shop = await intake.partner("Window shop", ["windows"], ["berlin"])
    first = await intake.partner("Fitters", ["installation"], ["berlin"])
    second = await intake.partner("Installers", ["installation"], ["berlin"])
    outsider = await intake.partner("Roofers", ["roofing"], ["berlin"])
    to_first = (await intake.agreement(shop, first))["id"]
    to_second = (await intake.agreement(shop, second))["id"]
    lead_id = await intake.lead(shop)

    await apply(intake, routed(lead_id, shop, first, to_first, hop=1), 2)
    as_target = await intake.client.get(f"/v1/leads/{lead_id}", headers=auth(first["api_key"]))
    [_, offer] = as_target.json()["timeline"]
    assert offer["target_partner_id"] == first["id"]
    assert offer["hop"] == 1
    assert "decision" not in offer  # other partners' scores are not the target's business
    as_source = await intake.client.get(f"/v1/leads/{lead_id}", headers=auth(shop["api_key"]))
    assert as_source.json()["timeline"][1]["decision"]["chosen_partner_id"] == first["id"]
    # The router may already have moved the lead on to the second partner, whose webhook can
    # arrive before intake hears of it: "retry", not "not found". A stranger learns nothing.
    not_yet = await intake.client.post(
        f"/v1/leads/{lead_id}/accept", headers=auth(second["api_key"])
    )
    assert (not_yet.status_code, not_yet.json()["detail"]) == (
        409,
        "the lead is being routed; retry in a moment",
    )
    assert not_yet.json()["type"] == "https://crosslead.dev/problems/lead-being-routed"
    assert (
        await intake.client.post(f"/v1/leads/{lead_id}/accept", headers=auth(outsider["api_key"]))
    ).status_code == 404

    rejected = await intake.client.post(
        f"/v1/leads/{lead_id}/reject", headers=auth(first["api_key"]), json={"reason": "busy"}
    )
    assert rejected.json() == {"id": lead_id, "status": "rejected"}
    lead = await apply(intake, routed(lead_id, shop, second, to_second, hop=2), 4)
    assert (lead["status"], lead["target_partner_id"]) == ("routed", second["id"])

    too_late = await intake.client.post(
        f"/v1/leads/{lead_id}/accept", headers=auth(first["api_key"])
    )
    assert too_late.status_code == 409
    assert too_late.json()["type"] == "https://crosslead.dev/problems/conflict"
    assert "no longer offered to you" in too_late.json()["detail"]
    stranger = await intake.client.post(
        f"/v1/leads/{lead_id}/accept", headers=auth(outsider["api_key"])
    )
    assert stranger.status_code == 404
    for partner, visible in [(first, 200), (second, 200), (outsider, 404)]:
        seen = await intake.client.get(f"/v1/leads/{lead_id}", headers=auth(partner["api_key"]))
        assert seen.status_code == visible

    accepted = await intake.client.post(
        f"/v1/leads/{lead_id}/accept", headers=auth(second["api_key"])
    )
    assert accepted.json() == {"id": lead_id, "status": "accepted"}
    # A late fact about the first offer is kept in the timeline but changes nothing.
    late = LeadExpired(lead_id=lead_id, target_partner_id=first["id"], accept_by=datetime.now(UTC))
    lead = await apply(intake, late, 6)
    assert lead["status"] == "accepted"
    assert [(e["type"], e.get("hop")) for e in lead["timeline"]] == [
        ("received", None),
        ("routed", 1),
        ("rejected", None),
        ("routed", 2),
        ("accepted", None),
        ("expired", None),
    ]
    assert lead["timeline"][2]["reason"] == "busy"


async def test_an_expired_offer_is_rerouted_and_a_late_delivery_of_it_changes_nothing(
    intake: Intake,
) -> None:
    shop = await intake.partner("Window shop", ["windows"], ["berlin"])
    first = await intake.partner("Fitters", ["installation"], ["berlin"])
    second = await intake.partner("Installers", ["installation"], ["berlin"])
    to_first = (await intake.agreement(shop, first))["id"]
    to_second = (await intake.agreement(shop, second))["id"]
    lead_id = await intake.lead(shop)

    await apply(intake, routed(lead_id, shop, first, to_first, hop=1), 2)
    expiry = LeadExpired(
        lead_id=lead_id, target_partner_id=first["id"], accept_by=datetime.now(UTC)
    )
    assert (await apply(intake, expiry, 3))["status"] == "expired"
    await apply(intake, routed(lead_id, shop, second, to_second, hop=2), 4)
    stale = LeadDelivered(
        lead_id=lead_id,
        delivery_id="dlv_1",
        target_partner_id=first["id"],
        webhook_id="msg_1",
        attempts=3,
        sent_at=datetime.now(UTC),
    )
    lead = await apply(intake, stale, 5)
    assert (lead["status"], lead["target_partner_id"]) == ("routed", second["id"])
    fresh = stale.model_copy(update={"target_partner_id": second["id"], "delivery_id": "dlv_2"})
    assert (await apply(intake, fresh, 6))["status"] == "delivered"


async def test_waiting_then_unroutable_with_reasons(intake: Intake) -> None:
    shop = await intake.partner("Window shop", ["windows"], ["berlin"])
    fitter = await intake.partner("Fitters", ["installation"], ["berlin"])
    agreement = (await intake.agreement(shop, fitter))["id"]
    lead_id = await intake.lead(shop)

    lead = await apply(intake, LeadWaiting(lead_id=lead_id, reason="capacity"), 2)
    assert lead["status"] == "waiting"
    assert lead["timeline"][-1]["reason"] == "capacity"
    early = await intake.client.post(f"/v1/leads/{lead_id}/accept", headers=auth(fitter["api_key"]))
    assert early.status_code == 409  # the offer may be on its way: retry shortly

    await apply(intake, routed(lead_id, shop, fitter, agreement, hop=1), 3)
    await intake.client.post(f"/v1/leads/{lead_id}/reject", headers=auth(fitter["api_key"]))
    gave_up = LeadUnroutable(
        lead_id=lead_id, reason="no_partner_left", decision=decision(2, fitter["id"])
    )
    lead = await apply(intake, gave_up, 5)
    assert lead["status"] == "unroutable"
    assert lead["timeline"][-1]["reason"] == "no_partner_left"
    as_fitter = await intake.client.get(f"/v1/leads/{lead_id}", headers=auth(fitter["api_key"]))
    assert all("decision" not in entry for entry in as_fitter.json()["timeline"])


async def test_a_settled_payout_marks_the_lead_paid(intake: Intake) -> None:
    shop = await intake.partner("Window shop", ["windows"], ["berlin"])
    fitter = await intake.partner("Fitters", ["installation"], ["berlin"])
    agreement = (await intake.agreement(shop, fitter))["id"]
    lead_id = await intake.lead(shop)
    await apply(intake, routed(lead_id, shop, fitter, agreement, hop=1), 2)
    await intake.client.post(f"/v1/leads/{lead_id}/accept", headers=auth(fitter["api_key"]))
    won = await intake.won(fitter, lead_id, "1000.00")
    assert won.status_code == 202

    settled = PayoutSettled(
        payout_run_id="run_1",
        lead_id=lead_id,
        source_partner_id=shop["id"],
        target_partner_id=fitter["id"],
        commission=Decimal("100.00"),
        manager_amount=Decimal("20.00"),
        currency="EUR",
    )
    lead = await apply(intake, settled, 5)
    assert lead["status"] == "paid"
    assert lead["timeline"][-1]["type"] == "paid"
    assert lead["timeline"][-1]["payout_run_id"] == "run_1"
