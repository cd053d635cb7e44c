"""All SQL of the payouts service."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import exists, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from crosslead_common.partners import key_checker
from crosslead_common.sql import advisory_xact_lock, upsert
from crosslead_payouts.ledger import STATEMENT_ACCOUNTS, AccountKind, Entry, LeadBalance
from crosslead_payouts.models import (
    Account,
    AgreementVolume,
    ApiKey,
    Conversion,
    LeadCommission,
    LedgerEntry,
    Partner,
    PayoutRun,
    Posting,
)

__all__ = [
    "add_conversion",
    "add_lead_commission",
    "add_payout_run",
    "add_posting",
    "add_to_month_volume",
    "available_balances",
    "conversion_applied",
    "get_lead_commission",
    "key_usable",
    "latest_available_at",
    "lock_payouts",
    "manager_partner_ids",
    "manager_totals",
    "partner_id_by_key_hash",
    "partner_known",
    "payout_run",
    "payout_run_by_key",
    "replayed_balances",
    "save_partner",
    "set_partner_status",
    "statement_entries",
    "stored_balances",
    "unbalanced_postings",
]


async def partner_id_by_key_hash(session: AsyncSession, key_hash: str) -> str | None:
    result: str | None = await session.scalar(
        select(Partner.id).where(Partner.api_key_hash == key_hash)
    )
    return result


#: A partner's key is refused once it is revoked or its partner disabled (as the events said).
key_usable = key_checker(Partner, ApiKey, unknown_keys_usable=True)


async def save_partner(
    session: AsyncSession, partner_id: str, name: str, api_key_hash: str, at: datetime
) -> bool:
    """Add a partner or refresh its name; False (nothing changed) when it is known under
    another API key: a registration never re-keys a partner."""
    partner = await session.get(Partner, partner_id, with_for_update=True)
    if partner is None:
        session.add(Partner(id=partner_id, name=name, api_key_hash=api_key_hash, registered_at=at))
    elif partner.api_key_hash != api_key_hash:
        return False
    else:
        partner.name = name
    return True


async def set_partner_status(session: AsyncSession, partner_id: str, status: str) -> bool:
    """False when the partner is unknown here."""
    partner = await session.get(Partner, partner_id, with_for_update=True)
    if partner is None:
        return False
    partner.status = status
    return True


async def partner_known(session: AsyncSession, partner_id: str) -> bool:
    """A registered partner, or one the ledger has entries for (its registration may lag)."""
    registered = exists().where(Partner.id == partner_id)
    booked = exists().where(LedgerEntry.partner_id == partner_id)
    return bool(await session.scalar(select(registered | booked)))


async def conversion_applied(session: AsyncSession, conversion_id: str) -> bool:
    return await session.get(Conversion, conversion_id) is not None


async def get_lead_commission(
    session: AsyncSession, lead_id: str, currency: str
) -> LeadCommission | None:
    """The lead's running totals, locked until the transaction ends."""
    return await session.get(LeadCommission, (lead_id, currency), with_for_update=True)


def add_lead_commission(session: AsyncSession, row: LeadCommission) -> LeadCommission:
    session.add(row)
    return row


def add_conversion(session: AsyncSession, conversion: Conversion) -> None:
    session.add(conversion)


async def add_to_month_volume(
    session: AsyncSession, agreement_id: str, currency: str, month: str, amount: int
) -> int:
    """Add a won deal to the agreement's volume of ``month`` and return the volume before it.
    The row stays locked until the transaction ends, so deals of one agreement are graduated
    one after the other."""
    insert = upsert(session, AgreementVolume).values(
        agreement_id=agreement_id, currency=currency, month=month, won_minor=amount
    )
    total = await session.scalar(
        insert.on_conflict_do_update(
            index_elements=["agreement_id", "currency", "month"],
            set_={"won_minor": AgreementVolume.won_minor + insert.excluded.won_minor},
        ).returning(AgreementVolume.won_minor)
    )
    return int(total or 0) - amount


