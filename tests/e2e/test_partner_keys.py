"""A partner's API keys on the running system: a rotated key works on intake, router and
payouts; a revoked one, or any key of a disabled partner, is refused by all three; and a
disabled partner is offered nothing."""

from __future__ import annotations

from tests.e2e.harness import Client, Partner
from tests.support import ADMIN, eventually
from tests.support.webhooks import Receiver

#: A read each service answers for a partner's key (401 for one it refuses).
PROBES = {
    "intake": "/v1/partners/{id}",
    "router": "/v1/webhook-endpoints",
    "payouts": "/v1/statements",
}


async def answers(client: Client, partner: Partner) -> dict[str, int]:
    """The status each service answers the partner's key with."""
    statuses = {}
    for service, path in PROBES.items():
        response = await client.get(service, path.format(id=partner.id), partner.auth)
        statuses[service] = response.status_code
    return statuses


async def until_answered(client: Client, partner: Partner, status: int) -> None:
    """Wait until every service answers the partner's key with ``status``."""

    async def all_answer() -> bool:
        return set((await answers(client, partner)).values()) == {status}

    await eventually(all_answer, timeout=30)


async def test_rotated_keys_work_revoked_and_disabled_ones_are_refused_everywhere(
    client: Client, receiver: tuple[Receiver, str]
) -> None:
    hooks, base_url = receiver
    shop = await client.partner("Window shop", ["windows"], ["berlin"])
    fitter = await client.partner("Berlin fitters", ["installation"], ["berlin"])
    await client.agreement(shop, fitter)
    await client.webhook_endpoint(fitter, hooks, base_url)
    await until_answered(client, fitter, 200)

    # The fitter rotates its key: the new one works everywhere at once, the old one too for
    # the overlap.
    response = await client.http.post(
        client.url("intake", f"/v1/partners/{fitter.id}/api-keys"), headers=fitter.auth, json={}
    )
    assert response.status_code == 201, response.text
    rotated = Partner(fitter.id, fitter.name, response.json()["api_key"])
    assert await answers(client, rotated) == dict.fromkeys(PROBES, 200)
    assert await answers(client, fitter) == dict.fromkeys(PROBES, 200)

    # It revokes the old key with the new one: every service refuses the old key.
    listed = await client.get("intake", f"/v1/partners/{fitter.id}/api-keys", rotated.auth)
    old_id = listed.json()["items"][0]["id"]
    response = await client.http.delete(
        client.url("intake", f"/v1/partners/{fitter.id}/api-keys/{old_id}"), headers=rotated.auth
    )
    assert response.status_code == 204, response.text
    await until_answered(client, fitter, 401)
    assert await answers(client, rotated) == dict.fromkeys(PROBES, 200)

    # The operator disables the fitter: its remaining key is refused everywhere, and a lead
    # it is the only candidate for is not offered to it.
    response = await client.http.patch(
        client.url("intake", f"/v1/partners/{fitter.id}"),
        headers=ADMIN,
        json={"status": "disabled"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "disabled"
    await until_answered(client, rotated, 401)

    lead_id = await client.submit_lead(shop, region="berlin")
    await client.until_status(lead_id, "unroutable")
    decisions = await client.get("router", f"/v1/routing/decisions?lead_id={lead_id}", shop.auth)
    assert decisions.status_code == 200, decisions.text
    [decision] = decisions.json()["decisions"]
    assert decision["excluded"] == [
        {"partner_id": fitter.id, "reason": "disabled", "detail": "disabled by the operator"}
    ]
    assert hooks.offers_for(lead_id) == []
