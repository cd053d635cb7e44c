"""Routing by the laws of partner sales, on the real broker and database with real webhook
receivers: capacity (also across two router replicas), similar size and reciprocity, one
partner at a time with hops and deadlines, waiting for a paused partner, consent scope, and who
may read the routing decisions."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import httpx
from standardwebhooks import Webhook

from crosslead_common.db import Database
from crosslead_common.events import (
    AgreementCreated,
    AgreementEnded,
    Envelope,
    LeadDelivered,
    LeadDuplicate,
    LeadRejected,
    LeadRouted,
    LeadUnroutable,
    LeadWaiting,
    RoutingDecision,
    Topic,
)
from crosslead_common.localstack import LocalBroker
from tests.integration.router_support import (
    PartnerSpec,
    agreement,
    lead,
    of_type,
    partner,
    projection_size,
    running_router,
)
from tests.support import ADMIN_TOKEN, bearer, eventually
from tests.support.kafka import publish, read_until
from tests.support.webhooks import Receiver, webhook_receiver

SHOP = partner("shop", "north")


@asynccontextmanager
async def network(
    broker: LocalBroker,
    database_url: str,
    partners: Sequence[PartnerSpec],
    agreements: Sequence[AgreementCreated],
    *,
    replicas: int = 1,
    **settings: Any,
) -> AsyncIterator[tuple[Receiver, list[httpx.AsyncClient], dict[str, str]]]:
    """``replicas`` routers on one database and broker, knowing ``partners`` and
    ``agreements``, each partner with an endpoint ``/hooks/<id>`` on one real receiver. Yields
    the receiver, a client per router and each partner's signing secret."""
    async with AsyncExitStack() as stack:
        receiver, hooks_url = await stack.enter_async_context(webhook_receiver())
        routers = [
            await stack.enter_async_context(running_router(database_url, broker, **settings))
            for _ in range(replicas)
        ]
        db: Database = routers[0][1]
        await publish(broker, *(p.registered() for p in partners), *agreements)

        async def known() -> bool:
            return await projection_size(db) == (len(partners), len(agreements))

        await eventually(known, timeout=30)
        secrets = {}
        for each in partners:
            response = await routers[0][0].post(
                "/v1/webhook-endpoints",
                headers=bearer(each.key),
                json={"url": f"{hooks_url}/hooks/{each.id}"},
            )
            assert response.status_code == 201, response.text
            secrets[each.id] = response.json()["secret"]
        yield receiver, [http for http, _ in routers], secrets


def why(event: LeadRouted | LeadWaiting | LeadUnroutable) -> RoutingDecision:
    assert event.decision is not None
    return event.decision


def webhooks(receiver: Receiver, partner_id: str, kind: str) -> list[dict[str, Any]]:
    bodies = [json.loads(r.body) for r in receiver.requests[partner_id]]
    return [b["data"] for b in bodies if b["type"] == kind]


def offered_leads(receiver: Receiver, partner_id: str) -> set[str]:
    return {data["lead_id"] for data in webhooks(receiver, partner_id, "lead.offered")}


async def events_until(done: Any, broker: LocalBroker) -> list[Envelope]:
    return await read_until(broker, Topic.LEADS, done)


async def decisions(http: httpx.AsyncClient, token: str, lead_id: str) -> httpx.Response:
    return await http.get(
        "/v1/routing/decisions", params={"lead_id": lead_id}, headers=bearer(token)
    )


async def test_a_capacity_one_partner_gets_one_lead_a_day_and_others_take_the_rest(
    broker: LocalBroker, database_url: str
) -> None:
    small = partner("small", "north", capacity_per_day=1)
    big = partner("big", "north")
    parties = [SHOP, small, big]
    # The small partner is favoured, so it would take every lead but for its capacity.
    deals = [
        agreement("agr-small", SHOP.id, small.id, priority=1),
        agreement("agr-big", SHOP.id, big.id),
    ]
    async with network(broker, database_url, parties, deals) as (receiver, _, _):
        leads = [f"lead-{n}" for n in range(5)]
        await publish(broker, *(lead(n, SHOP.id, "north") for n in leads))
        events = await events_until(
            lambda evs: all(of_type(evs, LeadDelivered, n) for n in leads), broker
        )
        assert len(offered_leads(receiver, small.id)) == 1
        assert offered_leads(receiver, big.id) == set(leads) - offered_leads(receiver, small.id)
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


