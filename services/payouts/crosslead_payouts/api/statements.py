"""``GET /v1/statements``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from crosslead_common.api.contract import raises
from crosslead_common.api.deps import Caller, ReadSession
from crosslead_common.db import utcnow
from crosslead_common.domain import InvalidField, NotFound
from crosslead_payouts import queries
from crosslead_payouts.api.csv_export import CSV_RESPONSE, csv_response, wants_csv
from crosslead_payouts.api.deps import own_partner_scope
from crosslead_payouts.api.schemas import StatementOut

router = APIRouter(tags=["statements"])


@router.get(
    "/v1/statements",
    response_model=StatementOut,
    responses={**CSV_RESPONSE, **raises(NotFound, notfound="Unknown, or another, partner")},
)
async def get_statement(
    principal: Caller,
    session: ReadSession,
    request: Request,
    partner_id: Annotated[
        str | None, Query(description="Whose statement (required with the admin token)")
    ] = None,
) -> StatementOut | Response:
    """A partner's commission statement: totals per currency (with what is pending, available
    and paid) and every commission line; ``Accept: text/csv`` gives the lines as CSV."""
    scope = own_partner_scope(principal, partner_id)
    if scope is None:
        raise InvalidField("partner_id", "required with the admin token")
    statement = StatementOut.of(
        await queries.statement(session, scope, utcnow(), must_be_known=principal.is_admin)
    )
    if not wants_csv(request):
        return statement
    return csv_response(statement.CSV_HEADER, statement.csv_rows(), f"statement-{scope}.csv")
