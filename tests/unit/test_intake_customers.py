"""Customer fingerprints: one customer, however the contact is written, gives one keyed hash
that reveals nothing about the contact without the key."""

from __future__ import annotations

from datetime import timedelta

import pytest

from crosslead_intake.leads.duplicates import CustomerMatcher, normalise_email, normalise_phone

KEY = b"k" * 32


@pytest.mark.parametrize(
    ("written", "normalised"),
    [
        ("+49 30 1234567", "+49301234567"),
        ("+49 (30) 123-45-67", "+49301234567"),
        (" +49.30/1234567", "+49301234567"),
        ("030 1234567", "0301234567"),
    ],
)
def test_phones_keep_digits_and_a_leading_plus(written: str, normalised: str) -> None:
    assert normalise_phone(written) == normalised


@pytest.mark.parametrize(
    ("written", "country", "normalised"),
    [
        ("030 5550100", "DE", "+49305550100"),
        ("+49 30 5550100", "DE", "+49305550100"),
        ("0049 (30) 555-0100", "DE", "+49305550100"),
        ("+49 30 5550100", None, "+49305550100"),
        ("01 5550100", "AT", "+4315550100"),
        ("+1 415 555 0100", "DE", "+14155550100"),  # an international spelling keeps its own
        ("030 5550100", None, "0305550100"),  # cannot be placed: compared as written
        ("12345", "US", "12345"),  # not a possible number there: as written
    ],
)
def test_phones_are_e164_when_they_can_be_placed(
    written: str, country: str | None, normalised: str
) -> None:
    assert normalise_phone(written, country) == normalised


def test_emails_are_trimmed_and_lower_cased() -> None:
    assert normalise_email("  Ada.Buyer@Example.COM ") == "ada.buyer@example.com"


def test_fingerprints_match_however_the_contact_is_written_and_hide_it() -> None:
    matcher = CustomerMatcher(key=KEY, window=timedelta(days=30))
    one = matcher.fingerprints("+49 (30) 1234567", "Ada@Example.com")
    assert one == matcher.fingerprints("+49301234567", "ada@example.com ")
    assert len(one) == 2
    assert all(len(f) == 64 and "1234567" not in f and "ada" not in f for f in one)
    assert matcher.fingerprints(None, "ada@example.com")[0] in one
    assert matcher.fingerprints("+49 30 1234568", None)[0] not in one
    other_key = CustomerMatcher(key=b"x" * 32, window=timedelta(days=30))
    assert not set(other_key.fingerprints("+49301234567", None)) & set(one)


def test_a_phone_and_an_email_with_the_same_text_differ() -> None:
    matcher = CustomerMatcher(key=KEY, window=timedelta(days=30))
    assert matcher.fingerprints("12345", None) != matcher.fingerprints(None, "12345")