async def test_two_router_replicas_never_exceed_a_partners_capacity(
    broker: LocalBroker, database_url: str
) -> None:
    small = partner("small", "north", capacity_per_day=1)
    big = partner("big", "north")
    parties = [SHOP, small, big]
    deals = [
        agreement("agr-small", SHOP.id, small.id, priority=1),
        agreement("agr-big", SHOP.id, big.id),
    ]
    async with network(broker, database_url, parties, deals, replicas=2) as (receiver, _, _):
        leads = [f"lead-{n}" for n in range(12)]
        await publish(broker, *(lead(n, SHOP.id, "north") for n in leads))
        events = await events_until(
            lambda evs: all(of_type(evs, LeadDelivered, n) for n in leads), broker
        )
        # The capacity-1 partner received exactly one offer across both replicas.
        assert len(receiver.requests[small.id]) == 1
        assert len(offered_leads(receiver, big.id)) == len(leads) - 1
        assert sum(len(of_type(events, LeadRouted, n)) for n in leads) == len(leads)


async def test_the_partner_of_similar_size_wins_and_the_decision_says_why(
    broker: LocalBroker, database_url: str
) -> None:
    shop = partner("shop", "north", capacity_per_day=10)
    giant = partner("giant", "north", capacity_per_day=1000)
    peer = partner("peer", "north", capacity_per_day=12)
    parties = [shop, giant, peer]
    deals = [agreement("agr-giant", shop.id, giant.id), agreement("agr-peer", shop.id, peer.id)]
    async with network(broker, database_url, parties, deals) as (receiver, _, _):
        await publish(broker, lead("lead-1", shop.id, "north"))
        events = await events_until(lambda evs: bool(of_type(evs, LeadRouted, "lead-1")), broker)
        [routed] = of_type(events, LeadRouted, "lead-1")
        assert routed.target_partner_id == peer.id
        best, other = why(routed).candidates
        assert (best.partner_id, other.partner_id) == (peer.id, giant.id)
        assert best.factors["size"] > other.factors["size"]
        assert best.factors["reciprocity"] == other.factors["reciprocity"]
        assert best.score > other.score
        await eventually(lambda: offered_leads(receiver, peer.id) == {"lead-1"})
        assert receiver.requests[giant.id] == []


async def test_the_partner_that_sends_leads_back_wins(
    broker: LocalBroker, database_url: str
) -> None:
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
    async with network(broker, database_url, parties, deals) as (_, [http], _):
        # The giver sends the shop a lead; the taker gets one from elsewhere (same volume).
        await publish(broker, lead("from-giver", giver.id, "north"))
        await publish(broker, lead("from-other", other.id, "north"))
        await events_until(lambda evs: bool(of_type(evs, LeadRouted, "from-other")), broker)
        await publish(broker, lead("lead-1", SHOP.id, "north"))
        events = await events_until(lambda evs: bool(of_type(evs, LeadRouted, "lead-1")), broker)
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
        response = await decisions(http, SHOP.key, "lead-1")
        assert response.status_code == 200, response.text
        [decision] = response.json()["decisions"]
        assert decision["outcome"] == "routed"
        assert decision["chosen_partner_id"] == giver.id
        assert decision["candidates"] == why(routed).model_dump(mode="json")["candidates"]


async def test_a_rejected_lead_goes_to_the_next_partner(
    broker: LocalBroker, database_url: str
) -> None:
    first, second = partner("first", "north"), partner("second", "north")
    parties = [SHOP, first, second]
    deals = [agreement("agr-1", SHOP.id, first.id), agreement("agr-2", SHOP.id, second.id)]
    async with network(broker, database_url, parties, deals) as (receiver, _, _):
        await publish(broker, lead("lead-1", SHOP.id, "north"))
        events = await events_until(lambda evs: bool(of_type(evs, LeadRouted, "lead-1")), broker)
        [offer] = of_type(events, LeadRouted, "lead-1")
        assert offer.hop == 1
        runner_up = {first.id: second.id, second.id: first.id}[offer.target_partner_id]
        await publish(broker, LeadRejected(lead_id="lead-1", partner_id=offer.target_partner_id))
        events = await events_until(
            lambda evs: len(of_type(evs, LeadRouted, "lead-1")) == 2, broker
        )
        [_, next_offer] = of_type(events, LeadRouted, "lead-1")
        assert (next_offer.target_partner_id, next_offer.hop) == (runner_up, 2)
        assert [(e.partner_id, e.reason) for e in why(next_offer).excluded] == [
            (offer.target_partner_id, "already_offered")
        ]
        await eventually(lambda: offered_leads(receiver, runner_up) == {"lead-1"})
        # A rejection is not withdrawn: the partner said no itself.
        assert webhooks(receiver, offer.target_partner_id, "lead.withdrawn") == []


