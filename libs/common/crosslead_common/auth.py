"""API-key authentication.

A partner's key is shown once, when the partner is created; services store and compare only
its SHA-256 hash (keys are 256-bit random, so a fast hash is safe and lookups stay O(1)). The
operator authenticates with the admin token from the environment.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from crosslead_common.domain import Forbidden, Unauthorized

__all__ = [
    "PartnerLookup",
    "Principal",
    "authenticate",
    "hash_api_key",
    "new_api_key",
    "require_admin",
]

API_KEY_PREFIX = "clk_"

#: Returns the id of the partner whose API key hashes to the given value, or None.
PartnerLookup = Callable[[AsyncSession, str], Awaitable[str | None]]


@dataclass(frozen=True)
class Principal:
    """Who is calling: the operator (``partner_id is None``) or one partner."""

    partner_id: str | None

    @property
    def is_admin(self) -> bool:
        return self.partner_id is None

    def can_act_as(self, partner_id: str) -> bool:
        return self.is_admin or self.partner_id == partner_id


def new_api_key() -> str:
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _bearer_token(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send Authorization: Bearer <token>")
    return token.strip()


async def authenticate(
    request: Request, session: AsyncSession, admin_token: str, lookup: PartnerLookup
) -> Principal:
    """Resolve the bearer token to a principal, or raise 401."""
    token = _bearer_token(request)
    if hmac.compare_digest(token.encode(), admin_token.encode()):
        return Principal(partner_id=None)
    if token.startswith(API_KEY_PREFIX):
        partner_id = await lookup(session, hash_api_key(token))
        if partner_id is not None:
            return Principal(partner_id=partner_id)
    raise Unauthorized("the token is not valid")


def require_admin(principal: Principal) -> None:
    if not principal.is_admin:
        raise Forbidden("this endpoint is for the operator's admin token")
