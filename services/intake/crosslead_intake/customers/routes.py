"""``/v1/customers``: erase a customer's contact."""

from __future__ import annotations

from fastapi import APIRouter, Request

from crosslead_common.api.deps import Caller, RuntimeDep
from crosslead_intake.customers import service
from crosslead_intake.customers.schemas import Erased, EraseIn
from crosslead_intake.leads.duplicates import CustomerMatcher

router = APIRouter(prefix="/v1/customers", tags=["customers"])


@router.post(
    "/erase",
    status_code=202,
    response_model=Erased,
    responses={
        202: {
            "description": "The matching leads' customer contact is erased at once in intake "
            "and within seconds in every other service; amounts and the ledger stay."
        }
    },
)
async def erase_customer(
    body: EraseIn, principal: Caller, runtime: RuntimeDep, request: Request
) -> Erased:
    """Erase the customer of every lead matching any of `phone`, `email` (matched as
    duplicates are) and `lead_id` (the operator: any lead; a partner: its own leads only)."""
    matcher: CustomerMatcher = request.app.state.customer_matcher
    async with runtime.db.transaction() as session:
        count = await service.erase(session, principal.partner_id, body, matcher)
    return Erased(count=count)
