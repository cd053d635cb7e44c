"""Composition root of the payouts service: settings → runtime → FastAPI app."""

from __future__ import annotations

from fastapi import FastAPI

from crosslead_common.runtime import Runtime, create_service_app
from crosslead_payouts import repository
from crosslead_payouts.api import managers, payout_runs, statements
from crosslead_payouts.consumers import GROUP_ID, TOPICS, handlers
from crosslead_payouts.models import outbox, processed_events
from crosslead_payouts.settings import PayoutsSettings

__all__ = ["create_app"]


def create_app(settings: PayoutsSettings | None = None) -> FastAPI:
    settings = settings or PayoutsSettings()  # read from the environment
    runtime = Runtime(
        name="payouts",
        settings=settings,
        outbox=outbox,
        processed=processed_events,
        partner_lookup=repository.partner_id_by_key_hash,
        key_check=repository.key_usable,
    )
    runtime.add_consumer(group_id=GROUP_ID, topics=TOPICS, handlers=handlers)
    return create_service_app(
        title="Crosslead payouts",
        description=(
            "The commission ledger: statements for partners, earnings of managers, payout runs."
        ),
        runtime=runtime,
        routers=[statements.router, managers.router, payout_runs.router],
    )
