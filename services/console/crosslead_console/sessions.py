"""Server-side sessions: the signed-in party's token stays in this process; the browser only
holds a random session id in an HttpOnly, SameSite=Strict cookie."""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass, field

__all__ = ["Session", "SessionStore"]


@dataclass
class Session:
    """Who is signed in: the operator (``partner_id is None``) or one partner."""

    token: str = field(repr=False)
    partner_id: str | None
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)
    last_seen: float = field(default_factory=time.monotonic)

    @property
    def is_operator(self) -> bool:
        return self.partner_id is None

    def csrf_ok(self, submitted: str) -> bool:
        return hmac.compare_digest(submitted.encode(), self.csrf.encode())


class SessionStore:
    """Sessions by id, forgotten after ``idle_seconds`` without a request."""

    def __init__(self, idle_seconds: float) -> None:
        self.idle_seconds = idle_seconds
        self._sessions: dict[str, Session] = {}

    def create(self, token: str, partner_id: str | None) -> tuple[str, Session]:
        self._expire()
        session_id = secrets.token_urlsafe(32)
        session = Session(token=token, partner_id=partner_id)
        self._sessions[session_id] = session
        return session_id, session

    def get(self, session_id: str | None) -> Session | None:
        """The live session with this id (its idle clock restarts), or None."""
        if not session_id:
            return None
        session = self._sessions.get(session_id)
        now = time.monotonic()
        if session is None or now - session.last_seen > self.idle_seconds:
            self._sessions.pop(session_id, None)
            return None
        session.last_seen = now
        return session

    def delete(self, session_id: str | None) -> None:
        if session_id:
            self._sessions.pop(session_id, None)

    def _expire(self) -> None:
        now = time.monotonic()
        stale = [k for k, s in self._sessions.items() if now - s.last_seen > self.idle_seconds]
        for key in stale:
            del self._sessions[key]
