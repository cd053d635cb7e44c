"""Use cases that change the payouts ledger. Every change and the events it publishes share one
transaction; the caller (here: the event consumer) owns the commit."""

from __future__ import annotations

import dataclasses
import logging
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from crosslead_common import events
from crosslead_common.db import utcnow
from crosslead_common.money import from_minor, to_minor
from crosslead_common.observability.metrics import LEDGER_POSTINGS, PAYOUT_RUNS, count_after_commit
from crosslead_common.partners import record_key_expiry
from crosslead_payouts import commission, repository
from crosslead_payouts.commission import Accrual, CommissionError
from crosslead_payouts.ledger import AccountKind, Parties, RunPlan, deal_entries, plan_run
from crosslead_payouts.models import ApiKey, Conversion, LeadCommission, PayoutRun, outbox

__all__ = [
    "apply_conversion",
    "register_partner",
    "revoke_key",
    "run_payouts",
    "set_partner_status",
]

log = logging.getLogger(__name__)


async def register_partner(session: AsyncSession, event: events.PartnerRegistered) -> None:
    """Remember a partner (or its new name) so that its API key authenticates it here. A
    registration that would give a known partner another key is refused: logged, ignored."""
    if not await repository.save_partner(
        session, event.partner_id, event.name, event.api_key_hash, utcnow()
    ):
        log.warning(
            "ignoring a registration of known partner %s that would change its API key",
            event.partner_id,
        )


async def set_partner_status(session: AsyncSession, event: events.PartnerStatusChanged) -> None:
    """A disabled partner's keys are refused here; an active one's work again."""
    if not await repository.set_partner_status(session, event.partner_id, event.status):
        log.warning("ignoring a status change of unknown partner %s", event.partner_id)


async def revoke_key(session: AsyncSession, event: events.PartnerKeyRevoked) -> None:
    """The key is refused here from ``expires_at`` on."""
    await record_key_expiry(session, ApiKey, event.partner_id, event.key_id, event.expires_at)


async def apply_conversion(
    session: AsyncSession, event: events.ConversionReported, at: datetime
) -> None:
    """Accrue the commission of a won deal reported at ``at``, or reverse part of it for a
    refund, and publish ``CommissionAccrued`` / ``CommissionReversed``. A conversion already
    applied (even under another event id) changes nothing. Raises :class:`CommissionError` or
    :class:`~crosslead_common.money.MoneyError` for a conversion that can never be applied."""
    # One lead's conversions are applied one at a time: a conversion delivered twice at once
    # (under two event ids, by two consumers) is seen applied by the second, and a refund is
    # weighed against everything booked for the lead before it.
    await repository.lock_lead(session, event.lead_id)
    if await repository.conversion_applied(session, event.conversion_id):
        return
    amount = to_minor(event.amount, event.currency)
    if event.status == "won":
        booked = await _accrue(session, event, amount, at)
    else:
        booked = await _refund(session, event, amount, at)
    repository.add_conversion(
        session,
        Conversion(
            id=event.conversion_id,
            lead_id=event.lead_id,
            external_id=event.external_id,
            status=event.status,
            amount_minor=amount,
            currency=event.currency,
            commission_minor=booked.commission,
            manager_minor=booked.manager,
            commission_currency=booked.currency,
            applied_at=utcnow(),
        ),
    )


async def _accrue(
    session: AsyncSession, event: events.ConversionReported, amount: int, at: datetime
) -> Accrual:
    if event.holding_days < 0:
        raise CommissionError(f"holding_days must be >= 0, got {event.holding_days}")
    month_volume = await repository.add_to_month_volume(
        session, event.agreement_id, event.currency, _month(at), amount
    )
    parties = Parties(event.source_partner_id, event.target_partner_id, event.manager_id)
    totals = await repository.get_lead_commission(session, event.lead_id, event.currency)
    accrual = commission.accrue(
        amount,
        event.currency,
        event.commission,
        event.manager_share,
        month_volume=month_volume,
        accrued_on_lead=0 if totals is None else totals.commission_minor,
    )
    if totals is None:
        totals = repository.add_lead_commission(
            session, _new_totals(event.lead_id, event.currency, parties, accrual.currency)
        )
    elif _parties(totals) != parties or totals.commission_currency != accrual.currency:
        raise CommissionError(
            f"lead {event.lead_id} already has {event.currency} deals between other parties "
            "or with commission in another currency"
        )
    totals.won_minor += amount
    totals.commission_minor += accrual.commission
    totals.manager_minor += accrual.manager
    totals.updated_at = utcnow()
    await _book(
        session,
        event,
        parties,
        commission_minor=accrual.commission,
        manager_minor=accrual.manager,
        currency=accrual.currency,
        reversal=False,
        at=at,
        available_at=at + timedelta(days=event.holding_days),
    )
    return accrual


async def _refund(
    session: AsyncSession, event: events.ConversionReported, amount: int, at: datetime
) -> Accrual:
    """Returns what was reversed, as positive amounts. The reversal becomes available with the
    lead's latest commission: inside the holding period it cancels the pending amount; after
    it, the available one (which, after a payout, goes negative until the next run)."""
    totals = await repository.get_lead_commission(session, event.lead_id, event.currency)
    if totals is None:
        raise CommissionError(
            f"refund on lead {event.lead_id} but nothing was won on it in {event.currency}"
        )
    reversal = commission.reverse(_lead_totals(totals), amount)
    await repository.subtract_from_month_volume(
        session, event.agreement_id, event.currency, _month(at), amount
    )
    totals.refunded_minor += amount
    totals.reversed_commission_minor += reversal.commission
    totals.reversed_manager_minor += reversal.manager
    totals.updated_at = utcnow()
    # The reversal goes to the parties the commission was accrued for.
    currency = totals.commission_currency
    held_until = await repository.latest_available_at(session, event.lead_id, currency)
    await _book(
        session,
        event,
        _parties(totals),
        commission_minor=reversal.commission,
        manager_minor=reversal.manager,
        currency=currency,
        reversal=True,
        at=at,
        available_at=max(at, held_until or at),
    )
    return Accrual(reversal.commission, reversal.manager, currency)


