"""``POST /v1/payout-runs`` and ``GET /v1/payout-runs/{id}`` (JSON or CSV)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from sqlalchemy.exc import IntegrityError

from crosslead_common.api.deps import AdminOnly, Caller, ReadSession, RuntimeDep, settings_of
from crosslead_common.api.idempotency import IdempotencyKey, check_key, check_replay, fingerprint
from crosslead_common.db import utcnow
from crosslead_common.runtime import Runtime
from crosslead_payouts import queries, repository, service
from crosslead_payouts.api.csv_export import CSV_RESPONSE, csv_response, wants_csv
from crosslead_payouts.api.schemas import PayoutRunIn, PayoutRunOut, PayoutRunPreviewOut
from crosslead_payouts.models import PayoutRun
from crosslead_payouts.settings import PayoutsSettings

router = APIRouter(tags=["payout runs"])


@router.post(
    "/v1/payout-runs",
    status_code=201,
    responses={
        200: {
            "model": PayoutRunPreviewOut,
            "description": "`dry_run`: what a run would make now; nothing is booked",
        }
    },
)
async def create_payout_run(
    body: PayoutRunIn,
    _: AdminOnly,
    runtime: RuntimeDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> PayoutRunOut | PayoutRunPreviewOut:
    """Settle everything available in one currency: obligations between two partners net into
    one transfer, managers are paid by their partners, and amounts below the minimum payout or
    negative ones are carried forward. With ``dry_run`` the same plan is answered with 200 and
    nothing is booked (an ``Idempotency-Key`` is then ignored). Operator only."""
    if body.dry_run:
        response.status_code = 200
        return await _preview(runtime, body.currency)
    if idempotency_key is not None:
        check_key(idempotency_key)
    body_hash = fingerprint(body)
    try:
        run, created = await _run(runtime, body.currency, idempotency_key, body_hash)
    except IntegrityError:
        # A concurrent request with the same key (for another currency) committed first.
        earlier = await _run_by_key(runtime, idempotency_key)
        if earlier is None:
            raise
        run, created = earlier, False
    if not created:
        check_replay(run.request_hash, body_hash)
    return PayoutRunOut.of(run)


async def _run(
    runtime: Runtime, currency: str, key: str | None, body_hash: str
) -> tuple[PayoutRun, bool]:
    settings = settings_of(runtime, PayoutsSettings)
    async with runtime.db.transaction() as session:
        return await service.run_payouts(
            session,
            currency,
            minimum=settings.minimum_payout_minor(currency),
            at=utcnow(),
            idempotency_key=key,
            request_hash=body_hash,
        )


async def _preview(runtime: Runtime, currency: str) -> PayoutRunPreviewOut:
    settings = settings_of(runtime, PayoutsSettings)
    at = utcnow()
    async with runtime.db.sessionmaker() as session:
        result = await service.preview_payouts(
            session, currency, minimum=settings.minimum_payout_minor(currency), at=at
        )
    return PayoutRunPreviewOut.of(currency, result, at)


async def _run_by_key(runtime: Runtime, key: str | None) -> PayoutRun | None:
    if key is None:
        return None
    async with runtime.db.sessionmaker() as session:
        return await repository.payout_run_by_key(session, key)


@router.get("/v1/payout-runs/{run_id}", response_model=PayoutRunOut, responses=CSV_RESPONSE)
async def get_payout_run(
    run_id: str, principal: Caller, session: ReadSession, request: Request
) -> PayoutRunOut | Response:
    """A recorded run (the operator, or a partner that takes part in it); ``Accept: text/csv``
    gives one row per transfer, manager payout and carried amount."""
    run = PayoutRunOut.of(await queries.payout_run(session, run_id, principal))
    if not wants_csv(request):
        return run
    return csv_response(run.CSV_HEADER, run.csv_rows(), f"{run.id}.csv")
