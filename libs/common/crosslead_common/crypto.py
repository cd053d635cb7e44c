"""Authenticated encryption at rest, with keys that can be rotated.

A :class:`KeyRing` holds the current key and any previous ones, each named by a short key id
derived from the key itself. :meth:`KeyRing.seal` encrypts with the current key (AES-256-GCM,
a random 96-bit nonce) and writes ``v1.<key id>.<nonce + ciphertext, base64url>``, so a value
sealed under an older key still opens while that key is in the ring: rotating means putting
the new key first, re-sealing (or waiting until old values are gone), then dropping the old
key. ``context`` (associated data) binds a ciphertext to where it belongs (e.g. an endpoint
id), so a value copied to another row does not open there.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
from collections.abc import Iterable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = ["KeyRing", "Undecryptable", "new_key", "parse_key"]

_VERSION = "v1"
_NONCE_BYTES = 12


class Undecryptable(ValueError):
    """The value was sealed under a key the ring does not hold, or was altered."""


def new_key() -> str:
    """A fresh 256-bit key, base64url-encoded, as the settings expect it."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def parse_key(text: str) -> bytes:
    """The 32 bytes of a base64 (standard or url-safe) key; ValueError if it is not one."""
    try:
        raw = base64.urlsafe_b64decode(text.strip().replace("+", "-").replace("/", "_"))
    except (binascii.Error, ValueError) as error:
        raise ValueError("must be 32 bytes, base64-encoded") from error
    if len(raw) != 32:
        raise ValueError("must be 32 bytes, base64-encoded")
    return raw


def _key_id(key: bytes) -> str:
    return hashlib.sha256(b"crosslead-key-id" + key).hexdigest()[:8]


class KeyRing:
    """The current key (first) and the previous ones, which only open."""

    def __init__(self, current: bytes, previous: Iterable[bytes] = ()) -> None:
        keys = [current, *previous]
        self._current = _key_id(current)
        self._ciphers = {_key_id(key): AESGCM(key) for key in keys}

    @classmethod
    def from_settings(cls, current: str, previous: Iterable[str] = ()) -> KeyRing:
        return cls(parse_key(current), [parse_key(key) for key in previous if key.strip()])

    def seal(self, plaintext: bytes, context: str = "") -> str:
        nonce = secrets.token_bytes(_NONCE_BYTES)
        sealed = self._ciphers[self._current].encrypt(nonce, plaintext, context.encode())
        body = base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")
        return f"{_VERSION}.{self._current}.{body}"

    def open(self, token: str, context: str = "") -> bytes:
        try:
            version, key_id, body = token.split(".", 2)
            cipher = self._ciphers[key_id] if version == _VERSION else None
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        except (ValueError, KeyError, binascii.Error) as error:
            raise Undecryptable("not sealed under a key of this ring") from error
        if cipher is None:
            raise Undecryptable(f"unknown format {version!r}")
        try:
            return cipher.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], context.encode())
        except InvalidTag as error:
            raise Undecryptable("altered, or sealed for another context") from error

    def is_current(self, token: str) -> bool:
        """Whether ``token`` is sealed under the current key (else it is due for re-sealing)."""
        return token.startswith(f"{_VERSION}.{self._current}.")
