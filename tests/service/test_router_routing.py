"""Routing by the laws of partner sales, on real databases with real webhook receivers (the
router in-process with its workers, events applied through its consumer path): capacity,
similar size and reciprocity, one partner at a time with hops and deadlines, waiting for a
paused partner, consent scope, and who may read the routing decisions."""

from __future__ import annotations

import httpx
import pytest
from standardwebhooks import Webhook

from crosslead_common.events import (
    AgreementEnded,
    LeadDelivered,
    LeadDuplicate,
    LeadRejected,
    LeadRouted,
    LeadUnroutable,
    LeadWaiting,
    RoutingDecision,
)
from tests.support import ADMIN_TOKEN, bearer, eventually
from tests.support.router import (
    agreement,
    lead,
    network,
    of_type,
    offered_leads,
    partner,
    webhooks,
)

pytestmark = pytest.mark.schema("router")


SHOP = partner("shop", "north")


def why(event: LeadRouted | LeadWaiting | LeadUnroutable) -> RoutingDecision:
    assert event.decision is not None
    return event.decision


async def decisions(http: httpx.AsyncClient, token: str, lead_id: str) -> httpx.Response:
    return await http.get(
        "/v1/routing/decisions", params={"lead_id": lead_id}, headers=bearer(token)
    )


async def test_a_capacity_one_partner_gets_one_lead_a_day_and_others_take_the_rest(
    database_url: str,
) -> None:
    small = partner("small", "north", capacity_per_day=1)
    big = partner("big", "north")
    parties = [SHOP, small, big]
    # The small partner is favoured, so it would take every lead but for its capacity.
    deals = [
        agreement("agr-small", SHOP.id, small.id, priority=1),
        agreement("agr-big", SHOP.id, big.id),
    ]
    async with network(database_url, parties, deals) as net:
        leads = [f"lead-{n}" for n in range(5)]
        await net.publish(*(lead(n, SHOP.id, "north") for n in leads))
        events = await net.events_until(
            lambda evs: all(of_type(evs, LeadDelivered, n) for n in leads)
        )
        assert len(offered_leads(net.receiver, small.id)) == 1
        assert offered_leads(net.receiver, big.id) == set(leads) - offered_leads(
            net.receiver, small.id
        )
        # Once the small partner had its lead, every decision says it was full.
        full = [
            e
            for n in leads
            for routed in of_type(events, LeadRouted, n)
            for e in why(routed).excluded
            if e.partner_id == small.id
        ]
        assert len(full) == 4
        assert {e.reason for e in full} == {"capacity"}
        assert all(e.detail.startswith("1 offers already made in day:") for e in full)


@pytest.mark.sqlite_only
async def test_the_partner_of_similar_size_wins_and_the_decision_says_why(
    database_url: str,
) -> None:
    shop = partner("shop", "north", capacity_per_day=10)
    giant = partner("giant", "north", capacity_per_day=1000)
    peer = partner("peer", "north", capacity_per_day=12)
    parties = [shop, giant, peer]
    deals = [agreement("agr-giant", shop.id, giant.id), agreement("agr-peer", shop.id, peer.id)]
    async with network(database_url, parties, deals) as net:
        await net.publish(lead("lead-1", shop.id, "north"))
        events = await net.events_until(lambda evs: bool(of_type(evs, LeadRouted, "lead-1")))
        [routed] = of_type(events, LeadRouted, "lead-1")
        assert routed.target_partner_id == peer.id
        best, other = why(routed).candidates
        assert (best.partner_id, other.partner_id) == (peer.id, giant.id)
        assert best.factors["size"] > other.factors["size"]
        assert best.factors["reciprocity"] == other.factors["reciprocity"]
        assert best.score > other.score
        await eventually(lambda: offered_leads(net.receiver, peer.id) == {"lead-1"})
        assert net.receiver.requests[giant.id] == []