async def subtract_from_month_volume(
    session: AsyncSession, agreement_id: str, currency: str, month: str, amount: int
) -> None:
    """Take a refund off the agreement's volume of ``month`` (never below zero), so refunded
    deals no longer lift later deals into a higher tier."""
    volume = await session.get(
        AgreementVolume, (agreement_id, currency, month), with_for_update=True
    )
    if volume is not None:
        volume.won_minor = max(volume.won_minor - amount, 0)


async def latest_available_at(
    session: AsyncSession, lead_id: str, currency: str
) -> datetime | None:
    """When the last commission booked on the lead in ``currency`` becomes available."""
    latest: datetime | None = await session.scalar(
        select(func.max(LedgerEntry.available_at)).where(
            LedgerEntry.lead_id == lead_id,
            LedgerEntry.currency == currency,
            LedgerEntry.payout_run_id.is_(None),
        )
    )
    return latest


async def lock_lead(session: AsyncSession, lead_id: str) -> None:
    """Hold the lead's conversions still until the transaction ends."""
    await advisory_xact_lock(session, "crosslead-payouts-lead", lead_id)


async def add_posting(
    session: AsyncSession,
    posting_id: str,
    kind: str,
    entries: Sequence[Entry],
    *,
    at: datetime,
    available_at: datetime,
    payout_run_id: str | None = None,
) -> None:
    """Book ``entries`` as one posting and move the account balances by them. A posting id
    used before raises ``IntegrityError``: each cause is posted once."""
    await session.execute(insert(Posting).values(id=posting_id, kind=kind, created_at=at))
    if not entries:
        return
    await session.execute(
        insert(LedgerEntry),
        [
            {
                "posting_id": posting_id,
                "lead_id": entry.lead_id,
                "partner_id": entry.partner_id,
                "counterparty_partner_id": entry.counterparty_partner_id,
                "kind": entry.kind.value,
                "manager_id": entry.manager_id,
                "amount_minor": entry.amount_minor,
                "currency": entry.currency,
                "available_at": available_at,
                "payout_run_id": payout_run_id,
                "created_at": at,
            }
            for entry in entries
        ],
    )
    await _move_balances(session, entries)


async def _move_balances(session: AsyncSession, entries: Sequence[Entry]) -> None:
    moves: defaultdict[tuple[str, str, str, str, str], int] = defaultdict(int)
    for entry in entries:
        moves[entry.account] += entry.amount_minor
    # One statement, its rows always in the same order: two postings touching the same accounts
    # lock them in the same order and cannot deadlock.
    insert = upsert(session, Account).values(
        [
            {**dict(zip(_ACCOUNT_KEY, account, strict=True)), "balance_minor": amount}
            for account, amount in sorted(moves.items())
        ]
    )
    await session.execute(
        insert.on_conflict_do_update(
            index_elements=list(_ACCOUNT_KEY),
            set_={"balance_minor": Account.balance_minor + insert.excluded.balance_minor},
        )
    )


_ACCOUNT_KEY = ("partner_id", "counterparty_partner_id", "kind", "manager_id", "currency")


async def statement_entries(session: AsyncSession, partner_id: str) -> Sequence[LedgerEntry]:
    """Every entry on the partner's commission and manager-payable accounts, in time order."""
    result = await session.scalars(
        select(LedgerEntry)
        .where(
            LedgerEntry.partner_id == partner_id,
            LedgerEntry.kind.in_([kind.value for kind in STATEMENT_ACCOUNTS]),
        )
        .order_by(LedgerEntry.created_at, LedgerEntry.id)
    )
    return result.all()


async def manager_partner_ids(
    session: AsyncSession, manager_id: str, partner_id: str | None = None
) -> list[str]:
    """The source partners under which ``manager_id`` referred leads that won deals."""
    query = select(LeadCommission.source_partner_id).where(LeadCommission.manager_id == manager_id)
    if partner_id is not None:
        query = query.where(LeadCommission.source_partner_id == partner_id)
    result = await session.scalars(query.distinct().order_by(LeadCommission.source_partner_id))
    return list(result.all())


