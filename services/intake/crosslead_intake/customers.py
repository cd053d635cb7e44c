"""Recognising a customer again: each contact is normalised and hashed with a secret key
(HMAC-SHA256), and only that fingerprint is kept for matching; the fingerprint table never
holds a phone number or e-mail address. Phones are compared as written after normalising, so
``+49 30 …`` and ``030 …`` are different customers."""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from crosslead_intake.models import CustomerFingerprint

__all__ = ["CustomerMatcher", "normalise_email", "normalise_phone"]


def normalise_phone(phone: str) -> str:
    """Digits only, with a leading ``+`` kept: ``+49 (30) 123-45`` → ``+493012345``."""
    digits = re.sub(r"\D", "", phone)
    return "+" + digits if phone.strip().startswith("+") else digits


def normalise_email(email: str) -> str:
    return email.strip().lower()


@dataclass(frozen=True)
class CustomerMatcher:
    key: bytes
    window: timedelta

    def fingerprints(self, phone: str | None, email: str | None) -> list[str]:
        """One fingerprint per contact given, in a stable order."""
        contacts = []
        if phone is not None:
            contacts.append("phone:" + normalise_phone(phone))
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
        if session.get_bind().dialect.name == "postgresql":
            for fingerprint in fingerprints:
                await session.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"),
                    {"key": _lock_key(fingerprint, need)},
                )
        match = (
            await session.execute(
                select(CustomerFingerprint.lead_id, CustomerFingerprint.created_at)
                .where(
                    CustomerFingerprint.fingerprint.in_(fingerprints),
                    CustomerFingerprint.need == need,
                    CustomerFingerprint.created_at > at - self.window,
                )
                .order_by(CustomerFingerprint.created_at, CustomerFingerprint.lead_id)
                .limit(1)
            )
        ).first()
        if match is None:
            original, since, known = lead_id, at, set()  # a new lead has no fingerprints yet
        else:
            original, since = match
            known = set(
                await session.scalars(
                    select(CustomerFingerprint.fingerprint).where(
                        CustomerFingerprint.lead_id == original
                    )
                )
            )
        session.add_all(
            CustomerFingerprint(lead_id=original, fingerprint=f, need=need, created_at=since)
            for f in fingerprints
            if f not in known
        )
        return None if match is None else original


def _lock_key(fingerprint: str, need: str) -> int:
    digest = hashlib.sha256(f"{fingerprint}/{need}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)
