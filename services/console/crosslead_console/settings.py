"""Settings of the console (environment prefix ``CROSSLEAD_CONSOLE_``)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["ConsoleSettings"]


class ConsoleSettings(BaseSettings):
    """Where the three services answer, and how long an idle session lasts."""

    model_config = SettingsConfigDict(env_prefix="CROSSLEAD_CONSOLE_", extra="ignore")

    intake_url: str = "http://127.0.0.1:8001"
    router_url: str = "http://127.0.0.1:8002"
    payouts_url: str = "http://127.0.0.1:8003"
    #: A session unused for this long is forgotten; the next request goes to the sign-in page.
    session_idle_minutes: int = Field(60, ge=1, le=24 * 60)
    #: The path the console is served under when no proxy sends ``X-Forwarded-Prefix``.
    root_path: str = ""
    api_timeout_seconds: float = Field(10.0, gt=0)

    def base_url(self, service: str) -> str:
        urls = {"intake": self.intake_url, "router": self.router_url}
        return urls.get(service, self.payouts_url).rstrip("/")
