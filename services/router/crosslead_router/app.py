"""Composition root of the router service: settings → runtime → workers → FastAPI app."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI

from crosslead_common.events import Topic
from crosslead_common.runtime import Runtime, create_service_app
from crosslead_router import repository, sealing, webhooks
from crosslead_router.api import decisions, deliveries, webhook_endpoints
from crosslead_router.consumers import handlers
from crosslead_router.dispatcher import Dispatcher
from crosslead_router.models import outbox, processed_events
from crosslead_router.retention import deliveries_rule
from crosslead_router.settings import RouterSettings
from crosslead_router.workers import (
    capacity_sweeper,
    deadline_watcher,
    secrets_resealer,
    waiting_router,
)

__all__ = ["create_app"]


def create_app(settings: RouterSettings | None = None) -> FastAPI:
    settings = settings or RouterSettings()  # the rest is read from the environment
    sealing.configure(settings.key_ring())
    runtime = Runtime(
        name="router",
        settings=settings,
        outbox=outbox,
        processed=processed_events,
        partner_lookup=repository.partner_id_by_key_hash,
        key_check=repository.key_usable,
    )
    policy = settings.routing_policy()
    runtime.add_consumer(
        group_id="crosslead-router",
        topics=[Topic.PARTNERS, Topic.LEADS, Topic.CONVERSIONS, Topic.COMMISSIONS],
        handlers=handlers(policy),
    )
    runtime.add_worker("webhook-dispatcher", Dispatcher(runtime.db, settings).run)
    runtime.add_worker("deadlines", deadline_watcher(runtime.db, settings, policy).run)
    runtime.add_worker("waiting", waiting_router(runtime.db, settings, policy).run)
    runtime.add_worker("capacity-sweeper", capacity_sweeper(runtime.db).run)
    runtime.add_worker("secrets-resealer", secrets_resealer(runtime.db).run)
    runtime.retention.add(
        "ended webhook deliveries",
        deliveries_rule(timedelta(days=settings.delivery_retention_days)),
    )
    app = create_service_app(
        title="Crosslead router",
        description="Matches leads to partners and delivers them as signed webhooks.",
        runtime=runtime,
        routers=[webhook_endpoints.router, deliveries.router, decisions.router],
    )
    webhooks.document(app)
    return app
