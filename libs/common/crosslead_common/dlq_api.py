"""``/v1/<service>/dead-letters``: the operator reads and redrives a service's dead letters
(the service's name in the path keeps the three services' routes apart behind one gateway)."""

# No ``from __future__ import annotations``: FastAPI must see the local ``Caller`` type.
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from crosslead_common.auth import Principal, require_admin
from crosslead_common.dlq import DeadLetters, NoSuchDeadLetter
from crosslead_common.domain import NotFound

__all__ = ["dead_letter_routes"]


def dead_letter_routes(service: str, principal: Any) -> APIRouter:
    """The routes, authenticated with ``principal`` (the service's auth dependency)."""
    router = APIRouter(prefix=f"/v1/{service}/dead-letters", tags=["dead letters"])
    Caller = Annotated[Principal, Depends(principal)]

    def letters(request: Request, caller: Principal) -> DeadLetters:
        require_admin(caller)
        dead_letters: DeadLetters = request.app.state.runtime.dead_letters()
        return dead_letters

    @router.get("")
    async def list_dead_letters(request: Request, caller: Caller) -> dict[str, Any]:
        """Every message this service's consumers parked, with the reason, the original
        topic/partition/offset and headers, and whether it has been applied since."""
        items = await letters(request, caller).all()
        return {"items": [letter.public() for letter in items]}

    @router.get("/{letter_id}")
    async def show_dead_letter(request: Request, letter_id: str, caller: Caller) -> dict[str, Any]:
        """One dead letter, with the message body."""
        try:
            return (await letters(request, caller).show(letter_id)).public()
        except NoSuchDeadLetter:
            raise NotFound("dead letter") from None

    @router.post("/{letter_id}/redrive")
    async def redrive_dead_letter(
        request: Request, letter_id: str, caller: Caller
    ) -> dict[str, str]:
        """Hand the message to its consumer again (once its cause is fixed): ``applied``,
        ``duplicate`` (it had been applied) or ``dead_lettered`` (it failed again)."""
        try:
            outcome = await letters(request, caller).redrive(letter_id)
        except NoSuchDeadLetter:
            raise NotFound("dead letter") from None
        return {"id": letter_id, "outcome": outcome}

    return router
