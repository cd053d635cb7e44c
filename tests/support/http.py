"""HTTP helpers: the operator's token, bearer headers, uvicorn on a free port, and polling
with a deadline."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar, overload

import uvicorn
from starlette.types import ASGIApp

from crosslead_local.localstack import free_port

T = TypeVar("T")

ADMIN_TOKEN = "test-admin-token-0123456789"
#: Intake's key of customer fingerprints in tests.
CUSTOMER_HASH_KEY = "test-customer-hash-key-0123456789abcdef"
#: The customer-data key of intake and the router under test (32 bytes, base64).
CUSTOMER_DATA_KEY = "Y3Jvc3NsZWFkLXRlc3QtY3VzdG9tZXItZGF0YS1rZXk="
#: The router's key for webhook secrets at rest (``CROSSLEAD_ROUTER_SECRETS_KEY``).
SECRETS_KEY = "dGVzdC1yb3V0ZXItc2VjcmV0cy1rZXktMzItYnl0ZXM="


def bearer(token: str) -> dict[str, str]:
    """The ``Authorization`` header of a caller holding ``token``."""
    return {"Authorization": f"Bearer {token}"}


ADMIN = bearer(ADMIN_TOKEN)


@asynccontextmanager
async def serve(app: ASGIApp) -> AsyncIterator[str]:
    """Run ``app`` (lifespan included) on a real socket; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    deadline = time.monotonic() + 30
    while not server.started:
        if task.done():
            task.result()  # raises the start-up error
            raise RuntimeError("server stopped during start-up")
        if time.monotonic() > deadline:
            raise TimeoutError("server did not start")
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@overload
async def eventually(
    probe: Callable[[], Awaitable[T | None]], *, timeout: float = ..., interval: float = ...
) -> T: ...


@overload
async def eventually(
    probe: Callable[[], T | None], *, timeout: float = ..., interval: float = ...
) -> T: ...


async def eventually(
    probe: Callable[[], Any], *, timeout: float = 20.0, interval: float = 0.05
) -> Any:
    """Poll ``probe`` (sync or async) until it returns something truthy; fail with the last
    value after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        result = probe()
        last = await result if inspect.isawaitable(result) else result
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s; last value: {last!r}")
