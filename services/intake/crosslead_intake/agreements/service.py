"""Use cases of agreements. Every change and its event share the caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from crosslead_common import events, terms
from crosslead_common.auth import Principal
from crosslead_common.db import utcnow
from crosslead_common.domain import InvalidField, NotFound
from crosslead_common.ids import new_id
from crosslead_intake.agreements import queries
from crosslead_intake.agreements.schemas import AgreementIn
from crosslead_intake.models import Agreement, outbox
from crosslead_intake.partners.queries import get_partner

__all__ = ["create_agreement", "end_agreement", "visible_agreement", "visible_agreements"]


async def create_agreement(session: AsyncSession, data: AgreementIn) -> Agreement:
    """Let leads of ``data.categories`` flow from the source to the target on these terms."""
    for field in ("source_partner_id", "target_partner_id"):
        if await get_partner(session, getattr(data, field)) is None:
            raise InvalidField(field, "no partner with this id")
    if data.source_partner_id == data.target_partner_id:
        raise InvalidField("target_partner_id", "a partner cannot refer leads to itself")
    for problem in terms.problems(data.commission):
        raise InvalidField(f"commission.{problem.field}", problem.message)
    agreement = Agreement(
        id=new_id("agr"),
        source_partner_id=data.source_partner_id,
        target_partner_id=data.target_partner_id,
        categories=sorted(set(data.categories)),
        commission=data.commission.model_dump(mode="json", exclude_none=True),
        manager_share=data.manager_share,
        accept_within_seconds=data.accept_within_seconds,
        priority=data.priority,
        holding_days=data.holding_days,
        share_contact=data.share_contact,
        created_at=utcnow(),
    )
    session.add(agreement)
    await outbox.add(
        session,
        events.AgreementCreated(
            agreement_id=agreement.id,
            source_partner_id=agreement.source_partner_id,
            target_partner_id=agreement.target_partner_id,
            categories=tuple(agreement.categories),
            commission=data.commission,
            manager_share=agreement.manager_share,
            accept_within_seconds=agreement.accept_within_seconds,
            priority=agreement.priority,
            holding_days=agreement.holding_days,
            share_contact=data.share_contact,
        ),
    )
    return agreement


async def end_agreement(session: AsyncSession, agreement_id: str) -> Agreement:
    """Stop new leads flowing under the agreement (ending it again changes nothing); deals on
    leads already routed under it still earn their commission."""
    agreement = await queries.get_agreement(session, agreement_id, for_update=True)
    if agreement is None:
        raise NotFound("agreement")
    if agreement.ended_at is None:
        agreement.ended_at = utcnow()
        await outbox.add(
            session,
            events.AgreementEnded(
                agreement_id=agreement.id,
                source_partner_id=agreement.source_partner_id,
                target_partner_id=agreement.target_partner_id,
            ),
        )
    return agreement


async def visible_agreement(
    session: AsyncSession, agreement_id: str, principal: Principal
) -> Agreement:
    """The agreement, for the operator or either of its partners; ``NotFound`` otherwise."""
    agreement = await queries.get_agreement(session, agreement_id)
    if agreement is None or not (
        principal.is_admin
        or principal.partner_id in (agreement.source_partner_id, agreement.target_partner_id)
    ):
        raise NotFound("agreement")
    return agreement


async def visible_agreements(
    session: AsyncSession,
    principal: Principal,
    partner_id: str | None,
    *,
    after: tuple[datetime, str] | None,
    limit: int,
) -> Sequence[Agreement]:
    """Up to ``limit`` agreements, oldest first, after ``(created_at, id)``: all of them for the
    operator, those it is party to for a partner; ``partner_id`` keeps those that partner is
    party to as well, so a partner naming another sees only their agreements with each other."""
    parties = [p for p in (principal.partner_id, partner_id) if p is not None]
    return await queries.list_agreements(session, parties=parties, after=after, limit=limit)
