"""Settings bases: one place that reads the environment, built once per process.

Variables shared by all services have no service prefix (``CROSSLEAD_ADMIN_TOKEN``,
``CROSSLEAD_KAFKA_BOOTSTRAP_SERVERS``); each service's own settings use ``env_prefix``
``CROSSLEAD_<SERVICE>_`` (``CROSSLEAD_INTAKE_DATABASE_URL``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["ServiceSettings"]


def _shared(name: str) -> AliasChoices:
    return AliasChoices(name.lower(), f"CROSSLEAD_{name}")


class ServiceSettings(BaseSettings):
    """Settings every service reads; subclasses add their own under their prefix."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    admin_token: SecretStr = Field(min_length=16, validation_alias=_shared("ADMIN_TOKEN"))
    kafka_bootstrap_servers: str = Field(
        "127.0.0.1:9092", validation_alias=_shared("KAFKA_BOOTSTRAP_SERVERS")
    )
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
    database_url: str
    outbox_poll_interval_seconds: float = Field(1.0, gt=0)
    #: ``text`` (readable) or ``json`` (one object per line, for log collectors).
    log_format: Literal["text", "json"] = Field("text", validation_alias=_shared("LOG_FORMAT"))
    #: Metrics and trace spans; off only to measure what they cost.
    telemetry: bool = Field(True, validation_alias=_shared("TELEMETRY"))
