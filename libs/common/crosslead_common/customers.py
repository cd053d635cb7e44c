"""A customer's contact, encrypted per customer so that it can be erased (crypto-shredding).

Every lead's customer gets a random 256-bit data key. The contact (name, phone, e-mail) is
sealed under that key (AES-256-GCM, bound to the lead id), and the data key is wrapped under
the customer-data key from configuration (``CROSSLEAD_CUSTOMER_DATA_KEY``, with
``CROSSLEAD_CUSTOMER_DATA_PREVIOUS_KEYS`` during a rotation), which intake and the router share.
Databases and events hold only the sealed contact; each service keeps its copy of the wrapped
data key in its own ``customer_keys`` table. Erasing the customer deletes those copies, and
then nothing can open the contact any more, wherever a sealed copy survives.

Every reader decrypts through :meth:`CustomerVault.open` (or :meth:`CustomerVault.reveal` for
a body that carries a sealed ``customer``).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from typing import Any

from crosslead_common.crypto import KeyRing, Undecryptable
from crosslead_common.events import Customer, SealedCustomer

__all__ = ["CustomerVault", "Undecryptable", "is_sealed"]


def _contact_context(lead_id: str) -> str:
    return f"customer:{lead_id}"


def _key_context(lead_id: str) -> str:
    return f"customer-key:{lead_id}"


def is_sealed(value: object) -> bool:
    """Whether ``value`` is a stored sealed contact (``{"sealed": ...}``)."""
    return isinstance(value, dict) and isinstance(value.get("sealed"), str)


class CustomerVault:
    """Seals a customer under a fresh data key, and opens it while that key exists."""

    def __init__(self, master: KeyRing) -> None:
        self._master = master

    @classmethod
    def from_settings(cls, key: str, previous: Iterable[str] = ()) -> CustomerVault:
        return cls(KeyRing.from_settings(key, previous))

    def seal(self, lead_id: str, customer: Customer) -> SealedCustomer:
        """The customer of ``lead_id`` sealed under a new data key, and that key wrapped."""
        raw = secrets.token_bytes(32)
        sealed = KeyRing(raw).seal(
            customer.model_dump_json(exclude_none=True).encode(), _contact_context(lead_id)
        )
        return SealedCustomer(sealed=sealed, data_key=self.wrap(lead_id, raw))

    def wrap(self, lead_id: str, raw: bytes) -> str:
        return self._master.seal(raw, _key_context(lead_id))

    def open(self, lead_id: str, sealed: str, data_key: str | None) -> Customer | None:
        """The customer of ``lead_id``, or None once it is erased (``data_key`` is None).
        :class:`Undecryptable` if the key or the contact was altered or is under a
        customer-data key no longer configured."""
        if data_key is None:
            return None
        raw = self._master.open(data_key, _key_context(lead_id))
        plain = KeyRing(raw).open(sealed, _contact_context(lead_id))
        return Customer.model_validate_json(plain)

    def reveal(self, data: dict[str, Any], lead_id: str, data_key: str | None) -> dict[str, Any]:
        """``data`` with its sealed ``customer`` opened, or without ``customer`` once the
        customer is erased; unchanged if it carries no sealed customer."""
        sealed = data.get("customer")
        if not is_sealed(sealed):
            return data
        assert isinstance(sealed, dict)
        customer = self.open(lead_id, sealed["sealed"], data_key)
        if customer is None:
            return {k: v for k, v in data.items() if k != "customer"}
        return {**data, "customer": customer.model_dump(mode="json")}

    def rewrapped(self, lead_id: str, data_key: str) -> str | None:
        """``data_key`` wrapped under the current customer-data key, or None if it already is
        (a rotation re-wraps every stored key, then drops the previous customer-data key)."""
        if self._master.is_current(data_key):
            return None
        return self.wrap(lead_id, self._master.open(data_key, _key_context(lead_id)))
