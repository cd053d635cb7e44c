"""A failing SQL statement's error (which ends up in logs and dead-letter headers) never
quotes the values bound to it: customer data and key hashes stay out of both."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from tests.service.intake import Intake

pytestmark = pytest.mark.schema("intake")

SECRET = "+49 30 5550100 ada@example.com"


async def test_sql_errors_carry_no_bound_values(intake: Intake) -> None:
    shop = await intake.partner("Shop", ["windows"], ["berlin"])
    insert = text(
        "INSERT INTO partners (id, name, offers, regions, paused, api_key_hash, created_at) "
        "VALUES (:id, :name, '[]', '[]', false, :hash, CURRENT_TIMESTAMP)"
    )
    with pytest.raises(IntegrityError) as failed:
        async with intake.db.transaction() as session:
            await session.execute(insert, {"id": shop["id"], "name": SECRET, "hash": SECRET})
    message = str(failed.value)
    assert "partners" in message  # the statement is still named...
    assert SECRET not in message  # ...its values are not
    assert "5550100" not in message
