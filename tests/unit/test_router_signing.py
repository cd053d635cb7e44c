"""Standard Webhooks signing: the reference test vector and the reference library."""

from __future__ import annotations

import base64
import time

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from crosslead_router.signing import new_secret, new_webhook_id, sign, webhook_headers

# The test vector published with the Standard Webhooks reference libraries.
VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TIMESTAMP = 1614265330
VECTOR_BODY = b'{"test": 2432232314}'
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_signature_matches_the_reference_vector() -> None:
    assert sign(VECTOR_SECRET, VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY) == VECTOR_SIGNATURE


def test_new_secrets_are_whsec_base64_of_24_random_bytes() -> None:
    secret = new_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 24
    assert new_secret() != secret


def test_webhook_ids_are_unique_msg_ids() -> None:
    first, second = new_webhook_id(), new_webhook_id()
    assert first.startswith("msg_")
    assert first != second


def test_the_reference_library_verifies_what_we_sign() -> None:
    secret = new_secret()
    body = '{"type":"lead.offered","data":{"customer":{"name":"Zoë"}}}'.encode()
    headers = webhook_headers([secret], new_webhook_id(), int(time.time()), body)
    assert Webhook(secret).verify(body, headers) == {
        "type": "lead.offered",
        "data": {"customer": {"name": "Zoë"}},
    }


def test_the_reference_library_rejects_a_tampered_body_or_another_secret() -> None:
    secret = new_secret()
    body = b'{"lead_id":"l1"}'
    headers = webhook_headers([secret], new_webhook_id(), int(time.time()), body)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(b'{"lead_id":"l2"}', headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body, headers)


def test_a_secret_without_the_prefix_is_refused() -> None:
    with pytest.raises(ValueError, match="whsec_"):
        sign("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY)


def test_during_a_rotation_either_secret_verifies_and_a_third_does_not() -> None:
    new, old = new_secret(), new_secret()
    body = b'{"type":"webhook.test","data":{}}'
    headers = webhook_headers([new, old], new_webhook_id(), int(time.time()), body)
    assert headers["webhook-signature"].count("v1,") == 2
    assert Webhook(new).verify(body, headers) == {"type": "webhook.test", "data": {}}
    assert Webhook(old).verify(body, headers) == {"type": "webhook.test", "data": {}}
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body, headers)
