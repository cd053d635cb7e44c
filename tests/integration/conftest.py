"""Fixtures shared by the integration tests of one service against the real broker."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from crosslead_local.localstack import LocalBroker
from tests.integration.test_intake_api import Intake, running_intake


@pytest.fixture
async def intake(database_url: str, broker: LocalBroker) -> AsyncIterator[Intake]:
    """Intake's app on ``database_url``, with its consumer on ``broker``."""
    async with running_intake(database_url, broker) as running:
        yield running