async def _book(
    session: AsyncSession,
    event: events.ConversionReported,
    parties: Parties,
    *,
    commission_minor: int,
    manager_minor: int,
    currency: str,
    reversal: bool,
    at: datetime,
    available_at: datetime,
) -> None:
    """Post the deal's entries (negated for a reversal) and publish what happened."""
    sign = -1 if reversal else 1
    entries = deal_entries(
        event.lead_id, parties, sign * commission_minor, sign * manager_minor, currency
    )
    kind = "reversal" if reversal else "accrual"
    await repository.add_posting(
        session, event.conversion_id, kind, entries, at=at, available_at=available_at
    )
    count_after_commit(session, LEDGER_POSTINGS.labels(kind=kind).inc)
    published = events.CommissionReversed if reversal else events.CommissionAccrued
    await outbox.add(
        session,
        published(
            lead_id=event.lead_id,
            conversion_id=event.conversion_id,
            source_partner_id=parties.source_partner_id,
            target_partner_id=parties.target_partner_id,
            manager_id=parties.manager_id,
            commission=from_minor(commission_minor, currency),
            manager_amount=from_minor(manager_minor, currency),
            currency=currency,
        ),
    )


async def run_payouts(
    session: AsyncSession,
    currency: str,
    *,
    minimum: int,
    at: datetime,
    idempotency_key: str | None = None,
    request_hash: str = "",
) -> tuple[PayoutRun, bool]:
    """Settle everything available in ``currency`` at ``at`` (see :func:`plan_run`), record the
    run, and publish ``PayoutSettled`` for each lead it settled. With an ``idempotency_key``
    already used, returns that run instead; the flag says whether a new run was made."""
    await repository.lock_payouts(session, currency)
    if idempotency_key is not None:
        earlier = await repository.payout_run_by_key(session, idempotency_key)
        if earlier is not None:
            return earlier, False
    plan = await _plan(session, currency, minimum, at)
    run = PayoutRun(
        id=f"run_{uuid.uuid4().hex}",
        currency=currency,
        idempotency_key=idempotency_key,
        request_hash=request_hash,
        result=_result(plan),
        created_at=at,
    )
    await repository.add_posting(
        session, run.id, "settlement", plan.entries, at=at, available_at=at, payout_run_id=run.id
    )
    repository.add_payout_run(session, run)
    count_after_commit(session, LEDGER_POSTINGS.labels(kind="settlement").inc)
    count_after_commit(session, PAYOUT_RUNS.labels(currency=currency).inc)
    for settled in plan.settled_leads.values():
        await outbox.add(
            session,
            events.PayoutSettled(
                payout_run_id=run.id,
                lead_id=settled.lead_id,
                source_partner_id=settled.source_partner_id,
                target_partner_id=settled.target_partner_id,
                commission=from_minor(settled.commission, currency),
                manager_amount=from_minor(settled.manager, currency),
                currency=currency,
            ),
        )
    return run, True


async def preview_payouts(
    session: AsyncSession, currency: str, *, minimum: int, at: datetime
) -> dict[str, list[dict[str, object]]]:
    """What :func:`run_payouts` would settle in ``currency`` at ``at``, as it would record it;
    nothing is booked, recorded or published."""
    return _result(await _plan(session, currency, minimum, at))


async def _plan(session: AsyncSession, currency: str, minimum: int, at: datetime) -> RunPlan:
    return plan_run(
        currency,
        await repository.available_balances(
            session, currency, AccountKind.COMMISSION_RECEIVABLE, at
        ),
        await repository.available_balances(session, currency, AccountKind.MANAGER_PAYABLE, at),
        minimum,
    )


def _result(plan: RunPlan) -> dict[str, list[dict[str, object]]]:
    """What a run did, in minor units, as recorded with it."""
    return {
        "transfers": [dataclasses.asdict(item) for item in plan.transfers],
        "manager_payouts": [dataclasses.asdict(item) for item in plan.manager_payouts],
        "carried_forward": [dataclasses.asdict(item) for item in plan.carried_forward],
    }


def _month(at: datetime) -> str:
    """The calendar month (UTC) a deal or refund counts in for tiered commission."""
    return f"{at.astimezone(UTC):%Y-%m}"


def _parties(totals: LeadCommission) -> Parties:
    return Parties(totals.source_partner_id, totals.target_partner_id, totals.manager_id)


def _lead_totals(row: LeadCommission) -> commission.LeadTotals:
    return commission.LeadTotals(
        won=row.won_minor,
        refunded=row.refunded_minor,
        commission=row.commission_minor,
        manager=row.manager_minor,
        reversed_commission=row.reversed_commission_minor,
        reversed_manager=row.reversed_manager_minor,
    )


def _new_totals(
    lead_id: str, currency: str, parties: Parties, commission_currency: str
) -> LeadCommission:
    return LeadCommission(
        lead_id=lead_id,
        currency=currency,
        source_partner_id=parties.source_partner_id,
        target_partner_id=parties.target_partner_id,
        manager_id=parties.manager_id,
        commission_currency=commission_currency,
        won_minor=0,
        refunded_minor=0,
        commission_minor=0,
        manager_minor=0,
        reversed_commission_minor=0,
        reversed_manager_minor=0,
        updated_at=utcnow(),
    )
