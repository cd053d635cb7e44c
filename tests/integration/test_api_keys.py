"""A partner's new API key works on every service from its first call: intake signs it, and
router and payouts verify the signature without waiting for the partner's registration to
reach them. Real intake, router and payouts on one broker, each with its own database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

from crosslead_common.localstack import LocalBroker
from crosslead_common.migrations import upgrade
from crosslead_payouts.app import create_app as create_payouts
from crosslead_payouts.cli import MIGRATIONS as PAYOUTS_MIGRATIONS
from crosslead_payouts.models import Base as PayoutsBase
from crosslead_payouts.settings import PayoutsSettings
from tests.conftest import postgres_database
from tests.integration.router_support import bearer, running_router
from tests.integration.test_intake_api import Intake
from tests.support import ADMIN_TOKEN, serve


@asynccontextmanager
async def another_database(database_url: str, tmp_path: Path, name: str) -> AsyncIterator[str]:
    """A second empty database on the same backend as ``database_url``."""
    if database_url.startswith("sqlite"):
        yield f"sqlite+aiosqlite:///{tmp_path / f'{name}.db'}"
        return
    async with postgres_database() as url:
        yield url


@asynccontextmanager
async def running_payouts(
    database_url: str, broker: LocalBroker
) -> AsyncIterator[httpx.AsyncClient]:
    await upgrade(database_url, PAYOUTS_MIGRATIONS, PayoutsBase.metadata)
    settings = PayoutsSettings(
        admin_token=ADMIN_TOKEN,
        kafka_bootstrap_servers=broker.bootstrap_servers,
        kafka_topic_partitions=2,
        database_url=database_url,
    )
    async with serve(create_payouts(settings)) as url, httpx.AsyncClient(base_url=url) as http:
        yield http


async def test_a_hundred_new_keys_work_on_router_and_payouts_at_once(
    intake: Intake, broker: LocalBroker, database_url: str, tmp_path: Path
) -> None:
    async with (
        another_database(database_url, tmp_path, "router") as router_db,
        another_database(database_url, tmp_path, "payouts") as payouts_db,
        running_router(router_db, broker) as (router, _),
        running_payouts(payouts_db, broker) as payouts,
    ):
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
