"""How lifecycle facts move a lead's status."""

from __future__ import annotations

from functools import reduce

import pytest

from crosslead_intake.lifecycle import next_status, takes_routing


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


@pytest.mark.parametrize("closing", ["rejected", "expired"])
def test_a_closed_offer_may_be_routed_again_put_on_hold_or_given_up(closing: str) -> None:
    assert replay("routed", closing, "routed") == "routed"
    assert replay("routed", "delivered", closing, "waiting") == "waiting"
    assert replay("routed", closing, "unroutable") == "unroutable"
    assert replay("waiting", "routed", "delivered", "accepted") == "accepted"


def test_an_open_or_taken_offer_is_not_put_on_hold_or_given_up() -> None:
    assert replay("routed", "waiting") == "routed"
    assert replay("routed", "accepted", "unroutable") == "accepted"
    assert replay("routed", "accepted", "routed") == "accepted"


def test_a_duplicate_is_never_moved() -> None:
    assert reduce(next_status, ["routed", "waiting", "accepted"], "duplicate") == "duplicate"


def test_paid_follows_a_won_deal_and_a_new_deal_reopens_it() -> None:
    assert replay("routed", "accepted", "paid") == "accepted"
    assert replay("routed", "accepted", "converted", "paid") == "paid"
    assert replay("routed", "accepted", "converted", "paid", "converted") == "converted"
    assert replay("routed", "accepted", "converted", "paid", "refunded") == "refunded"
    assert replay("routed", "accepted", "converted", "refunded", "paid") == "paid"


@pytest.mark.parametrize(
    ("status", "current_hop", "hop", "takes"),
    [
        ("received", 0, 1, True),
        ("rejected", 1, 2, True),
        ("waiting", 1, 2, True),
        ("delivered", 1, 2, True),  # the router moved on from an offer it could not deliver
        ("delivered", 2, 2, False),  # the same offer again
        ("routed", 2, 1, False),  # an older offer
        ("accepted", 1, 2, False),
        ("duplicate", 0, 1, False),
    ],
)
def test_which_routing_makes_its_target_current(
    status: str, current_hop: int, hop: int, takes: bool
) -> None:
    assert takes_routing(status, current_hop, hop) is takes
