"""The console's webhook pages' pure parts: the event types offered, the recover time, and
where a form may send the browser back to."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from crosslead_console.pages.webhooks import EVENT_TYPES, back_to, local_input, since_value
from crosslead_router.offers import WEBHOOK_TYPES


def test_the_event_types_offered_are_the_routers() -> None:
    assert sorted(EVENT_TYPES) == sorted(WEBHOOK_TYPES)
    assert len(EVENT_TYPES) == len(set(EVENT_TYPES))


def test_a_datetime_input_is_read_as_utc_and_shown_to_the_minute() -> None:
    assert since_value("2026-12-03T09:30") == "2026-12-03T09:30:00+00:00"
    assert since_value("2026-12-03T09:30:00+01:00") == "2026-12-03T09:30:00+01:00"
    assert since_value("yesterday") == "yesterday"  # the API refuses it next to the field
    assert since_value("") == ""
    moment = datetime(2026, 12, 3, 9, 30, 59, tzinfo=UTC)
    assert local_input(moment) == "2026-12-03T09:30"
    assert since_value(local_input(moment)) == "2026-12-03T09:30:00+00:00"


@pytest.mark.parametrize(
    ("back", "goes_to"),
    [
        ("/webhooks/health", "/webhooks/health"),
        (
            "/webhooks/we_1?status=failed&cursor=eyJh%3D",
            "/webhooks/we_1?status=failed&cursor=eyJh%3D",
        ),
        ("https://evil.example/", "/deliveries"),
        ("//evil.example/x", "/deliveries"),
        ("/x\\y", "/deliveries"),
        ("/a?{0}", "/deliveries"),
        ("", "/deliveries"),
    ],
)
def test_a_form_returns_only_to_a_console_page(back: str, goes_to: str) -> None:
    assert back_to({"back": back}, "/deliveries") == goes_to
