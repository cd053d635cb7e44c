"""The console's pure parts: chart geometry, times, form fields, API errors, sessions."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from crosslead_console.charts import BAR_WIDTH, bar_chart, score_breakdown
from crosslead_console.client import ApiError
from crosslead_console.format import short_time, time_left
from crosslead_console.pages.forms import errors_of, optional_int, words
from crosslead_console.pages.leads import current_deadline
from crosslead_console.pages.partners import settings_body
from crosslead_console.sessions import SessionStore

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def test_score_breakdown_draws_each_factor_on_a_scale_of_one() -> None:
    chart = score_breakdown({"factors": {"size": "1.0", "reciprocity": 0.25, "priority": 0.5}})
    assert [b.label for b in chart.bars] == [
        "size", "reciprocity", "acceptance", "conversion", "priority",
    ]  # fmt: skip
    assert [b.width for b in chart.bars] == [BAR_WIDTH, BAR_WIDTH / 4, 0, 0, BAR_WIDTH / 2]
    assert [b.y for b in chart.bars] == [0, 22, 44, 66, 88]
    assert chart.height == 110


def test_bar_chart_scales_to_the_largest_value_and_draws_negatives_empty() -> None:
    chart = bar_chart([("a", "200.00"), ("b", "50"), ("c", "-10"), ("d", "n/a")])
    assert [b.width for b in chart.bars] == [BAR_WIDTH, BAR_WIDTH / 4, 0, 0]
    assert [b.value for b in chart.bars] == [200.0, 50.0, -10.0, 0.0]


@pytest.mark.parametrize(
    ("deadline", "shown"),
    [
        ("2026-12-05T14:30:00Z", "1 d 2 h left"),
        ("2026-12-04T14:05:00+00:00", "2 h 05 min left"),
        ("2026-12-04T12:10:30Z", "10 min left"),
        ("2026-12-04T12:00:40Z", "40 s left"),
        ("2026-12-04T11:59:00Z", "expired"),
        ("not a time", ""),
    ],
)
def test_time_left_until_a_deadline(deadline: str, shown: str) -> None:
    assert time_left(deadline, NOW) == shown


def test_short_time_is_utc_to_the_minute() -> None:
    assert short_time("2026-12-04T15:30:59.123+01:00") == "2026-12-04 14:30 UTC"
    assert short_time(None) == ""


def test_form_fields_become_api_values() -> None:
    assert words(" berlin, potsdam ,,\nhamburg") == ["berlin", "potsdam", "hamburg"]
    assert optional_int("") is None
    assert optional_int("12") == 12
    assert optional_int("twelve") == "twelve"  # the API refuses it next to the field
    body = settings_body({"offers": "installation", "regions": "berlin", "paused": "on"})
    assert body == {
        "offers": ["installation"],
        "regions": ["berlin"],
        "capacity_per_day": None,
        "capacity_per_hour": None,
        "availability": None,
        "paused": True,
    }
    hours = settings_body(
        {"availability.timezone": "Europe/Berlin", "availability.weekdays": "1,2"}
    )
    assert hours["availability"]["weekdays"] == [1, 2]
    assert hours["paused"] is False


def test_api_errors_land_next_to_the_form_field_that_owns_them() -> None:
    error = ApiError(
        422,
        {
            "title": "Unprocessable Content",
            "detail": "…",
            "errors": [
                {"field": "commission.rate", "message": "must be at most 1"},
                {"field": "manager_share", "message": "must be at most 1"},
                {"field": "body", "message": "unexpected"},
            ],
        },
    )
    by_field, general = errors_of(error, {"commission", "commission.rate", "manager_share"})
    assert by_field == {
        "commission.rate": "must be at most 1",
        "manager_share": "must be at most 1",
    }
    assert general == "body: unexpected"


def test_an_api_404_reads_not_found_and_other_errors_their_detail() -> None:
    assert ApiError(404, {"title": "Not Found", "detail": "lead not found"}).message == "Not found."
    conflict = ApiError(409, {"title": "Conflict", "detail": "the lead is not offered to you"})
    assert conflict.message == "Conflict: the lead is not offered to you"
    assert errors_of(conflict, {"lead_id"}) == ({}, "Conflict: the lead is not offered to you")


def test_the_current_offer_deadline_is_the_current_targets() -> None:
    lead = {
        "target_partner_id": "ptr_b",
        "timeline": [
            {"type": "routed", "target_partner_id": "ptr_a", "accept_by": "2026-12-04T10:00:00Z"},
            {"type": "expired"},
            {"type": "routed", "target_partner_id": "ptr_b", "accept_by": "2026-12-05T10:00:00Z"},
        ],
    }
    assert current_deadline(lead) == "2026-12-05T10:00:00Z"
    assert current_deadline({"target_partner_id": None, "timeline": []}) is None


def test_sessions_expire_when_idle_and_never_share_ids() -> None:
    store = SessionStore(idle_seconds=60)
    first_id, first = store.create("clk_secret", "ptr_a")
    second_id, _ = store.create("admin-token", None)
    assert first_id != second_id
    assert store.get(first_id) is first
    assert "clk_secret" not in repr(first)
    assert first.csrf_ok(first.csrf)
    assert not first.csrf_ok("forged")
    first.last_seen -= 61
    assert store.get(first_id) is None
    assert store.get(second_id) is not None
    store.delete(second_id)
    assert store.get(second_id) is None
    assert store.get(None) is None
