"""Partners' webhook endpoints: one real HTTP receiver at ``/hooks/{partner}`` that records
every request and verifies signatures with the independent ``standardwebhooks`` library."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from standardwebhooks import Webhook
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.support.http import serve

__all__ = ["Offer", "Received", "Receiver", "webhook_receiver"]


@dataclass
class Received:
    """One request as it arrived."""

    headers: dict[str, str]
    body: bytes


@dataclass
class Offer:
    """One verified webhook."""

    partner_id: str
    webhook_id: str
    body: dict[str, Any]
    received_at: float
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Receiver:
    """Webhook endpoints of several partners at ``/hooks/{partner}``.

    Every request is kept in ``requests``. A partner in ``hanging`` gets no answer until
    ``release`` is set (the receiver sets it when it stops); ``in_flight`` and
    ``most_in_flight`` count its open requests. While ``failures[partner]`` is above zero the
    endpoint answers 500 (and counts down). Once a partner's signing secret is in
    ``secrets``, each request is verified: a bad signature is answered 401 and counted in
    ``rejected_signatures``, a good one is kept in ``offers``; otherwise the answer is 204.
    """

    requests: dict[str, list[Received]] = field(default_factory=lambda: defaultdict(list))
    failures: dict[str, int] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)
    offers: list[Offer] = field(default_factory=list)
    rejected_signatures: int = 0
    hanging: set[str] = field(default_factory=set)
    in_flight: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    most_in_flight: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    release: asyncio.Event = field(default_factory=asyncio.Event)

    def app(self) -> Starlette:
        async def hook(request: Request) -> Response:
            partner = request.path_params["partner"]
            headers, body = dict(request.headers), await request.body()
            self.requests[partner].append(Received(headers, body))
            if partner in self.hanging:
                self.in_flight[partner] += 1
                self.most_in_flight[partner] = max(
                    self.most_in_flight[partner], self.in_flight[partner]
                )
                try:
                    await self.release.wait()
                finally:
                    self.in_flight[partner] -= 1
            if self.failures.get(partner, 0) > 0:
                self.failures[partner] -= 1
                return Response(status_code=500)
            if partner in self.secrets:
                try:
                    payload = Webhook(self.secrets[partner]).verify(body, headers)
                except Exception:
                    self.rejected_signatures += 1
                    return Response(status_code=401)
                self.offers.append(
                    Offer(partner, headers["webhook-id"], payload, time.monotonic(), dict(headers))
                )
            return Response(status_code=204)

        return Starlette(routes=[Route("/hooks/{partner}", hook, methods=["POST"])])

    def offers_for(self, lead_id: str, kind: str = "lead.offered") -> list[Offer]:
        """Verified webhooks of type ``kind`` (offers unless told) about ``lead_id``, in order
        of arrival."""
        return [
            o
            for o in self.offers
            if o.body["type"] == kind and o.body["data"].get("lead_id") == lead_id
        ]


@asynccontextmanager
async def webhook_receiver() -> AsyncIterator[tuple[Receiver, str]]:
    """A receiver served on a free port; yields it and its base URL."""
    receiver = Receiver()
    async with serve(receiver.app()) as url:
        try:
            yield receiver, url
        finally:
            receiver.release.set()  # hanging requests end, so the server can stop