@pytest.mark.sqlite_only
async def test_the_partner_that_sends_leads_back_wins(database_url: str) -> None:
    giver = partner("giver", "north")
    taker = partner("taker", "north")
    other = partner("other", "north")
    parties = [SHOP, giver, taker, other]
    deals = [
        agreement("agr-taker", SHOP.id, taker.id),
        agreement("agr-giver", SHOP.id, giver.id),
        agreement("agr-back", giver.id, SHOP.id),
        agreement("agr-other", other.id, taker.id),
    ]
    async with network(database_url, parties, deals) as net:
        # The giver sends the shop a lead; the taker gets one from elsewhere (same volume).
        await net.publish(lead("from-giver", giver.id, "north"))
        await net.publish(lead("from-other", other.id, "north"))
        await net.events_until(lambda evs: bool(of_type(evs, LeadRouted, "from-other")))
        await net.publish(lead("lead-1", SHOP.id, "north"))
        events = await net.events_until(lambda evs: bool(of_type(evs, LeadRouted, "lead-1")))
        [back] = of_type(events, LeadRouted, "from-giver")
        assert back.target_partner_id == SHOP.id
        [routed] = of_type(events, LeadRouted, "lead-1")
        assert routed.target_partner_id == giver.id
        best, second = why(routed).candidates
        assert best.partner_id == giver.id
        assert best.factors["reciprocity"] > second.factors["reciprocity"]
        assert {k: v for k, v in best.factors.items() if k != "reciprocity"} == {
            k: v for k, v in second.factors.items() if k != "reciprocity"
        }
        # The source reads the same decision over the API.
        response = await decisions(net.http, SHOP.key, "lead-1")
        assert response.status_code == 200, response.text
        [decision] = response.json()["decisions"]
        assert decision["outcome"] == "routed"
        assert decision["chosen_partner_id"] == giver.id
        assert decision["candidates"] == why(routed).model_dump(mode="json")["candidates"]


@pytest.mark.sqlite_only
async def test_a_rejected_lead_goes_to_the_next_partner(database_url: str) -> None:
    first, second = partner("first", "north"), partner("second", "north")
    parties = [SHOP, first, second]
    deals = [agreement("agr-1", SHOP.id, first.id), agreement("agr-2", SHOP.id, second.id)]
    async with network(database_url, parties, deals) as net:
        await net.publish(lead("lead-1", SHOP.id, "north"))
        events = await net.events_until(lambda evs: bool(of_type(evs, LeadRouted, "lead-1")))
        [offer] = of_type(events, LeadRouted, "lead-1")
        assert offer.hop == 1
        runner_up = {first.id: second.id, second.id: first.id}[offer.target_partner_id]
        await net.publish(LeadRejected(lead_id="lead-1", partner_id=offer.target_partner_id))
        events = await net.events_until(lambda evs: len(of_type(evs, LeadRouted, "lead-1")) == 2)
        [_, next_offer] = of_type(events, LeadRouted, "lead-1")
        assert (next_offer.target_partner_id, next_offer.hop) == (runner_up, 2)
        assert [(e.partner_id, e.reason) for e in why(next_offer).excluded] == [
            (offer.target_partner_id, "already_offered")
        ]
        await eventually(lambda: offered_leads(net.receiver, runner_up) == {"lead-1"})
        # A rejection is not withdrawn: the partner said no itself.
        assert webhooks(net.receiver, offer.target_partner_id, "lead.withdrawn") == []


