"""Webhook signing secrets are stored sealed (AES-256-GCM, :mod:`crosslead_common.crypto`)
under ``CROSSLEAD_ROUTER_SECRETS_KEY``; a secret sealed under the key before a rotation
(``CROSSLEAD_ROUTER_SECRETS_KEY_PREVIOUS``) still opens, and the router's resealer
(:func:`crosslead_router.workers.secrets_resealer`) seals such rows again under the current
key. Each value is bound to its endpoint (its id is the associated data), so a
sealed secret copied to another endpoint's row does not open there.

The key ring is the process's, set once by the app (:func:`configure`) before any endpoint is
read or written.
"""

from __future__ import annotations

from crosslead_common.crypto import KeyRing

__all__ = ["configure", "is_current", "open_secret", "seal_secret"]

#: The process's key ring, under "ring" once configured.
_configured: dict[str, KeyRing] = {}


def configure(ring: KeyRing) -> None:
    """Seal and open endpoint secrets with ``ring`` from now on."""
    _configured["ring"] = ring


def _current() -> KeyRing:
    if "ring" not in _configured:
        raise RuntimeError("the router's secrets key ring is not configured")
    return _configured["ring"]


def _context(endpoint_id: str) -> str:
    return f"webhook_endpoints/{endpoint_id}"


def seal_secret(secret: str, endpoint_id: str) -> str:
    if not endpoint_id:
        raise ValueError("an endpoint's id is set before its secret")
    return _current().seal(secret.encode(), _context(endpoint_id))


def open_secret(sealed: str, endpoint_id: str) -> str:
    """The secret in clear; :class:`~crosslead_common.crypto.Undecryptable` if it was sealed
    under a key the ring does not hold."""
    return _current().open(sealed, _context(endpoint_id)).decode()


def is_current(sealed: str | None) -> bool:
    """Whether ``sealed`` (None: no value) needs no re-sealing under the current key."""
    return sealed is None or _current().is_current(sealed)
