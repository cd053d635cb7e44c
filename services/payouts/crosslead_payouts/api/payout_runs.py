"""``POST /v1/payout-runs`` and ``GET /v1/payout-runs/{id}`` (JSON or CSV)."""

from __future__ import annotations

import hashlib
from typing import Annotated

from fastapi import APIRouter, Header, Request, Response
from sqlalchemy.exc import IntegrityError

from crosslead_common.db import utcnow
from crosslead_common.domain import Forbidden, InvalidField
from crosslead_common.runtime import get_runtime
from crosslead_payouts import queries, repository, service
from crosslead_payouts.api.csv_export import CSV_RESPONSE, csv_response, wants_csv
from crosslead_payouts.api.deps import Caller, Session
from crosslead_payouts.api.schemas import PayoutRunIn, PayoutRunOut
from crosslead_payouts.models import PayoutRun
from crosslead_payouts.settings import PayoutsSettings

router = APIRouter(tags=["payout runs"])

HEADER = "Idempotency-Key"
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias=HEADER,
        min_length=1,
        max_length=200,
        description="The same key with the same body returns the first run",
    ),
]


@router.post("/v1/payout-runs", status_code=201)
async def create_payout_run(
    body: PayoutRunIn, principal: Caller, request: Request, idempotency_key: IdempotencyKey = None
) -> PayoutRunOut:
    """Settle everything available in one currency: obligations between two partners net into
    one transfer, managers are paid by their partners, and amounts below the minimum payout or
    negative ones are carried forward. Operator only."""
    if not principal.is_admin:
        raise Forbidden("only the operator may start a payout run")
    fingerprint = hashlib.sha256(body.model_dump_json().encode()).hexdigest()
    try:
        run, created = await _run(request, body.currency, idempotency_key, fingerprint)
    except IntegrityError:
        # A concurrent request with the same key (for another currency) committed first.
        earlier = await _run_by_key(request, idempotency_key)
        if earlier is None:
            raise
        run, created = earlier, False
    if not created and run.request_hash != fingerprint:
        raise InvalidField(HEADER, "this key was already used with a different request body")
    return PayoutRunOut.of(run)


async def _run(
    request: Request, currency: str, key: str | None, fingerprint: str
) -> tuple[PayoutRun, bool]:
    runtime = get_runtime(request)
    settings = runtime.settings
    assert isinstance(settings, PayoutsSettings)
    async with runtime.db.transaction() as session:
        return await service.run_payouts(
            session,
            currency,
            minimum=settings.minimum_payout_minor(currency),
            at=utcnow(),
            idempotency_key=key,
            request_hash=fingerprint,
        )


async def _run_by_key(request: Request, key: str | None) -> PayoutRun | None:
    if key is None:
        return None
    async with get_runtime(request).db.sessionmaker() as session:
        return await repository.payout_run_by_key(session, key)


@router.get("/v1/payout-runs/{run_id}", response_model=PayoutRunOut, responses=CSV_RESPONSE)
async def get_payout_run(
    run_id: str, principal: Caller, session: Session, request: Request
) -> PayoutRunOut | Response:
    """A recorded run (the operator, or a partner that takes part in it); ``Accept: text/csv``
    gives one row per transfer, manager payout and carried amount."""
    run = PayoutRunOut.of(await queries.payout_run(session, run_id, principal))
    if not wants_csv(request):
        return run
    return csv_response(run.CSV_HEADER, run.csv_rows(), f"{run.id}.csv")
