"""How lifecycle facts move a lead's status."""

from __future__ import annotations

from functools import reduce

import pytest

from crosslead_intake.lifecycle import next_status


def replay(*facts: str) -> str:
    return reduce(next_status, facts, "received")


def test_the_happy_path_moves_forward() -> None:
    assert replay("routed", "delivered", "accepted", "converted") == "converted"


def test_a_late_delivery_never_moves_an_accepted_lead_back() -> None:
    assert replay("routed", "accepted", "delivered") == "accepted"


@pytest.mark.parametrize("closing", ["rejected", "expired"])
def test_a_closed_offer_can_no_longer_be_accepted(closing: str) -> None:
    assert replay("routed", closing, "accepted") == closing


def test_refund_only_after_conversion_and_commission_facts_do_not_move_status() -> None:
    assert replay("routed", "refunded") == "routed"
    assert replay("routed", "accepted", "converted", "commission_accrued") == "converted"
    assert replay("routed", "accepted", "converted", "refunded") == "refunded"


def test_unroutable_only_from_received() -> None:
    assert replay("unroutable") == "unroutable"
    assert replay("routed", "unroutable") == "routed"