async def test_unanswered_offers_are_withdrawn_and_after_three_hops_the_lead_is_unroutable(
    database_url: str,
) -> None:
    fitters = [partner(f"fitter-{n}", "north") for n in range(4)]
    deals = [agreement(f"agr-{f.id}", SHOP.id, f.id, accept_within=1) for f in fitters]
    async with network(database_url, [SHOP, *fitters], deals) as net:
        await net.publish(lead("lead-1", SHOP.id, "north"))
        events = await net.events_until(lambda evs: bool(of_type(evs, LeadUnroutable, "lead-1")))
        offers = of_type(events, LeadRouted, "lead-1")
        assert [o.hop for o in offers] == [1, 2, 3]
        targets = [o.target_partner_id for o in offers]
        assert len(set(targets)) == 3
        [unroutable] = of_type(events, LeadUnroutable, "lead-1")
        assert unroutable.reason == "offered to 3 partners and none accepted"

        def withdrawn() -> bool:
            return all(webhooks(net.receiver, t, "lead.withdrawn") for t in targets)

        await eventually(withdrawn)
        for target in targets:
            [notice] = [r for r in net.receiver.requests[target] if b"lead.withdrawn" in r.body]
            body = Webhook(net.secrets[target]).verify(notice.body, notice.headers)
            assert body["data"] == {"lead_id": "lead-1", "reason": "expired"}
            [offered] = [r for r in net.receiver.requests[target] if b"lead.offered" in r.body]
            assert notice.headers["webhook-id"] != offered.headers["webhook-id"]
        [spare] = [f.id for f in fitters if f.id not in targets]
        assert net.receiver.requests[spare] == []
        response = await decisions(net.http, ADMIN_TOKEN, "lead-1")
        assert [d["outcome"] for d in response.json()["decisions"]] == [
            "routed",
            "routed",
            "routed",
            "unroutable",
        ]


async def test_a_paused_partners_lead_goes_elsewhere_or_waits_until_it_is_back(
    database_url: str,
) -> None:
    resting = partner("resting", "north", "east", paused=True)
    active = partner("active", "north")
    stranger = partner("stranger", "north")
    parties = [SHOP, resting, active, stranger]
    deals = [
        agreement("agr-resting", SHOP.id, resting.id, priority=5),
        agreement("agr-active", SHOP.id, active.id),
    ]
    async with network(database_url, parties, deals) as net:
        await net.publish(lead("lead-north", SHOP.id, "north"))
        await net.publish(lead("lead-east", SHOP.id, "east"))  # only the resting one serves east
        events = await net.events_until(
            lambda evs: (
                bool(of_type(evs, LeadWaiting, "lead-east"))
                and bool(of_type(evs, LeadRouted, "lead-north"))
            ),
        )
        [elsewhere] = of_type(events, LeadRouted, "lead-north")
        assert elsewhere.target_partner_id == active.id
        assert (resting.id, "paused") in {(e.partner_id, e.reason) for e in why(elsewhere).excluded}
        [waiting] = of_type(events, LeadWaiting, "lead-east")
        assert waiting.reason == "no partner can take the lead now (paused)"

        await net.publish(resting.updated(paused=False))
        events = await net.events_until(lambda evs: bool(of_type(evs, LeadRouted, "lead-east")))
        [routed] = of_type(events, LeadRouted, "lead-east")
        assert (routed.target_partner_id, routed.hop) == (resting.id, 1)
        await eventually(lambda: offered_leads(net.receiver, resting.id) == {"lead-east"})

        # The decisions: the source and the operator see them; nobody else, not even the
        # partner the lead went to.
        for token in (SHOP.key, ADMIN_TOKEN):
            response = await decisions(net.http, token, "lead-east")
            assert response.status_code == 200, response.text
            body = response.json()
            assert body["lead_id"] == "lead-east"
            assert [
                (d["outcome"], d["hop"], d["chosen_partner_id"]) for d in body["decisions"]
            ] == [
                ("waiting", 1, None),
                ("routed", 1, resting.id),
            ]
            assert body["decisions"][0]["excluded"] == [
                {"partner_id": active.id, "reason": "region", "detail": "does not serve 'east'"},
                {"partner_id": resting.id, "reason": "paused", "detail": "paused"},
            ]
        for token in (resting.key, stranger.key):
            response = await decisions(net.http, token, "lead-east")
            assert response.status_code == 404
            assert response.headers["content-type"].startswith("application/problem+json")
        assert (await decisions(net.http, ADMIN_TOKEN, "no-such-lead")).status_code == 404
        assert (await decisions(net.http, "clk_wrong", "lead-east")).status_code == 401


