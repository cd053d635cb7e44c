"""Sealing values at rest: what is sealed opens with the ring (also after the key is
rotated), never in clear, never under a key the ring lacks, never in another context."""

from __future__ import annotations

import pytest

from crosslead_common.crypto import KeyRing, Undecryptable, new_key, parse_key


def test_a_sealed_value_opens_and_does_not_show_its_plaintext() -> None:
    ring = KeyRing.from_settings(new_key())
    sealed = ring.seal(b"whsec_very-secret", context="endpoint-1")
    assert b"very-secret" not in sealed.encode()
    assert ring.seal(b"whsec_very-secret", context="endpoint-1") != sealed  # fresh nonce
    assert ring.open(sealed, context="endpoint-1") == b"whsec_very-secret"


def test_a_value_sealed_under_the_previous_key_opens_after_rotation() -> None:
    old, new = new_key(), new_key()
    sealed = KeyRing.from_settings(old).seal(b"secret")
    rotated = KeyRing.from_settings(new, previous=[old])
    assert rotated.open(sealed) == b"secret"
    assert not rotated.is_current(sealed)
    assert rotated.is_current(rotated.seal(b"secret"))
    with pytest.raises(Undecryptable):
        KeyRing.from_settings(new).open(sealed)  # the old key dropped: no longer readable


def test_an_altered_or_misplaced_value_does_not_open() -> None:
    ring = KeyRing.from_settings(new_key())
    sealed = ring.seal(b"secret", context="endpoint-1")
    altered = sealed[:-2] + ("A" if sealed[-2] != "A" else "B") + sealed[-1]
    for token, context in [(sealed, "endpoint-2"), (altered, "endpoint-1"), ("garbage", "")]:
        with pytest.raises(Undecryptable):
            ring.open(token, context=context)


@pytest.mark.parametrize("text", ["", "short", "A" * 60])
def test_a_key_that_is_not_32_bytes_of_base64_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        parse_key(text)
