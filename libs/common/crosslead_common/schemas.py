"""The base of every HTTP request body."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

__all__ = ["RequestBody"]


class RequestBody(BaseModel):
    """Refuses unknown fields (a typo is an error, not silently ignored) and NUL characters
    in text (PostgreSQL cannot store them; SQLite would, so both backends behave alike)."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        texts = value if isinstance(value, list | tuple) else (value,)
        if any(isinstance(text, str) and "\x00" in text for text in texts):
            raise ValueError("must not contain NUL characters")
        return value
