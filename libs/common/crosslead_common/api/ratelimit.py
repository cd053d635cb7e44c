"""Rate limits in front of every route: requests per bearer token (a token bucket per API key
or admin token), and failed authentications per client address. Over a limit the answer is
429 problem+json with ``Retry-After``; nothing behind it runs.

A client address that failed to authenticate too often is refused for every token except
those that authenticated here before, so a partner behind the same address as a key-guessing
client keeps working. Counters live in the process: each replica limits on its own.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crosslead_common.api.problems import Problem

__all__ = ["Limits", "RateLimit", "TokenBuckets"]

#: Buckets kept before idle full ones are dropped (bounds memory under a flood of tokens).
_MAX_BUCKETS = 10_000


@dataclass(frozen=True)
class Limits:
    """``per_second`` requests per token with bursts of ``burst``; ``failed_auth_per_minute``
    failed authentications per client address. 0 switches a limit off."""

    per_second: float
    burst: int
    failed_auth_per_minute: int


class TokenBuckets:
    """One token bucket per key: ``burst`` requests at once, refilled at ``rate`` a second."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic):
        self.rate, self.burst, self.clock = rate, burst, clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key → (tokens, updated at)

    def _level(self, key: str) -> float:
        tokens, at = self._buckets.get(key, (float(self.burst), self.clock()))
        return min(float(self.burst), tokens + (self.clock() - at) * self.rate)

    def take(self, key: str) -> float:
        """Spend one token of ``key``: 0 when allowed, else the seconds until one is back."""
        level = self._level(key)
        if level < 1:
            self._buckets[key] = (level, self.clock())
            return (1 - level) / self.rate
        if len(self._buckets) >= _MAX_BUCKETS:
            self._prune()
        self._buckets[key] = (level - 1, self.clock())
        return 0.0

    def wait(self, key: str) -> float:
        """Seconds until ``key`` may spend a token again (0: now), spending nothing."""
        level = self._level(key)
        return 0.0 if level >= 1 else (1 - level) / self.rate

    def _prune(self) -> None:
        full = [key for key in self._buckets if self._level(key) >= self.burst]
        for key in full:
            del self._buckets[key]


class RateLimit:
    """ASGI middleware applying :class:`Limits` to every HTTP request."""

    def __init__(self, app: ASGIApp, limits: Limits) -> None:
        self.app = app
        self.limits = limits
        self.per_token = TokenBuckets(limits.per_second, limits.burst)
        per_minute = limits.failed_auth_per_minute
        self.failures = TokenBuckets(per_minute / 60, per_minute)
        self._proven: dict[str, None] = {}  # tokens that authenticated, oldest first

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token = _token_id(scope)
        address = scope["client"][0] if scope.get("client") else "unknown"
        retry_after = self._refusal(token, address)
        if retry_after > 0:
            await _too_many(retry_after)(scope, receive, send)
            return

        async def observe(message: Message) -> None:
            if message["type"] == "http.response.start":
                self._record(token, address, message["status"])
            await send(message)

        await self.app(scope, receive, observe)

    def _refusal(self, token: str | None, address: str) -> float:
        if self.limits.failed_auth_per_minute and token not in self._proven:
            wait = self.failures.wait(address)
            if wait > 0:
                return wait
        if token is not None and self.limits.per_second:
            return self.per_token.take(token)
        return 0.0

    def _record(self, token: str | None, address: str, status: int) -> None:
        if status == 401:
            if self.limits.failed_auth_per_minute:
                self.failures.take(address)
        elif token is not None and status != 429:
            self._proven[token] = None
            if len(self._proven) > _MAX_BUCKETS:
                del self._proven[next(iter(self._proven))]


def _token_id(scope: Scope) -> str | None:
    """A digest of the bearer token (never the token itself is kept), or ``None``."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            return hashlib.sha256(value).hexdigest()
    return None


def _too_many(retry_after: float) -> JSONResponse:
    seconds = max(1, math.ceil(retry_after))
    response = Problem(429, f"too many requests; retry in {seconds} s").response()
    response.headers["Retry-After"] = str(seconds)
    return response
