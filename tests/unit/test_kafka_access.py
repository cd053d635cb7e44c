"""The broker settings (SASL and TLS) reach every Kafka client a service makes: its producer,
its consumers and its topic admin; the password is in no repr, and SASL without credentials is
refused with one line naming the variable."""

from __future__ import annotations

import ssl
from typing import Any

import certifi
import pytest
from aiokafka.client import AIOKafkaClient
from pydantic import ValidationError

from crosslead_common.configuration import describe
from crosslead_common.kafka import client_config, create_producer
from crosslead_common.runtime import Runtime
from crosslead_intake.app import create_app as intake_app
from crosslead_intake.settings import IntakeSettings
from crosslead_router.settings import RouterSettings
from tests.support import ADMIN_TOKEN, CUSTOMER_DATA_KEY, CUSTOMER_HASH_KEY, SECRETS_KEY

PASSWORD = "s3cret-scram-password"

SASL_ENV = {
    "CROSSLEAD_ADMIN_TOKEN": ADMIN_TOKEN,
    "CROSSLEAD_CUSTOMER_DATA_KEY": CUSTOMER_DATA_KEY,
    "CROSSLEAD_INTAKE_CUSTOMER_HASH_KEY": CUSTOMER_HASH_KEY,
    "CROSSLEAD_KAFKA_BOOTSTRAP_SERVERS": "kafka:9092",
    "CROSSLEAD_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
    "CROSSLEAD_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
    "CROSSLEAD_KAFKA_SASL_USERNAME": "crosslead-intake",
    "CROSSLEAD_KAFKA_SASL_PASSWORD": PASSWORD,
    "CROSSLEAD_KAFKA_SSL_CAFILE": certifi.where(),
}


def settings(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> IntakeSettings:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return IntakeSettings()


def connection_of(client: AIOKafkaClient) -> dict[str, Any]:
    return {
        "bootstrap_servers": client._bootstrap_servers,
        "security_protocol": client._security_protocol,
        "sasl_mechanism": client._sasl_mechanism,
        "sasl_plain_username": client._sasl_plain_username,
        "sasl_plain_password": client._sasl_plain_password,
        "checks_certificates": isinstance(client._ssl_context, ssl.SSLContext)
        and client._ssl_context.verify_mode == ssl.CERT_REQUIRED,
    }


EXPECTED = {
    "bootstrap_servers": "kafka:9092",
    "security_protocol": "SASL_SSL",
    "sasl_mechanism": "SCRAM-SHA-512",
    "sasl_plain_username": "crosslead-intake",
    "sasl_plain_password": PASSWORD,
    "checks_certificates": True,
}


async def test_the_settings_reach_the_producer_and_the_consumers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    runtime: Runtime = intake_app(settings(monkeypatch, SASL_ENV)).state.runtime
    access = runtime.settings.kafka_access()
    producer = create_producer(access, client_id="intake")
    [consumer] = [c.new_consumer() for c in runtime._build_consumers(producer)]
    try:
        assert connection_of(producer.client) == EXPECTED
        assert connection_of(consumer._client) == EXPECTED
    finally:  # never started: nothing to connect, only to close
        await consumer.stop()
        await producer.stop()
        await runtime.db.dispose()
    # The admin client (topic creation) and the other consumers take the same arguments.
    config = client_config(access)
    assert config["sasl_plain_password"] == PASSWORD
    assert isinstance(config["ssl_context"], ssl.SSLContext)


def test_the_password_is_in_no_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    configured = settings(monkeypatch, SASL_ENV)
    assert PASSWORD not in repr(configured)
    assert PASSWORD not in repr(configured.kafka_access())
    assert "crosslead-intake" in repr(configured.kafka_access())


def test_plaintext_is_the_default_and_needs_no_credentials(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    keys = (
        "CROSSLEAD_ADMIN_TOKEN",
        "CROSSLEAD_CUSTOMER_DATA_KEY",
        "CROSSLEAD_INTAKE_CUSTOMER_HASH_KEY",
    )
    configured = settings(monkeypatch, {key: SASL_ENV[key] for key in keys})
    config = client_config(configured.kafka_access())
    assert config == {"bootstrap_servers": "127.0.0.1:9092", "security_protocol": "PLAINTEXT"}


def test_sasl_without_a_password_is_refused_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env = {k: v for k, v in SASL_ENV.items() if k != "CROSSLEAD_KAFKA_SASL_PASSWORD"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError) as refused:
        RouterSettings(secrets_key=SECRETS_KEY)
    assert describe(RouterSettings, refused.value) == [
        "CROSSLEAD_KAFKA_SASL_PASSWORD: is required, with CROSSLEAD_KAFKA_SASL_USERNAME, when "
        "the protocol is SASL_SSL"
    ]
