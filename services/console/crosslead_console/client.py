"""The HTTP client of the console: one call to one service's public API, with the
signed-in party's bearer token, and its problem+json errors as :class:`ApiError`."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from crosslead_console.settings import ConsoleSettings

__all__ = ["ApiClient", "ApiError"]


class ApiError(Exception):
    """An API's error answer: the status and its problem+json fields."""

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        self.status = status
        self.title = str(problem.get("title") or "Error")
        self.detail = str(problem.get("detail") or "")
        self.field_errors: dict[str, str] = {}
        for error in problem.get("errors") or []:
            if isinstance(error, dict) and "field" in error:
                self.field_errors.setdefault(str(error["field"]), str(error.get("message", "")))
        super().__init__(f"{status} {self.title}: {self.detail}")

    @property
    def not_found(self) -> bool:
        return self.status == 404

    @property
    def message(self) -> str:
        """What the user reads when no field is at fault."""
        if self.status == 404:
            return "Not found."
        if self.status == 401:
            return "Your token is not valid (any more)."
        return f"{self.title}: {self.detail}" if self.detail else self.title


class ApiClient:
    """Calls intake, router and payouts at the base URLs from the settings."""

    def __init__(self, settings: ConsoleSettings) -> None:
        self.settings = settings
        self.http = httpx.AsyncClient(timeout=settings.api_timeout_seconds)

    async def aclose(self) -> None:
        await self.http.aclose()

    async def unreachable(self, services: tuple[str, ...]) -> list[str]:
        """The services whose ``/healthz`` does not answer 200."""

        async def down(service: str) -> bool:
            try:
                response = await self.http.get(self.settings.base_url(service) + "/healthz")
            except httpx.HTTPError:
                return True
            return response.status_code != 200

        results = await asyncio.gather(*(down(s) for s in services))
        return [s for s, is_down in zip(services, results, strict=True) if is_down]

    async def request(
        self,
        service: str,
        method: str,
        path: str,
        token: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        accept: str = "application/json",
        idempotency_key: str | None = None,
    ) -> httpx.Response:
        """The service's 2xx response; any other answer raises :class:`ApiError`."""
        headers = {"Authorization": f"Bearer {token}", "Accept": accept}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        query = {k: v for k, v in (params or {}).items() if v not in (None, "")}
        try:
            response = await self.http.request(
                method,
                self.settings.base_url(service) + path,
                json=json,
                params=query,
                headers=headers,
            )
        except httpx.HTTPError as exc:
            raise ApiError(
                503, {"title": "Service Unavailable", "detail": f"{service} cannot be reached"}
            ) from exc
        if response.is_success:
            return response
        try:
            problem = response.json()
        except ValueError:
            problem = {}
        if not isinstance(problem, dict):
            problem = {}
        problem.setdefault("title", response.reason_phrase)
        raise ApiError(response.status_code, problem)

    async def json(
        self, service: str, method: str, path: str, token: str, **kwargs: Any
    ) -> dict[str, Any]:
        response = await self.request(service, method, path, token, **kwargs)
        if response.status_code == 204 or not response.content:
            return {}
        body = response.json()
        return body if isinstance(body, dict) else {"items": body}
