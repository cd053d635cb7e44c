"""Payout runs on real databases: netting, manager payouts, holding periods,
minimum payouts, refunds after a run (carried forward as negative amounts),
idempotency, access rules, CSV, and the ``payout.settled`` events that tell the lead timeline
it was paid."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from crosslead_common.events import Envelope, Topic
from crosslead_payouts.reconcile import reconcile
from tests.support import ADMIN, bearer, eventually
from tests.support.payouts import KEYS, A, B, C, conversion, partner
from tests.support.services import Service, in_process

pytestmark = pytest.mark.schema("payouts")


@pytest.fixture
async def service(database_url: str) -> AsyncIterator[Service]:
    """The payouts service (minimum payout 10.00 EUR) with partners A, B and C registered."""
    async with in_process("payouts", database_url, minimum_payouts="EUR=10.00") as running:
        await running.deliver(*(partner(p) for p in (A, B, C)))
        yield running
        async with running.db.sessionmaker() as session:
            assert await reconcile(session) == []  # every test leaves a sound ledger


@pytest.fixture
def payouts(service: Service) -> httpx.AsyncClient:
    return service.client


async def totals_when(
    http: httpx.AsyncClient,
    partner_id: str,
    check: Callable[[dict[str, str]], bool],
    currency: str = "EUR",
) -> dict[str, str]:
    """The partner's totals in ``currency`` (``net`` and its breakdown into ``pending``,
    ``available`` and ``paid``) once ``check`` accepts them."""

    async def probe() -> dict[str, str] | None:
        response = await http.get("/v1/statements", headers=bearer(KEYS[partner_id]))
        if response.status_code != 200:
            return None  # not registered here yet
        body = response.json()
        found = [
            {**totals, **balance}
            for totals, balance in zip(body["currency_totals"], body["balances"], strict=True)
            if totals["currency"] == currency
        ]
        return found[0] if found and check(found[0]) else None

    return await eventually(probe, timeout=30)


async def run(http: httpx.AsyncClient, currency: str = "EUR", **headers: str) -> dict[str, Any]:
    response = await http.post(
        "/v1/payout-runs", json={"currency": currency}, headers={**ADMIN, **headers}
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def money(amount: str, **fields: str | None) -> dict[str, str | None]:
    return {**fields, "amount": amount, "currency": "EUR"}


async def test_mutual_obligations_net_into_one_transfer_and_a_refund_after_the_run_is_netted_next(
    service: Service, payouts: httpx.AsyncClient
) -> None:
    # A owes B 200.00 (B passed A a lead, A won 2 000.00) and B owes A 300.00 (the other way).
    to_a = conversion("lead_ba", "won", "2000.00", source=B, target=A, manager_id="m-b")
    to_b = conversion("lead_ab", "won", "3000.00", source=A, target=B, manager_id="m-a")
    await service.deliver(to_a, to_b)
    await totals_when(payouts, A, lambda t: t["net"] == "40.00")  # 300 - 200 - 60 (manager)

    first = await run(payouts)
    assert first["transfers"] == [money("100.00", from_partner_id=B, to_partner_id=A)]
    assert first["manager_payouts"] == [
        money("60.00", partner_id=A, manager_id="m-a"),
        money("40.00", partner_id=B, manager_id="m-b"),
    ]
    assert first["carried_forward"] == []
    a = await totals_when(payouts, A, lambda t: t["paid"] == "40.00")
    assert (a["pending"], a["available"]) == ("0.00", "0.00")

    settled = await service.outbox(Topic.COMMISSIONS)
    payout_events = sorted(
        (e.subject, e.data["commission"], e.data["manager_amount"], e.data["payout_run_id"])
        for e in settled
        if e.type == "crosslead.payout.settled.v1"
    )
    assert payout_events == [
        ("lead_ab", "300.00", "60.00", first["id"]),
        ("lead_ba", "200.00", "40.00", first["id"]),
    ]

    # Half the deal A earned on is refunded after the run: A was paid 150.00 too much, and
    # its manager 30.00. The next run carries both forward as negative amounts.
    await service.deliver(conversion("lead_ab", "refunded", "1500.00", source=A, target=B))
    await totals_when(payouts, A, lambda t: t["available"] == "-120.00")
    second = await run(payouts)
    assert second["transfers"] == []
    assert second["manager_payouts"] == []
    assert second["carried_forward"] == [
        money("-150.00", from_partner_id=B, to_partner_id=A, manager_id=None),
        money("-30.00", from_partner_id=A, to_partner_id=None, manager_id="m-a"),
    ]

    # A's next commission (500.00 on a new deal) and its manager's share of it (100.00) net
    # the negative carries.
    await service.deliver(
        conversion("lead_ab2", "won", "5000.00", source=A, target=B, manager_id="m-a")
    )
    await totals_when(payouts, A, lambda t: t["available"] == "280.00")  # -150 + 500 - 70
    third = await run(payouts)
    assert third["transfers"] == [money("350.00", from_partner_id=B, to_partner_id=A)]
    assert third["manager_payouts"] == [money("70.00", partner_id=A, manager_id="m-a")]
    assert third["carried_forward"] == []

    # The operator reads the recorded run as it was answered; a partner in it sees only its
    # own transfers and its own managers' payouts, in JSON or CSV.
    assert (await payouts.get(f"/v1/payout-runs/{first['id']}", headers=ADMIN)).json() == first
    fetched = await payouts.get(f"/v1/payout-runs/{first['id']}", headers=bearer(KEYS[A]))
    assert fetched.json() == {
        **first,
        "manager_payouts": [money("60.00", partner_id=A, manager_id="m-a")],
    }
    own_csv = await payouts.get(
        f"/v1/payout-runs/{first['id']}", headers={**bearer(KEYS[B]), "Accept": "text/csv"}
    )
    assert list(csv.reader(io.StringIO(own_csv.text)))[1:] == [
        ["transfer", B, A, "", "100.00", "EUR"],
        ["manager_payout", B, "", "m-b", "40.00", "EUR"],
    ]
    second_csv = await payouts.get(
        f"/v1/payout-runs/{second['id']}", headers={**ADMIN, "Accept": "text/csv"}
    )
    assert list(csv.reader(io.StringIO(second_csv.text)))[1][4] == "-150.00"  # still a number
    second_as_b = await payouts.get(f"/v1/payout-runs/{second['id']}", headers=bearer(KEYS[B]))
    assert second_as_b.json()["carried_forward"] == [
        money("-150.00", from_partner_id=B, to_partner_id=A, manager_id=None)
    ]
    as_csv = await payouts.get(
        f"/v1/payout-runs/{first['id']}", headers={**ADMIN, "Accept": "text/csv"}
    )
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert list(csv.reader(io.StringIO(as_csv.text))) == [
        ["type", "from_partner_id", "to_partner_id", "manager_id", "amount", "currency"],
        ["transfer", B, A, "", "100.00", "EUR"],
        ["manager_payout", A, "", "m-a", "60.00", "EUR"],
        ["manager_payout", B, "", "m-b", "40.00", "EUR"],
    ]


async def test_holding_period_minimum_payout_and_currencies(
    service: Service, payouts: httpx.AsyncClient
) -> None:
    def deal(lead_id: str, status: str, amount: str, **overrides: Any) -> Any:
        return conversion(lead_id, status, amount, source=A, target=B, share="0", **overrides)

    month_ago = datetime.now(UTC) - timedelta(days=31)
    await service.deliver(
        # Reported a month ago with 30 holding days: available now.
        Envelope.wrap(
            deal("lead_old", "won", "1000.00", holding_days=30), source="t", time=month_ago
        ),
        # Reported now: pending for 30 days; half of it is refunded inside the period.
        deal("lead_new", "won", "2000.00", holding_days=30),
        deal("lead_new", "refunded", "1000.00"),
        # 5.00 in USD: another currency, with no minimum payout.
        deal("lead_usd", "won", "50.00", currency="USD"),
    )
    a = await totals_when(payouts, A, lambda t: t["net"] == "200.00")
    assert (a["pending"], a["available"]) == ("100.00", "100.00")
    await totals_when(payouts, A, lambda t: t["available"] == "5.00", currency="USD")

    eur = await run(payouts)
    assert eur["transfers"] == [money("100.00", from_partner_id=B, to_partner_id=A)]
    usd = await run(payouts, "USD")
    assert usd["transfers"] == [
        {"from_partner_id": B, "to_partner_id": A, "amount": "5.00", "currency": "USD"}
    ]
    a = await totals_when(payouts, A, lambda t: t["paid"] == "100.00")
    assert (a["pending"], a["available"]) == ("100.00", "0.00")

    # 5.00 EUR available is below the 10.00 EUR minimum: carried forward, not paid.
    await service.deliver(deal("lead_small", "won", "50.00"))
    await totals_when(payouts, A, lambda t: t["available"] == "5.00")
    small = await run(payouts)
    assert small["transfers"] == []
    assert small["carried_forward"] == [
        money("5.00", from_partner_id=B, to_partner_id=A, manager_id=None)
    ]


async def test_runs_are_idempotent_by_key_and_only_the_operator_starts_them(
    service: Service, payouts: httpx.AsyncClient
) -> None:
    await service.deliver(conversion("lead_1", "won", "1000.00", source=A, target=B, share="0"))
    await totals_when(payouts, A, lambda t: t["available"] == "100.00")

    first = await run(payouts, **{"Idempotency-Key": "run-1"})
    again = await run(payouts, **{"Idempotency-Key": "run-1"})
    assert again == first
    other_body = await payouts.post(
        "/v1/payout-runs", json={"currency": "USD"}, headers={**ADMIN, "Idempotency-Key": "run-1"}
    )
    assert other_body.status_code == 422
    assert other_body.json()["errors"][0]["field"] == "Idempotency-Key"

    as_partner = await payouts.post(
        "/v1/payout-runs", json={"currency": "EUR"}, headers=bearer(KEYS[A])
    )
    assert as_partner.status_code == 403
    assert as_partner.headers["content-type"] == "application/problem+json"
    unknown_currency = await payouts.post(
        "/v1/payout-runs", json={"currency": "XYZ"}, headers=ADMIN
    )
    assert unknown_currency.status_code == 422
    # A field the run does not know is refused, not ignored: nothing is settled by mistake.
    typo = await payouts.post(
        "/v1/payout-runs", json={"currency": "EUR", "dryrun": True}, headers=ADMIN
    )
    assert typo.status_code == 422
    assert typo.json()["errors"][0]["field"] == "dryrun"

    outsider = await payouts.get(f"/v1/payout-runs/{first['id']}", headers=bearer(KEYS[C]))
    assert outsider.status_code == 404
    assert (await payouts.get("/v1/payout-runs/run_nope", headers=ADMIN)).status_code == 404
    foreign = await payouts.get("/v1/statements", headers=bearer(KEYS[C]), params={"partner_id": A})
    assert foreign.status_code == 404


async def test_a_preview_shows_the_run_to_come_and_books_nothing(
    service: Service, payouts: httpx.AsyncClient
) -> None:
    await service.deliver(conversion("lead_1", "won", "1000.00", source=A, target=B))
    before = await totals_when(payouts, A, lambda t: t["available"] == "80.00")

    async def preview(**headers: str) -> httpx.Response:
        return await payouts.post(
            "/v1/payout-runs",
            json={"currency": "EUR", "dry_run": True},
            headers={**ADMIN, **headers},
        )

    first = await preview()
    assert first.status_code == 200, first.text
    planned = first.json()
    assert "id" not in planned
    assert planned["currency"] == "EUR"
    assert planned["transfers"] == [money("100.00", from_partner_id=B, to_partner_id=A)]
    assert planned["manager_payouts"] == [money("20.00", partner_id=A, manager_id="m-1")]
    # Nothing was booked: the balance is still available, and no payout event was written.
    again = await preview(**{"Idempotency-Key": "preview-1"})
    assert again.json()["transfers"] == planned["transfers"]
    assert await totals_when(payouts, A, lambda t: t["available"] == "80.00") == before
    assert [e for e in await service.outbox(Topic.COMMISSIONS) if "payout" in e.type] == []

    # The run that follows makes exactly the previewed transfers; a key used by a preview is
    # still free for a run.
    made = await run(payouts, **{"Idempotency-Key": "preview-1"})
    assert (made["transfers"], made["manager_payouts"]) == (
        planned["transfers"],
        planned["manager_payouts"],
    )
    assert (await preview()).json()["transfers"] == []
    as_partner = await payouts.post(
        "/v1/payout-runs", json={"currency": "EUR", "dry_run": True}, headers=bearer(KEYS[A])
    )
    assert as_partner.status_code == 403
    bad = await payouts.post(
        "/v1/payout-runs", json={"currency": "XYZ", "dry_run": True}, headers=ADMIN
    )
    assert (bad.status_code, bad.json()["errors"][0]["field"]) == (422, "currency")


async def test_concurrent_runs_never_settle_the_same_balance_twice(
    service: Service, payouts: httpx.AsyncClient
) -> None:
    await service.deliver(
        *(conversion(f"lead_{n}", "won", "100.00", source=A, target=B) for n in range(5)),
    )
    await totals_when(payouts, A, lambda t: t["available"] == "40.00")

    runs = await asyncio.gather(*(run(payouts) for _ in range(4)))
    transfers = [transfer for body in runs for transfer in body["transfers"]]
    assert transfers == [money("50.00", from_partner_id=B, to_partner_id=A)]
    assert [p for body in runs for p in body["manager_payouts"]] == [
        money("10.00", partner_id=A, manager_id="m-1")
    ]
    a = await totals_when(payouts, A, lambda t: t["paid"] == "40.00")
    assert a["available"] == "0.00"


async def test_statements_export_as_csv(service: Service, payouts: httpx.AsyncClient) -> None:
    await service.deliver(conversion("lead_1", "won", "1000.00", source=A, target=B))
    await totals_when(payouts, A, lambda t: t["net"] == "80.00")
    response = await payouts.get(
        "/v1/statements", headers={**bearer(KEYS[A]), "Accept": "text/csv"}
    )
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [(r["lead_id"], r["kind"], r["amount"], r["manager_id"]) for r in rows] == [
        ("lead_1", "commission_earned", "100.00", ""),
        ("lead_1", "manager_payable", "20.00", "m-1"),
    ]


async def test_csv_cells_a_spreadsheet_would_run_are_neutralised(
    service: Service, payouts: httpx.AsyncClient
) -> None:
    hostile = ['=HYPERLINK("http://evil")', "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx"]
    await service.deliver(
        *(
            conversion(f"lead_{n}", "won", "1000.00", source=A, target=B, manager_id=manager)
            for n, manager in enumerate(hostile)
        )
    )
    await totals_when(payouts, A, lambda t: t["net"] == "480.00")
    statement = await payouts.get(
        "/v1/statements", headers={**bearer(KEYS[A]), "Accept": "text/csv"}
    )
    managers = [r["manager_id"] for r in csv.DictReader(io.StringIO(statement.text))]
    assert sorted(m for m in managers if m) == sorted("'" + m for m in hostile)
    paid = await payouts.get(
        f"/v1/payout-runs/{(await run(payouts))['id']}", headers={**ADMIN, "Accept": "text/csv"}
    )
    cells = [cell for row in csv.reader(io.StringIO(paid.text)) for cell in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "@", "\t", "\r")]
    assert '\'=HYPERLINK("http://evil")' in cells
