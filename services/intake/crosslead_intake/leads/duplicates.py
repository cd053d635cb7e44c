"""Recognising a customer again: each contact is normalised and hashed with a secret key
(HMAC-SHA256), and only that fingerprint is kept for matching; the fingerprint table never
holds a phone number or e-mail address. Phones are normalised to E.164 with ``phonenumbers``:
an international spelling always, a local one in the source partner's ``country``, so
``+49 30 5550100`` and ``030 5550100`` from a shop in ``DE`` are one customer. A number that
cannot be placed (a local spelling without a country) is compared as written."""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

import phonenumbers
from sqlalchemy.ext.asyncio import AsyncSession

from crosslead_common.sql import advisory_xact_lock
from crosslead_intake.leads import queries

__all__ = ["CustomerMatcher", "normalise_email", "normalise_phone"]


def normalise_phone(phone: str, country: str | None = None) -> str:
    """E.164 when the number can be placed (``030 5550100`` in ``DE`` → ``+49305550100``);
    otherwise digits only, with a leading ``+`` kept: ``030 123-45`` → ``03012345``."""
    try:
        parsed = phonenumbers.parse(phone, country)
    except phonenumbers.NumberParseException:
        parsed = None
    if parsed is not None and phonenumbers.is_possible_number(parsed):
        return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    digits = re.sub(r"\D", "", phone)
    return "+" + digits if phone.strip().startswith("+") else digits


def normalise_email(email: str) -> str:
    return email.strip().lower()


@dataclass(frozen=True)
class CustomerMatcher:
    key: bytes
    window: timedelta

    def fingerprints(
        self, phone: str | None, email: str | None, country: str | None = None
    ) -> list[str]:
        """One fingerprint per contact given, in a stable order; ``country`` places a local
        phone number."""
        contacts = []
        if phone is not None:
            contacts.append("phone:" + normalise_phone(phone, country))
        if email is not None:
            contacts.append("email:" + normalise_email(email))
        return sorted(
            hmac.new(self.key, contact.encode(), hashlib.sha256).hexdigest() for contact in contacts
        )

    async def claim(
        self, session: AsyncSession, lead_id: str, need: str, fingerprints: list[str], at: datetime
    ) -> str | None:
        """The id of an earlier lead of this customer and need within the window, or ``None``
        after recording ``lead_id`` as the original. Contacts a duplicate adds are recorded for
        its original, so the customer is recognised by them too. Concurrent claims of one
        customer are serialised: on PostgreSQL by transaction-scoped advisory locks (taken in a
        stable order, so they cannot deadlock), on SQLite by its single writer."""
        for fingerprint in fingerprints:
            await advisory_xact_lock(session, fingerprint, need)
        match = await queries.earliest_match(session, fingerprints, need, at - self.window)
        if match is None:
            queries.add_fingerprints(session, lead_id, fingerprints, need, at)
            return None
        original, since = match
        known = await queries.fingerprints_of(session, original)
        new = [f for f in fingerprints if f not in known]
        queries.add_fingerprints(session, original, new, need, since)
        return original
