"""Rate limits in front of every service: per bearer token, and per client address for failed
authentication; over a limit a 429 problem with ``Retry-After``, and nothing behind it runs."""

from __future__ import annotations

import asyncio

import pytest

from tests.service.intake import ADMIN, auth, lead_body, running_intake
from tests.support.services import in_process

pytestmark = [pytest.mark.schema("intake"), pytest.mark.sqlite_only]


async def test_a_key_over_its_rate_gets_429_with_retry_after_and_others_go_on(
    database_url: str,
) -> None:
    async with running_intake(database_url, rate_limit_per_second=1, rate_limit_burst=5) as intake:
        shop = await intake.partner("Shop", ["windows"], ["berlin"])
        other = await intake.partner("Other shop", ["windows"], ["berlin"])
        before = await intake.count_leads()
        answers = await asyncio.gather(
            *(
                intake.client.post(
                    "/v1/leads",
                    headers=auth(shop["api_key"]),
                    json=lead_body(customer={"name": "A", "email": f"a{i}@example.com"}),
                )
                for i in range(8)
            )
        )
        statuses = sorted(a.status_code for a in answers)
        assert statuses == [202] * 5 + [429] * 3
        refused = next(a for a in answers if a.status_code == 429)
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["type"] == "https://crosslead.dev/problems/rate-limited"
        assert refused.headers["Retry-After"] == "1"
        assert await intake.count_leads() == before + 5  # a refused request stores nothing
        mine = await intake.client.get(
            f"/v1/partners/{other['id']}", headers=auth(other["api_key"])
        )
        assert mine.status_code == 200

        await asyncio.sleep(1.1)  # one token back
        again = await intake.client.get(f"/v1/partners/{shop['id']}", headers=auth(shop["api_key"]))
        assert again.status_code == 200


async def test_an_address_that_keeps_failing_authentication_is_refused(database_url: str) -> None:
    async with running_intake(database_url, failed_auth_per_minute=3) as intake:
        shop = await intake.partner("Shop", ["windows"], ["berlin"])
        unused = await intake.partner("Unused", ["windows"], ["berlin"])
        own = f"/v1/partners/{shop['id']}"
        assert (await intake.client.get(own, headers=auth(shop["api_key"]))).status_code == 200
        guesses = [
            await intake.client.get("/v1/leads/lead_x", headers=auth(f"clk_guess-{i}"))
            for i in range(5)
        ]
        assert [g.status_code for g in guesses] == [401, 401, 401, 429, 429]
        assert int(guesses[-1].headers["Retry-After"]) >= 1
        # Any token not seen to authenticate here before is refused from that address...
        never_used = await intake.client.get(
            f"/v1/partners/{unused['id']}", headers=auth(unused["api_key"])
        )
        assert never_used.status_code == 429
        # ...while tokens that did keep working, so one guesser does not lock out its
        # neighbours behind the same address.
        assert (await intake.client.get(own, headers=auth(shop["api_key"]))).status_code == 200
        assert (await intake.client.get("/v1/leads/lead_x", headers=ADMIN)).status_code == 404


@pytest.mark.schema("payouts")
async def test_the_limits_are_on_by_default_on_every_service(database_url: str) -> None:
    async with in_process("payouts", database_url) as payouts:
        answers = [
            (await payouts.client.get("/v1/statements", headers=auth(f"clk_guess-{i}"))).status_code
            for i in range(21)
        ]
        assert answers == [401] * 20 + [429]
