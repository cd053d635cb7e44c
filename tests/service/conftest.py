"""The service tier: each service's use cases, consumers' handlers and HTTP API driven
in-process on a real database, without a broker (see :mod:`tests.support.services`)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.service.intake import Intake, running_intake


@pytest.fixture
async def intake(database_url: str) -> AsyncIterator[Intake]:
    """Intake's API in-process on ``database_url``."""
    async with running_intake(database_url) as running:
        yield running
