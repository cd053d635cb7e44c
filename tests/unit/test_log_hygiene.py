"""Logs carry no credentials: the HTTP clients that call webhooks never log a URL (which may
hold a token) at INFO once a service has configured its logging."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import httpx
import pytest

from crosslead_common.observability.logs import configure_logging


@pytest.fixture
def service_logging() -> Iterator[None]:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    levels = {name: logging.getLogger(name).level for name in ("httpx", "httpcore", "aiokafka")}
    yield
    root.handlers[:], root.level = saved[0], saved[1]
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


@pytest.mark.usefixtures("service_logging")
async def test_a_webhook_url_never_reaches_the_log(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("router", "text")
    url = "https://partner.example/hooks?token=s3cret-in-the-url"
    transport = httpx.MockTransport(lambda request: httpx.Response(204))
    async with httpx.AsyncClient(transport=transport) as client:
        assert (await client.post(url, json={})).status_code == 204
    logging.getLogger("crosslead_router").info("delivered")
    written = capsys.readouterr().err
    assert "delivered" in written  # the service's own INFO lines still go out
    assert "s3cret" not in written
    assert "partner.example" not in written