async def manager_totals(
    session: AsyncSession, manager_id: str, partner_id: str
) -> list[tuple[str, int]]:
    """``(currency, total)`` a manager has earned from its partner (paid out or not), sorted by
    currency."""
    rows = await session.execute(
        select(LedgerEntry.currency, func.sum(LedgerEntry.amount_minor))
        .where(
            LedgerEntry.partner_id == partner_id,
            LedgerEntry.manager_id == manager_id,
            LedgerEntry.kind == AccountKind.MANAGER_PAYABLE.value,
            LedgerEntry.payout_run_id.is_(None),
        )
        .group_by(LedgerEntry.currency)
        .order_by(LedgerEntry.currency)
    )
    return [(currency, -int(total)) for currency, total in rows.all()]


# --- payout runs ------------------------------------------------------------------------------


async def lock_payouts(session: AsyncSession, currency: str) -> None:
    """Hold the payout lock of ``currency`` until the transaction ends, so two runs never
    settle the same balance. PostgreSQL: a transaction-level advisory lock; SQLite: every
    write transaction already holds the database's one write lock (BEGIN IMMEDIATE)."""
    await advisory_xact_lock(session, "crosslead-payouts", currency)


async def available_balances(
    session: AsyncSession, currency: str, kind: AccountKind, at: datetime
) -> list[LeadBalance]:
    """Unsettled balances per account and lead of ``kind`` in ``currency``, counting entries
    available at ``at``; signed so that a positive amount is owed to the account's owner
    (receivables) or to its manager (manager payables)."""
    total = func.sum(LedgerEntry.amount_minor)
    sign = 1 if kind is AccountKind.COMMISSION_RECEIVABLE else -1
    rows = await session.execute(
        select(
            LedgerEntry.lead_id,
            LedgerEntry.partner_id,
            LedgerEntry.counterparty_partner_id,
            LedgerEntry.manager_id,
            total,
        )
        .where(
            LedgerEntry.currency == currency,
            LedgerEntry.kind == kind.value,
            LedgerEntry.available(at),
        )
        .group_by(
            LedgerEntry.lead_id,
            LedgerEntry.partner_id,
            LedgerEntry.counterparty_partner_id,
            LedgerEntry.manager_id,
        )
        .having(total != 0)
        .order_by(LedgerEntry.lead_id, LedgerEntry.partner_id)
    )
    return [
        LeadBalance(lead, partner, counterparty, manager, sign * int(amount))
        for lead, partner, counterparty, manager, amount in rows.all()
    ]


async def payout_run(session: AsyncSession, run_id: str) -> PayoutRun | None:
    return await session.get(PayoutRun, run_id)


async def payout_run_by_key(session: AsyncSession, key: str) -> PayoutRun | None:
    result: PayoutRun | None = await session.scalar(
        select(PayoutRun).where(PayoutRun.idempotency_key == key)
    )
    return result


def add_payout_run(session: AsyncSession, run: PayoutRun) -> None:
    session.add(run)


# --- reconciliation ---------------------------------------------------------------------------


async def stored_balances(session: AsyncSession) -> dict[tuple[str, ...], int]:
    rows = await session.execute(
        select(*(getattr(Account, column) for column in _ACCOUNT_KEY), Account.balance_minor)
    )
    return {tuple(row[:-1]): int(row[-1]) for row in rows.all()}


async def replayed_balances(session: AsyncSession) -> dict[tuple[str, ...], int]:
    columns = [getattr(LedgerEntry, column) for column in _ACCOUNT_KEY]
    rows = await session.execute(
        select(*columns, func.sum(LedgerEntry.amount_minor)).group_by(*columns)
    )
    return {tuple(row[:-1]): int(row[-1]) for row in rows.all()}


async def unbalanced_postings(session: AsyncSession) -> list[tuple[str, str, int]]:
    """``(posting_id, currency, debits - credits)`` of every posting that does not balance."""
    total = func.sum(LedgerEntry.amount_minor)
    rows = await session.execute(
        select(LedgerEntry.posting_id, LedgerEntry.currency, total)
        .group_by(LedgerEntry.posting_id, LedgerEntry.currency)
        .having(total != 0)
        .order_by(LedgerEntry.posting_id)
    )
    return [(posting, currency, int(amount)) for posting, currency, amount in rows.all()]