@pytest.mark.sqlite_only
async def test_routing_never_goes_outside_the_customers_consent(database_url: str) -> None:
    fitter = partner("fitter", "north")
    # Covered by the agreement, favoured by its priority, but a window maker: not consented.
    windows = partner("windows", "north", offers=("windows",))
    parties = [SHOP, fitter, windows]
    deals = [
        agreement("agr-fitter", SHOP.id, fitter.id),
        agreement("agr-windows", SHOP.id, windows.id, priority=9),
    ]
    async with network(database_url, parties, deals) as net:
        await net.publish(lead("lead-1", SHOP.id, "north", consent_to=("installation",)))
        events = await net.events_until(lambda evs: bool(of_type(evs, LeadRouted, "lead-1")))
        [routed] = of_type(events, LeadRouted, "lead-1")
        assert routed.target_partner_id == fitter.id
        [excluded] = why(routed).excluded
        assert (excluded.partner_id, excluded.reason) == (windows.id, "consent")
        await eventually(lambda: offered_leads(net.receiver, fitter.id) == {"lead-1"})
        assert net.receiver.requests[windows.id] == []


@pytest.mark.sqlite_only
async def test_no_lead_goes_out_under_an_ended_agreement(database_url: str) -> None:
    fitter = partner("fitter", "north")
    favourite = partner("favourite", "north")
    parties = [SHOP, fitter, favourite]
    deals = [
        agreement("agr-fitter", SHOP.id, fitter.id),
        agreement("agr-favourite", SHOP.id, favourite.id, priority=9),
    ]
    async with network(database_url, parties, deals) as net:
        await net.publish(lead("lead-1", SHOP.id, "north"))
        await eventually(lambda: offered_leads(net.receiver, favourite.id) == {"lead-1"})
        ended = AgreementEnded(
            agreement_id="agr-favourite", source_partner_id=SHOP.id, target_partner_id=favourite.id
        )
        await net.publish(ended, lead("lead-2", SHOP.id, "north"))
        events = await net.events_until(lambda evs: bool(of_type(evs, LeadRouted, "lead-2")))
        [routed] = of_type(events, LeadRouted, "lead-2")
        assert routed.target_partner_id == fitter.id
        assert [c.partner_id for c in why(routed).candidates] == [fitter.id]
        await eventually(lambda: offered_leads(net.receiver, fitter.id) == {"lead-2"})
        assert offered_leads(net.receiver, favourite.id) == {"lead-1"}


async def test_a_lead_waiting_for_capacity_is_routed_once_capacity_opens(database_url: str) -> None:
    only = partner("only", "north", capacity_per_day=1)
    deals = [agreement("agr-only", SHOP.id, only.id)]
    async with network(database_url, [SHOP, only], deals) as net:
        await net.publish(lead("lead-1", SHOP.id, "north"), lead("lead-2", SHOP.id, "north"))
        # A duplicate (intake publishes it instead of lead.received) is never offered.
        await net.publish(
            LeadDuplicate(
                lead_id="lead-dup",
                source_partner_id=SHOP.id,
                need="installation",
                original_lead_id="lead-1",
            ),
        )
        events = await net.events_until(lambda evs: bool(of_type(evs, LeadWaiting, "lead-2")))
        assert [r.target_partner_id for r in of_type(events, LeadRouted, "lead-1")] == [only.id]
        [waiting] = of_type(events, LeadWaiting, "lead-2")
        assert waiting.reason == "no partner can take the lead now (capacity)"

        await net.publish(only.updated(capacity_per_day=2))
        events = await net.events_until(lambda evs: bool(of_type(evs, LeadRouted, "lead-2")))
        [routed] = of_type(events, LeadRouted, "lead-2")
        assert (routed.target_partner_id, routed.hop) == (only.id, 1)
        await eventually(lambda: offered_leads(net.receiver, only.id) == {"lead-1", "lead-2"})
        assert of_type(events, LeadRouted, "lead-dup") == []
        assert of_type(events, LeadWaiting, "lead-dup") == []
        assert of_type(events, LeadUnroutable, "lead-dup") == []
