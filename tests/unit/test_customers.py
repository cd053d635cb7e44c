"""Customers sealed per customer: opened only with their own data key, for their own lead,
across a rotation of the customer-data key, and never once the data key is gone."""

from __future__ import annotations

import pytest

from crosslead_common.crypto import new_key
from crosslead_common.customers import CustomerVault, Undecryptable
from crosslead_common.events import Customer

ADA = Customer(name="Ada Buyer", phone="+49 30 5550100", email="ada@example.com")


def test_a_sealed_customer_opens_with_its_data_key_only_for_its_lead() -> None:
    vault = CustomerVault.from_settings(new_key())
    sealed = vault.seal("lead_1", ADA)
    assert "5550100" not in sealed.model_dump_json()
    assert "ada@" not in sealed.model_dump_json()
    assert vault.open("lead_1", sealed.sealed, sealed.data_key) == ADA
    with pytest.raises(Undecryptable):
        vault.open("lead_2", sealed.sealed, sealed.data_key)  # copied onto another lead
    assert vault.open("lead_1", sealed.sealed, None) is None  # erased: the key is gone


def test_a_rotated_key_still_opens_and_rewraps_what_the_previous_key_wrapped() -> None:
    old, new = new_key(), new_key()
    sealed = CustomerVault.from_settings(old).seal("lead_1", ADA)
    rotated = CustomerVault.from_settings(new, [old])
    assert rotated.open("lead_1", sealed.sealed, sealed.data_key) == ADA
    rewrapped = rotated.rewrapped("lead_1", sealed.data_key)
    assert rewrapped is not None
    assert rotated.rewrapped("lead_1", rewrapped) is None
    assert CustomerVault.from_settings(new).open("lead_1", sealed.sealed, rewrapped) == ADA
    with pytest.raises(Undecryptable):
        CustomerVault.from_settings(new).open("lead_1", sealed.sealed, sealed.data_key)
