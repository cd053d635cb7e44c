"""Composition root of the intake service: settings → runtime → FastAPI app."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI

from crosslead_common.events import Topic
from crosslead_common.runtime import Runtime, create_service_app
from crosslead_intake.agreements import routes as agreements
from crosslead_intake.consumers import handlers
from crosslead_intake.conversions import routes as conversions
from crosslead_intake.customers import routes as customers
from crosslead_intake.leads import routes as leads
from crosslead_intake.leads.duplicates import CustomerMatcher
from crosslead_intake.models import outbox, processed_events
from crosslead_intake.partners import routes as partners
from crosslead_intake.partners.queries import key_usable, partner_id_by_key_hash
from crosslead_intake.reports import routes as reports
from crosslead_intake.settings import IntakeSettings
from crosslead_intake.warmup import routes as warmup


def create_app(settings: IntakeSettings | None = None) -> FastAPI:
    settings = settings or IntakeSettings()  # read from the environment
    runtime = Runtime(
        name="intake",
        settings=settings,
        outbox=outbox,
        processed=processed_events,
        partner_lookup=partner_id_by_key_hash,
        key_check=key_usable,
    )
    runtime.add_consumer(
        group_id="crosslead-intake-timeline",
        topics=[Topic.LEADS, Topic.COMMISSIONS],
        handlers=handlers,
    )
    app = create_service_app(
        title="Crosslead intake",
        description="Where partner systems submit leads, answer offers and report deals.",
        runtime=runtime,
        routers=[
            partners.router,
            agreements.router,
            leads.router,
            conversions.router,
            customers.router,
            *warmup.routers,
            reports.router,
        ],
    )
    app.state.customer_vault = settings.customer_vault()
    app.state.customer_matcher = CustomerMatcher(
        key=settings.customer_key(), window=timedelta(days=settings.duplicate_window_days)
    )
    return app
