"""Turning form fields into API bodies: lists, optional numbers, and the problem+json
field errors that are shown next to each field."""

from __future__ import annotations

from typing import Any

from crosslead_console.client import ApiError

__all__ = ["drop_blank", "errors_of", "optional_int", "words"]


def words(value: str) -> list[str]:
    """``"berlin, potsdam"`` → ``["berlin", "potsdam"]``."""
    return [item.strip() for item in value.replace("\n", ",").split(",") if item.strip()]


def optional_int(value: str) -> int | str | None:
    """An integer, None when blank; anything else is passed on for the API to refuse."""
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        return value


def errors_of(error: ApiError, fields: set[str]) -> tuple[dict[str, str], str | None]:
    """The API's errors by form field (``commission.rate`` sits next to the rate input), and
    one message for the top of the form for what no field shows."""
    by_field: dict[str, str] = {}
    rest: list[str] = []
    for field, message in error.field_errors.items():
        owner = next((f for f in sorted(fields, key=len, reverse=True) if _under(field, f)), None)
        if owner is None:
            rest.append(f"{field}: {message}")
        else:
            by_field.setdefault(owner, message)
    if not error.field_errors:
        rest.append(error.message)
    return by_field, "; ".join(rest) or None


def _under(field: str, form_field: str) -> bool:
    return field == form_field or field.startswith(form_field + ".")


def drop_blank(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if v not in (None, "", [])}