async def test_unanswered_offers_are_withdrawn_and_after_three_hops_the_lead_is_unroutable(
    broker: LocalBroker, database_url: str
) -> None:
    fitters = [partner(f"fitter-{n}", "north") for n in range(4)]
    deals = [agreement(f"agr-{f.id}", SHOP.id, f.id, accept_within=1) for f in fitters]
    async with network(broker, database_url, [SHOP, *fitters], deals) as (
        receiver,
        [http],
        secrets,
    ):
        await publish(broker, lead("lead-1", SHOP.id, "north"))
        events = await events_until(
            lambda evs: bool(of_type(evs, LeadUnroutable, "lead-1")), broker
        )
        offers = of_type(events, LeadRouted, "lead-1")
        assert [o.hop for o in offers] == [1, 2, 3]
        targets = [o.target_partner_id for o in offers]
        assert len(set(targets)) == 3
        [unroutable] = of_type(events, LeadUnroutable, "lead-1")
        assert unroutable.reason == "offered to 3 partners and none accepted"

        def withdrawn() -> bool:
            return all(webhooks(receiver, t, "lead.withdrawn") for t in targets)

        await eventually(withdrawn)
        for target in targets:
            [notice] = [r for r in receiver.requests[target] if b"lead.withdrawn" in r.body]
            body = Webhook(secrets[target]).verify(notice.body, notice.headers)
            assert body["data"] == {"lead_id": "lead-1", "reason": "expired"}
            [offered] = [r for r in receiver.requests[target] if b"lead.offered" in r.body]
            assert notice.headers["webhook-id"] != offered.headers["webhook-id"]
        [spare] = [f.id for f in fitters if f.id not in targets]
        assert receiver.requests[spare] == []
        response = await decisions(http, ADMIN_TOKEN, "lead-1")
        assert [d["outcome"] for d in response.json()["decisions"]] == [
            "routed",
            "routed",
            "routed",
            "unroutable",
        ]


async def test_a_paused_partners_lead_goes_elsewhere_or_waits_until_it_is_back(
    broker: LocalBroker, database_url: str
) -> None:
    resting = partner("resting", "north", "east", paused=True)
    active = partner("active", "north")
    stranger = partner("stranger", "north")
    parties = [SHOP, resting, active, stranger]
    deals = [
        agreement("agr-resting", SHOP.id, resting.id, priority=5),
        agreement("agr-active", SHOP.id, active.id),
    ]
    async with network(broker, database_url, parties, deals) as (receiver, [http], _):
        await publish(broker, lead("lead-north", SHOP.id, "north"))
        await publish(
            broker, lead("lead-east", SHOP.id, "east")
        )  # only the resting one serves east
        events = await events_until(
            lambda evs: (
                bool(of_type(evs, LeadWaiting, "lead-east"))
                and bool(of_type(evs, LeadRouted, "lead-north"))
            ),
            broker,
        )
        [elsewhere] = of_type(events, LeadRouted, "lead-north")
        assert elsewhere.target_partner_id == active.id
        assert (resting.id, "paused") in {(e.partner_id, e.reason) for e in why(elsewhere).excluded}
        [waiting] = of_type(events, LeadWaiting, "lead-east")
        assert waiting.reason == "no partner can take the lead now (paused)"

        await publish(broker, resting.updated(paused=False))
        events = await events_until(lambda evs: bool(of_type(evs, LeadRouted, "lead-east")), broker)
        [routed] = of_type(events, LeadRouted, "lead-east")
        assert (routed.target_partner_id, routed.hop) == (resting.id, 1)
        await eventually(lambda: offered_leads(receiver, resting.id) == {"lead-east"})

        # The decisions: the source and the operator see them; nobody else, not even the
        # partner the lead went to.
        for token in (SHOP.key, ADMIN_TOKEN):
            response = await decisions(http, token, "lead-east")
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
            response = await decisions(http, token, "lead-east")
            assert response.status_code == 404
            assert response.headers["content-type"].startswith("application/problem+json")
        assert (await decisions(http, ADMIN_TOKEN, "no-such-lead")).status_code == 404
        assert (await decisions(http, "clk_wrong", "lead-east")).status_code == 401


