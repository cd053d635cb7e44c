"""Settings of the router service (environment prefix ``CROSSLEAD_ROUTER_``)."""

from __future__ import annotations

from pydantic import AliasChoices, Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import SettingsConfigDict

from crosslead_common.crypto import KeyRing, parse_key
from crosslead_common.settings import CustomerDataSettings
from crosslead_router.routing import RoutingPolicy

__all__ = ["RouterSettings"]


class RouterSettings(CustomerDataSettings):
    model_config = SettingsConfigDict(
        env_prefix="CROSSLEAD_ROUTER_", extra="ignore", populate_by_name=True
    )

    database_url: str = "sqlite+aiosqlite:///var/router.db"
    #: The key webhook signing secrets are sealed with at rest (32 random bytes, base64;
    #: ``make run`` keeps one in ``var/``).
    secrets_key: SecretStr
    #: The key before the last rotation of ``secrets_key``: secrets sealed under it still
    #: open, and the router seals them again under the new one.
    secrets_key_previous: SecretStr | None = None
    #: Bound on one whole webhook request (connect, send, answer).
    webhook_timeout_seconds: float = Field(10.0, gt=0)
    #: Attempts per delivery before it is marked failed.
    webhook_max_attempts: int = Field(10, ge=1)
    #: Delay before the 2nd, 3rd, ... attempt; the last value repeats.
    webhook_backoff_seconds: tuple[float, ...] = Field(
        (1, 5, 30, 120, 600, 1800, 3600), min_length=1
    )
    #: Each delay is stretched or shrunk by up to this fraction, so retries spread out.
    webhook_backoff_jitter: float = Field(0.2, ge=0, lt=1)
    #: Webhook requests in flight at once, per router process.
    webhook_concurrency: int = Field(16, ge=1)
    #: Webhook requests in flight at once to one endpoint, per router process: a hanging
    #: endpoint holds no more than this of the shared capacity.
    webhook_concurrency_per_endpoint: int = Field(4, ge=1)
    #: Failed attempts in a row after which an endpoint's circuit breaker opens.
    webhook_breaker_failures: int = Field(5, ge=1)
    #: How long an open breaker stops attempts before one probe may go out.
    webhook_breaker_cooldown_seconds: float = Field(30.0, gt=0)
    #: An endpoint all of whose attempts failed for this long is disabled (``failing``).
    endpoint_disable_after_seconds: float = Field(5 * 24 * 3600, gt=0)
    #: A lead expires this long after its deadline, so that an acceptance intake took just
    #: before the deadline (and that is still on its way here) is not overtaken.
    deadline_grace_seconds: float = Field(10.0, ge=0)
    #: How often the dispatcher and the deadline watcher look for work they were not woken for.
    dispatcher_poll_interval_seconds: float = Field(1.0, gt=0)
    #: Offers of one lead (to one partner after another) before it is given up as unroutable.
    max_hops: int = Field(3, ge=1)
    #: How often a waiting lead is looked at again when nothing woke it (a capacity window
    #: rolling over or a schedule opening wake nothing).
    waiting_recheck_seconds: float = Field(30.0, gt=0)
    #: Delivered and cancelled webhook deliveries (their bodies and attempts) are deleted this
    #: long after they ended; failed ones not before they can no longer be recovered (14 days).
    delivery_retention_days: float = Field(30, gt=0)
    #: Let webhook URLs reach loopback and private networks (local runs and tests only).
    webhook_allow_private: bool = Field(
        False,
        validation_alias=AliasChoices("webhook_allow_private", "CROSSLEAD_WEBHOOK_ALLOW_PRIVATE"),
    )

    @field_validator("secrets_key", "secrets_key_previous")
    @classmethod
    def _a_key(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if value is None or (
            info.field_name == "secrets_key_previous" and not value.get_secret_value().strip()
        ):
            return None  # an empty previous key: none
        parse_key(value.get_secret_value())  # ValueError: "must be 32 bytes, base64-encoded"
        return value

    def key_ring(self) -> KeyRing:
        """The key ring endpoint secrets are sealed and opened with."""
        previous = self.secrets_key_previous
        return KeyRing.from_settings(
            self.secrets_key.get_secret_value(),
            [previous.get_secret_value()] if previous is not None else [],
        )

    def routing_policy(self) -> RoutingPolicy:
        return RoutingPolicy(max_hops=self.max_hops, recheck_seconds=self.waiting_recheck_seconds)
