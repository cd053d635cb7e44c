"""A partner's new API key works on every service from its first call: intake signs it, and
router and payouts verify the signature without waiting for the partner's registration to
reach them. Real intake, router and payouts on one broker, each with its own database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from crosslead_local.localstack import LocalBroker
from tests.service.intake import Intake
from tests.support import bearer
from tests.support.databases import postgres_database
from tests.support.router import running_router
from tests.support.services import served

pytestmark = pytest.mark.schema("intake")


@asynccontextmanager
async def another_database(database_url: str, tmp_path: Path, name: str) -> AsyncIterator[str]:
    """A second empty database on the same backend as ``database_url``."""
    if database_url.startswith("sqlite"):
        yield f"sqlite+aiosqlite:///{tmp_path / f'{name}.db'}"
        return
    async with postgres_database() as url:
        yield url


@pytest.fixture
async def intake(database_url: str, broker: LocalBroker) -> AsyncIterator[Intake]:
    """Intake served with its relay on ``broker``."""
    async with served("intake", database_url, broker.bootstrap_servers) as running:
        yield Intake(running)


async def test_a_hundred_new_keys_work_on_router_and_payouts_at_once(
    intake: Intake, broker: LocalBroker, database_url: str, tmp_path: Path
) -> None:
    async with (
        another_database(database_url, tmp_path, "router") as router_db,
        another_database(database_url, tmp_path, "payouts") as payouts_db,
        running_router(router_db, broker) as (router, _),
        served("payouts", payouts_db, broker.bootstrap_servers) as payouts_service,
    ):
        payouts = payouts_service.client
        refused = []
        for n in range(100):
            created = await intake.partner(f"Partner {n}", ["installation"], ["berlin"])
            key = bearer(created["api_key"])
            endpoints = await router.get("/v1/webhook-endpoints", headers=key)
            statement = await payouts.get("/v1/statements", headers=key)
            if endpoints.status_code != 200 or statement.status_code != 200:
                refused.append((n, endpoints.status_code, statement.status_code))
            elif n == 0:
                assert endpoints.json() == {"items": []}
                assert statement.json()["partner_id"] == created["id"]
        assert refused == []

        # A key is only as good as its signature: altered, it is refused everywhere.
        prefix, nonce, mac = created["api_key"].split(".")
        for forged in (
            f"{prefix}.{nonce}.{mac[:-1]}A" if mac[-1] != "A" else f"{prefix}.{nonce}.{mac[:-1]}B",
            f"clk_ptr_someone_else.{nonce}.{mac}",
            f"{prefix}.{nonce}",
        ):
            for http, path in (
                (router, "/v1/webhook-endpoints"),
                (payouts, "/v1/statements"),
                (intake.client, f"/v1/partners/{created['id']}"),
            ):
                response = await http.get(path, headers=bearer(forged))
                assert response.status_code == 401, (forged, path)
