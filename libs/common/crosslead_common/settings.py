"""Settings bases: one place that reads the environment, built once per process.

Variables shared by all services have no service prefix (``CROSSLEAD_ADMIN_TOKEN``,
``CROSSLEAD_KAFKA_BOOTSTRAP_SERVERS``); each service's own settings use ``env_prefix``
``CROSSLEAD_<SERVICE>_`` (``CROSSLEAD_INTAKE_DATABASE_URL``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from crosslead_common.auth import signing_key
from crosslead_common.crypto import parse_key
from crosslead_common.customers import CustomerVault
from crosslead_common.kafka import KafkaAccess

__all__ = ["CustomerDataSettings", "ServiceSettings"]


def _shared(name: str) -> AliasChoices:
    return AliasChoices(name.lower(), f"CROSSLEAD_{name}")


class ServiceSettings(BaseSettings):
    """Settings every service reads; subclasses add their own under their prefix."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    admin_token: SecretStr = Field(min_length=16, validation_alias=_shared("ADMIN_TOKEN"))
    kafka_bootstrap_servers: str = Field(
        "127.0.0.1:9092", validation_alias=_shared("KAFKA_BOOTSTRAP_SERVERS")
    )
    #: How the services reach the broker: PLAINTEXT (the embedded broker), SSL, SASL_PLAINTEXT
    #: or SASL_SSL; the SASL ones need the mechanism, user name and password below.
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        "PLAINTEXT", validation_alias=_shared("KAFKA_SECURITY_PROTOCOL")
    )
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = Field(
        "SCRAM-SHA-512", validation_alias=_shared("KAFKA_SASL_MECHANISM")
    )
    kafka_sasl_username: str | None = Field(None, validation_alias=_shared("KAFKA_SASL_USERNAME"))
    kafka_sasl_password: SecretStr | None = Field(
        None, validate_default=True, validation_alias=_shared("KAFKA_SASL_PASSWORD")
    )
    #: CA certificates (PEM file) to check the broker's certificate with (SSL, SASL_SSL);
    #: unset: the system's.
    kafka_ssl_cafile: str | None = Field(None, validation_alias=_shared("KAFKA_SSL_CAFILE"))
    kafka_topic_partitions: int = Field(6, ge=1, validation_alias=_shared("KAFKA_TOPIC_PARTITIONS"))
    # The embedded broker answers a consumer's first JoinGroup only after half the session
    # timeout; Apache Kafka waits group.initial.rebalance.delay.ms instead. A member that died
    # without leaving keeps its partitions for this long before the group moves them.
    kafka_session_timeout_seconds: float = Field(
        10.0, ge=1, le=300, validation_alias=_shared("KAFKA_SESSION_TIMEOUT_SECONDS")
    )
    # The embedded broker answers a long poll only when it times out, not when data arrives:
    # this is the longest an event can wait in the broker for an idle consumer, and each idle
    # consumer asks about 1000/this times a second.
    kafka_fetch_max_wait_ms: int = Field(
        20, ge=1, le=1000, validation_alias=_shared("KAFKA_FETCH_MAX_WAIT_MS")
    )
    #: The key partners' API keys are signed with (at least 32 characters), the same on every
    #: service. Unset: derived from the admin token.
    api_key_secret: SecretStr | None = Field(
        None, min_length=32, validation_alias=_shared("API_KEY_SECRET")
    )
    database_url: str
    outbox_poll_interval_seconds: float = Field(1.0, gt=0)
    #: ``text`` (readable) or ``json`` (one object per line, for log collectors).
    log_format: Literal["text", "json"] = Field("text", validation_alias=_shared("LOG_FORMAT"))
    #: Requests per second each bearer token (API key or admin token) may make, in bursts of
    #: up to ``rate_limit_burst``; 0: no limit.
    rate_limit_per_second: float = Field(
        100, ge=0, validation_alias=_shared("RATE_LIMIT_PER_SECOND")
    )
    rate_limit_burst: int = Field(200, ge=1, validation_alias=_shared("RATE_LIMIT_BURST"))
    #: Failed authentications per minute per client address before it is refused; 0: no limit.
    failed_auth_per_minute: int = Field(
        20, ge=0, validation_alias=_shared("FAILED_AUTH_PER_MINUTE")
    )
    #: Metrics and trace spans; off only to measure what they cost.
    telemetry: bool = Field(True, validation_alias=_shared("TELEMETRY"))
    #: How long the broker keeps an event (Kafka's ``log.retention``): a bound on how late a
    #: copy of an event can reach a consumer, so processed-event ids must be kept longer.
    kafka_retention_days: float = Field(7, gt=0, validation_alias=_shared("KAFKA_RETENTION_DAYS"))
    #: Outbox rows are deleted this long after they were published.
    outbox_retention_days: float = Field(7, gt=0)
    #: Ids of applied events are deleted this long after they were applied; longer than the
    #: outbox's retention plus the broker's, so that no copy of the event can still arrive.
    processed_events_retention_days: float = Field(30, gt=0)
    #: How often the retention worker deletes what is due, and how many rows per transaction.
    retention_interval_seconds: float = Field(3600, gt=0)
    retention_batch_size: int = Field(1000, ge=1)

    @field_validator("kafka_sasl_password")
    @classmethod
    def _sasl_credentials(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        protocol = info.data.get("kafka_security_protocol", "")
        if protocol.startswith("SASL_") and (not value or not info.data.get("kafka_sasl_username")):
            raise ValueError(
                f"is required, with CROSSLEAD_KAFKA_SASL_USERNAME, when the protocol is {protocol}"
            )
        return value

    def kafka_access(self) -> KafkaAccess:
        """How this service's Kafka clients connect."""
        password = self.kafka_sasl_password
        return KafkaAccess(
            bootstrap_servers=self.kafka_bootstrap_servers,
            security_protocol=self.kafka_security_protocol,
            sasl_mechanism=self.kafka_sasl_mechanism,
            sasl_username=self.kafka_sasl_username,
            sasl_password=password.get_secret_value() if password else None,
            ssl_cafile=self.kafka_ssl_cafile,
        )

    @field_validator("processed_events_retention_days")
    @classmethod
    def _outlives_every_copy(cls, value: float, info: ValidationInfo) -> float:
        outbox, broker = (
            info.data.get("outbox_retention_days"),
            info.data.get("kafka_retention_days"),
        )
        if outbox is not None and broker is not None and value <= outbox + broker:
            raise ValueError(
                "must be longer than the outbox retention plus CROSSLEAD_KAFKA_RETENTION_DAYS"
                f" ({outbox:g} + {broker:g} days), or a redelivered event could apply twice"
            )
        return value

    def api_key_signing_key(self) -> bytes:
        secret = self.api_key_secret.get_secret_value() if self.api_key_secret else None
        return signing_key(self.admin_token.get_secret_value(), secret)


class CustomerDataSettings(ServiceSettings):
    """The settings of a service that reads customers' contacts (intake and the router)."""

    #: The key that wraps every customer's data key (32 bytes, base64), the same on intake and
    #: the router; required.
    customer_data_key: SecretStr = Field(validation_alias=_shared("CUSTOMER_DATA_KEY"))
    #: During a rotation: the previous customer-data keys, comma-separated, which still open
    #: data keys wrapped before it (DESIGN.md, privacy).
    customer_data_previous_keys: SecretStr | None = Field(
        None, validation_alias=_shared("CUSTOMER_DATA_PREVIOUS_KEYS")
    )

    @field_validator("customer_data_key")
    @classmethod
    def _key(cls, value: SecretStr) -> SecretStr:
        parse_key(value.get_secret_value())  # "must be 32 bytes, base64-encoded"
        return value

    @field_validator("customer_data_previous_keys")
    @classmethod
    def _previous_keys(cls, value: SecretStr | None) -> SecretStr | None:
        for key in _split(value):
            parse_key(key)
        return value

    def customer_vault(self) -> CustomerVault:
        return CustomerVault.from_settings(
            self.customer_data_key.get_secret_value(), _split(self.customer_data_previous_keys)
        )


def _split(value: SecretStr | None) -> list[str]:
    text = value.get_secret_value() if value is not None else ""
    return [key.strip() for key in text.split(",") if key.strip()]
