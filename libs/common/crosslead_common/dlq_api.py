"""``/v1/<service>/dead-letters``: the operator reads and redrives a service's dead letters
(the service's name in the path keeps the three services' routes apart behind one gateway)."""

# No ``from __future__ import annotations``: FastAPI must see the local ``Caller`` type.
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from crosslead_common.api.contract import answers
from crosslead_common.auth import Principal, require_admin
from crosslead_common.dlq import DeadLetters, NoSuchDeadLetter
from crosslead_common.domain import NotFound

__all__ = ["dead_letter_routes"]


def dead_letter_routes(service: str, principal: Any) -> APIRouter:
    """The routes, authenticated with ``principal`` (the service's auth dependency)."""
    router = APIRouter(prefix=f"/v1/{service}/dead-letters", tags=["dead letters"])

    @answers(403)
    async def admin(caller: Annotated[Principal, Depends(principal)]) -> Principal:
        require_admin(caller)
        return caller

    Caller = Annotated[Principal, Depends(admin)]

    def letters(request: Request) -> DeadLetters:
        dead_letters: DeadLetters = request.app.state.runtime.dead_letters()
        return dead_letters

    @router.get("", name=f"list_{service}_dead_letters")
    async def list_dead_letters(request: Request, caller: Caller) -> dict[str, Any]:
        """Every message this service's consumers parked, with the reason, the original
        topic/partition/offset and headers, and whether it has been applied since."""
        items = await letters(request).all()
        return {"items": [letter.public() for letter in items]}

    @router.get("/{letter_id}", name=f"show_{service}_dead_letter")
    async def show_dead_letter(request: Request, letter_id: str, caller: Caller) -> dict[str, Any]:
        """One dead letter, with the message body."""
        try:
            return (await letters(request).show(letter_id)).public()
        except NoSuchDeadLetter:
            raise NotFound("dead letter") from None

    @router.post("/{letter_id}/redrive", name=f"redrive_{service}_dead_letter")
    async def redrive_dead_letter(
        request: Request, letter_id: str, caller: Caller
    ) -> dict[str, str]:
        """Hand the message to its consumer again (once its cause is fixed): ``applied``,
        ``duplicate`` (it had been applied) or ``dead_lettered`` (it failed again)."""
        try:
            outcome = await letters(request).redrive(letter_id)
        except NoSuchDeadLetter:
            raise NotFound("dead letter") from None
        return {"id": letter_id, "outcome": outcome}

    return router
