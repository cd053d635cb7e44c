"""A client generated with ``openapi-python-client`` from the gateway's OpenAPI document
(docs/openapi.json) walks the README flow on the real stack: the operator registers a shop,
a fitter and their agreement, the shop submits a lead, the fitter is offered it by a signed
webhook, accepts it and reports a won deal, and the shop reads its commission on its
statement. Every call goes through the generated functions and models, which raise on any
status the document does not declare."""

from __future__ import annotations

import importlib
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest

from crosslead_local.localstack import LocalStack
from tests.e2e.harness import lead
from tests.support import ADMIN_TOKEN, eventually
from tests.support.webhooks import Receiver

DOCUMENT = Path(__file__).parents[2] / "docs" / "openapi.json"
GENERATOR = Path(sys.executable).parent / "openapi-python-client"
PACKAGE = "crosslead_client"


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The generated package, imported (generated once per session)."""
    where = tmp_path_factory.mktemp("generated")
    config = where / "config.yml"
    config.write_text("post_hooks: []\n")  # no formatter run over the generated code
    done = subprocess.run(
        [
            str(GENERATOR),
            "generate",
            "--path",
            str(DOCUMENT),
            "--meta",
            "none",
            "--output-path",
            str(where / PACKAGE),
            "--config",
            str(config),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Warning" not in done.stdout, done.stdout  # nothing of the document was skipped
    sys.path.insert(0, str(where))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(where))
        for name in [m for m in sys.modules if m.split(".")[0] == PACKAGE]:
            del sys.modules[name]


def op(name: str) -> Any:
    """The generated module of an operation: ``op("leads.submit_lead").asyncio(...)``."""
    return importlib.import_module(f"{PACKAGE}.api.{name}")


async def test_a_generated_client_walks_the_readme_flow(
    stack: LocalStack, receiver: tuple[Receiver, str], generated: Any
) -> None:
    async with AsyncExitStack() as clients:

        async def client(service: str, token: str) -> Any:
            # Undeclared statuses raise: the document must list every one the flow meets.
            made = generated.AuthenticatedClient(
                base_url=stack.url(service), token=token, raise_on_unexpected_status=True
            )
            return await clients.enter_async_context(made)

        await walk_the_flow(stack, receiver, client)


async def walk_the_flow(
    stack: LocalStack,
    receiver: tuple[Receiver, str],
    client: Callable[[str, str], Awaitable[Any]],
) -> None:
    hooks, base_url = receiver
    models = importlib.import_module(f"{PACKAGE}.models")
    admin = await client("intake", ADMIN_TOKEN)
    shop = await op("partners.create_partner").asyncio(
        client=admin,
        body=models.PartnerIn(name="Window shop", offers=["windows"], regions=["berlin"]),
    )
    fitter = await op("partners.create_partner").asyncio(
        client=admin,
        body=models.PartnerIn(name="Berlin fitters", offers=["installation"], regions=["berlin"]),
    )
    assert isinstance(shop, models.PartnerCreated)
    assert shop.api_key.startswith("clk_")
    agreement = await op("agreements.create_agreement").asyncio(
        client=admin,
        body=models.AgreementIn.from_dict(
            {
                "source_partner_id": shop.id,
                "target_partner_id": fitter.id,
                "categories": ["installation"],
                "commission": {"type": "percent", "rate": "0.10"},
                "manager_share": "0.20",
            }
        ),
    )
    assert isinstance(agreement, models.AgreementOut)

    fitter_router = await client("router", fitter.api_key)

    async def registered() -> Any:
        created = await op("webhook_endpoints.create_webhook_endpoint").asyncio_detailed(
            client=fitter_router, body=models.EndpointIn(url=f"{base_url}/hooks/{fitter.id}")
        )
        return created.parsed if created.status_code == 201 else None

    endpoint = await eventually(registered, timeout=30)
    assert endpoint.status == models.EndpointCreatedStatus.ENABLED
    hooks.secrets[fitter.id] = endpoint.secret

    shop_intake = await client("intake", shop.api_key)
    submitted = await op("leads.submit_lead").asyncio(
        client=shop_intake, body=models.LeadIn.from_dict(lead("berlin", "+49 30 5550100"))
    )
    assert submitted.status == models.LeadSubmittedStatus.RECEIVED

    [offer] = await eventually(lambda: hooks.offers_for(submitted.id), timeout=30)
    assert offer.partner_id == fitter.id
    assert hooks.rejected_signatures == 0
    offered = models.LeadOfferedData.from_dict(offer.body["data"])
    assert (offered.lead_id, offered.source_partner.id) == (submitted.id, shop.id)

    fitter_intake = await client("intake", fitter.api_key)

    async def accepted() -> Any:
        answer = await op("leads.accept_lead").asyncio_detailed(
            client=fitter_intake, lead_id=submitted.id
        )
        if answer.status_code == 409:  # intake has not applied the routing yet
            assert isinstance(answer.parsed, models.Problem)
            return None
        return answer.parsed

    assert (await eventually(accepted, timeout=30)).status == models.LeadAcceptedStatus.ACCEPTED
    conversion = await op("conversions.report_conversion").asyncio(
        client=fitter_intake,
        body=models.ConversionIn(
            lead_id=submitted.id,
            external_id="deal-1",
            status=models.ConversionInStatus.WON,
            amount="1000.00",
            currency="EUR",
        ),
    )
    assert isinstance(conversion, models.ConversionAccepted)

    shop_payouts = await client("payouts", shop.api_key)

    async def statement() -> Any:
        read = await op("statements.get_statement").asyncio_detailed(client=shop_payouts)
        # Payouts learns of new partners from the event stream: 401 until it has.
        if read.status_code != 200 or len(read.parsed.lines) < 2:
            return None
        return read.parsed

    [eur] = [t for t in (await eventually(statement, timeout=30)).currency_totals]
    assert (eur.currency, eur.earned, eur.manager_payable, eur.net) == (
        "EUR",
        "100.00",
        "20.00",
        "80.00",
    )

    async def converted() -> Any:
        found = await op("leads.get_lead").asyncio(client=shop_intake, lead_id=submitted.id)
        return found if found.status == models.LeadOutStatus.CONVERTED else None

    timeline = [entry.type_ for entry in (await eventually(converted, timeout=30)).timeline]
    assert timeline[:2] == [
        models.TimelineEntryOutType.RECEIVED,
        models.TimelineEntryOutType.ROUTED,
    ]
    assert models.TimelineEntryOutType.CONVERTED in timeline

    missing = await op("leads.get_lead").asyncio_detailed(client=shop_intake, lead_id="lead_none")
    assert missing.status_code == 404
    assert missing.parsed.type_ == "https://crosslead.dev/problems/not-found"