async def test_routing_never_goes_outside_the_customers_consent(
    broker: LocalBroker, database_url: str
) -> None:
    fitter = partner("fitter", "north")
    # Covered by the agreement, favoured by its priority, but a window maker: not consented.
    windows = partner("windows", "north", offers=("windows",))
    parties = [SHOP, fitter, windows]
    deals = [
        agreement("agr-fitter", SHOP.id, fitter.id),
        agreement("agr-windows", SHOP.id, windows.id, priority=9),
    ]
    async with network(broker, database_url, parties, deals) as (receiver, _, _):
        await publish(broker, lead("lead-1", SHOP.id, "north", consent_to=("installation",)))
        events = await events_until(lambda evs: bool(of_type(evs, LeadRouted, "lead-1")), broker)
        [routed] = of_type(events, LeadRouted, "lead-1")
        assert routed.target_partner_id == fitter.id
        [excluded] = why(routed).excluded
        assert (excluded.partner_id, excluded.reason) == (windows.id, "consent")
        await eventually(lambda: offered_leads(receiver, fitter.id) == {"lead-1"})
        assert receiver.requests[windows.id] == []


async def test_no_lead_goes_out_under_an_ended_agreement(
    broker: LocalBroker, database_url: str
) -> None:
    fitter = partner("fitter", "north")
    favourite = partner("favourite", "north")
    parties = [SHOP, fitter, favourite]
    deals = [
        agreement("agr-fitter", SHOP.id, fitter.id),
        agreement("agr-favourite", SHOP.id, favourite.id, priority=9),
    ]
    async with network(broker, database_url, parties, deals) as (receiver, _, _):
        await publish(broker, lead("lead-1", SHOP.id, "north"))
        await eventually(lambda: offered_leads(receiver, favourite.id) == {"lead-1"})
        ended = AgreementEnded(
            agreement_id="agr-favourite", source_partner_id=SHOP.id, target_partner_id=favourite.id
        )
        await publish(broker, ended, lead("lead-2", SHOP.id, "north"))
        events = await events_until(lambda evs: bool(of_type(evs, LeadRouted, "lead-2")), broker)
        [routed] = of_type(events, LeadRouted, "lead-2")
        assert routed.target_partner_id == fitter.id
        assert [c.partner_id for c in why(routed).candidates] == [fitter.id]
        await eventually(lambda: offered_leads(receiver, fitter.id) == {"lead-2"})
        assert offered_leads(receiver, favourite.id) == {"lead-1"}


async def test_a_lead_waiting_for_capacity_is_routed_once_capacity_opens(
    broker: LocalBroker, database_url: str
) -> None:
    only = partner("only", "north", capacity_per_day=1)
    deals = [agreement("agr-only", SHOP.id, only.id)]
    async with network(broker, database_url, [SHOP, only], deals) as (receiver, _, _):
        await publish(broker, lead("lead-1", SHOP.id, "north"), lead("lead-2", SHOP.id, "north"))
        # A duplicate (intake publishes it instead of lead.received) is never offered.
        await publish(
            broker,
            LeadDuplicate(
                lead_id="lead-dup",
                source_partner_id=SHOP.id,
                need="installation",
                original_lead_id="lead-1",
            ),
        )
        events = await events_until(lambda evs: bool(of_type(evs, LeadWaiting, "lead-2")), broker)
        assert [r.target_partner_id for r in of_type(events, LeadRouted, "lead-1")] == [only.id]
        [waiting] = of_type(events, LeadWaiting, "lead-2")
        assert waiting.reason == "no partner can take the lead now (capacity)"

        await publish(broker, only.updated(capacity_per_day=2))
        events = await events_until(lambda evs: bool(of_type(evs, LeadRouted, "lead-2")), broker)
        [routed] = of_type(events, LeadRouted, "lead-2")
        assert (routed.target_partner_id, routed.hop) == (only.id, 1)
        await eventually(lambda: offered_leads(receiver, only.id) == {"lead-1", "lead-2"})
        assert of_type(events, LeadRouted, "lead-dup") == []
        assert of_type(events, LeadWaiting, "lead-dup") == []
        assert of_type(events, LeadUnroutable, "lead-dup") == []
