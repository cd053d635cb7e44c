"""Webhook signing secrets at rest, on the real databases: the columns never hold a secret in
clear, the API still hands it out, a rotation of the at-rest key keeps every stored secret
readable and moves it to the new key. (The migration that seals the secrets stored before it:
tests/service/test_migrations.py.)"""

from __future__ import annotations

import pytest
from sqlalchemy import text

from crosslead_common.crypto import KeyRing, Undecryptable, new_key
from crosslead_router import sealing
from crosslead_router.workers import reseal_secrets
from tests.support import ADMIN, SECRETS_KEY, bearer
from tests.support.router import partner
from tests.support.services import Service, in_process

pytestmark = pytest.mark.schema("router")


async def stored(router: Service) -> list[tuple[str, str, str | None]]:
    """(id, secret, previous_secret) as the table holds them."""
    async with router.db.sessionmaker() as session:
        rows = await session.execute(
            text("SELECT id, secret, previous_secret FROM webhook_endpoints ORDER BY id")
        )
        return [(row[0], row[1], row[2]) for row in rows]


FITTER = partner("ptr_fitter", "north")


async def create_endpoint(router: Service) -> tuple[str, str]:
    """A new endpoint of the fitter's: its id and its secret."""
    await router.deliver(FITTER.registered())  # applied once however often it is delivered
    response = await router.client.post(
        "/v1/webhook-endpoints",
        json={"url": "http://127.0.0.1:9/hooks"},
        headers=bearer(FITTER.key),
    )
    assert response.status_code == 201, response.text
    return response.json()["id"], response.json()["secret"]


async def secret_of(router: Service, endpoint_id: str) -> str:
    response = await router.client.get(f"/v1/webhook-endpoints/{endpoint_id}/secret", headers=ADMIN)
    assert response.status_code == 200, response.text
    secret: str = response.json()["secret"]
    return secret


async def test_the_table_never_holds_a_secret_in_clear(database_url: str) -> None:
    async with in_process("router", database_url) as router:
        endpoint_id, first = await create_endpoint(router)
        rotated = await router.client.post(
            f"/v1/webhook-endpoints/{endpoint_id}/rotate-secret",
            json={"previous_valid_for_seconds": 3600},
            headers=ADMIN,
        )
        assert rotated.status_code == 200, rotated.text
        second = rotated.json()["secret"]
        assert first.startswith("whsec_")
        assert second != first

        [(_, secret, previous)] = await stored(router)
        assert previous is not None
        for column in (secret, previous):
            assert column.startswith("v1.")
            for clear in (
                first,
                second,
                first.removeprefix("whsec_"),
                second.removeprefix("whsec_"),
            ):
                assert clear not in column
        assert await secret_of(router, endpoint_id) == second
        ring = KeyRing.from_settings(SECRETS_KEY)
        assert ring.open(previous, f"webhook_endpoints/{endpoint_id}").decode() == first


async def test_a_sealed_secret_copied_to_another_endpoint_does_not_open(database_url: str) -> None:
    async with in_process("router", database_url) as router:
        one, _ = await create_endpoint(router)
        other, _ = await create_endpoint(router)
        copied = dict((row[0], row[1]) for row in await stored(router))[one]
        with pytest.raises(Undecryptable):
            KeyRing.from_settings(SECRETS_KEY).open(copied, f"webhook_endpoints/{other}")


async def test_rotating_the_at_rest_key_keeps_secrets_readable_and_reseals_them(
    database_url: str,
) -> None:
    async with in_process("router", database_url) as router:
        endpoint_id, secret = await create_endpoint(router)
        [(_, before, _)] = await stored(router)

    rotated = new_key()
    async with in_process(
        "router", database_url, secrets_key=rotated, secrets_key_previous=SECRETS_KEY
    ) as router:
        # in_process migrates a fresh copy: the row sealed under the old key is put back.
        async with router.db.transaction() as session:
            await session.execute(
                text(
                    "INSERT INTO webhook_endpoints (id, partner_id, url, secret, status, "
                    "created_at) VALUES (:id, 'ptr_fitter', 'https://crm.example.com/hooks', "
                    ":secret, 'enabled', CURRENT_TIMESTAMP)"
                ),
                {"id": endpoint_id, "secret": before},
            )
        assert await secret_of(router, endpoint_id) == secret  # opened with the previous key

        async with router.db.transaction() as session:
            assert await reseal_secrets(session) == 1
        async with router.db.transaction() as session:
            assert await reseal_secrets(session) == 0  # nothing left under the old key
        [(_, after, _)] = await stored(router)
        assert after != before

        sealing.configure(KeyRing.from_settings(rotated))  # the old key dropped
        try:
            assert await secret_of(router, endpoint_id) == secret
        finally:
            sealing.configure(KeyRing.from_settings(SECRETS_KEY))
