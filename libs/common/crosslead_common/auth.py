"""API-key authentication.

A partner's key is shown once, when the partner is created. A key is signed: ``clk_`` +
``<partner id>.<256 random bits>.<HMAC-SHA256 of both>`` under a key every service derives from
the same setting, so every service accepts it from the first call, before the partner's
registration has reached it. Keys without a signature (issued before) are compared by their
SHA-256 hash with the ones the services have stored (they are 256-bit random, so a fast hash is
safe and lookups stay O(1)). The operator authenticates with the admin token from the
environment.

Every key has an id derived from its hash (:func:`key_id_of`), so any service can name a key it
has only seen once. Because a signed key needs no lookup to be valid, each service also asks
its own view whether the key is still usable (:data:`KeyCheck`): not revoked or past its
overlap after a rotation, and its partner not disabled; intake keeps that view, router and
payouts keep a copy fed by ``partner.key_revoked`` and ``partner.status_changed`` events.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from crosslead_common.domain import Forbidden, Unauthorized

__all__ = [
    "KeyCheck",
    "PartnerLookup",
    "Principal",
    "authenticate",
    "hash_api_key",
    "key_id_of",
    "new_api_key",
    "require_admin",
    "signed_partner",
    "signing_key",
]

API_KEY_PREFIX = "clk_"

#: Returns the id of the partner whose API key hashes to the given value, or None.
PartnerLookup = Callable[[AsyncSession, str], Awaitable[str | None]]
#: Whether the key with this id (:func:`key_id_of`) may still act for the partner.
KeyCheck = Callable[[AsyncSession, str, str], Awaitable[bool]]


@dataclass(frozen=True)
class Principal:
    """Who is calling: the operator (``partner_id is None``) or one partner."""

    partner_id: str | None

    @property
    def is_admin(self) -> bool:
        return self.partner_id is None

    def can_act_as(self, partner_id: str) -> bool:
        return self.is_admin or self.partner_id == partner_id


def signing_key(admin_token: str, api_key_secret: str | None) -> bytes:
    """The key API keys are signed with: ``api_key_secret`` if set, else derived from the
    admin token (which every service has)."""
    if api_key_secret:
        return api_key_secret.encode()
    return hmac.new(admin_token.encode(), b"crosslead/api-key-signing", hashlib.sha256).digest()


def _mac(key: bytes, partner_id: str, nonce: str) -> str:
    digest = hmac.new(key, f"{partner_id}.{nonce}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def new_api_key(partner_id: str | None = None, key: bytes | None = None) -> str:
    """A fresh API key; signed for ``partner_id`` when a signing ``key`` is given."""
    nonce = secrets.token_urlsafe(32)
    if partner_id is None or key is None:
        return API_KEY_PREFIX + nonce
    return f"{API_KEY_PREFIX}{partner_id}.{nonce}.{_mac(key, partner_id, nonce)}"


def signed_partner(token: str, key: bytes) -> str | None:
    """The partner a signed API key was issued to, or None if it is not one validly signed."""
    parts = token.removeprefix(API_KEY_PREFIX).split(".")
    if not token.startswith(API_KEY_PREFIX) or len(parts) != 3 or not all(parts):
        return None
    partner_id, nonce, mac = parts
    return partner_id if hmac.compare_digest(mac, _mac(key, partner_id, nonce)) else None


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def key_id_of(key_hash: str) -> str:
    """The public id of the API key with this hash (:func:`hash_api_key`): it names the key in
    listings and revocations and tells nothing about the key itself."""
    return "key_" + key_hash[:24]


def _bearer_token(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send Authorization: Bearer <token>")
    return token.strip()


async def authenticate(
    request: Request,
    session: AsyncSession,
    admin_token: str,
    lookup: PartnerLookup,
    *,
    key: bytes | None = None,
    check: KeyCheck | None = None,
) -> Principal:
    """Resolve the bearer token to a principal, or raise 401: the admin token, or an API key
    signed with ``key`` or whose hash ``lookup`` knows, which ``check`` finds still usable."""
    token = _bearer_token(request)
    if hmac.compare_digest(token.encode(), admin_token.encode()):
        return Principal(partner_id=None)
    if not token.startswith(API_KEY_PREFIX):
        raise Unauthorized("the token is not valid")
    key_hash = hash_api_key(token)
    partner_id = signed_partner(token, key) if key is not None else None
    if partner_id is None:
        partner_id = await lookup(session, key_hash)
    if partner_id is None or (
        check is not None and not await check(session, partner_id, key_id_of(key_hash))
    ):
        raise Unauthorized("the token is not valid")
    return Principal(partner_id=partner_id)


def require_admin(principal: Principal) -> None:
    if not principal.is_admin:
        raise Forbidden("this endpoint is for the operator's admin token")
