"""Settings errors a person can act on: one line per bad variable, naming the environment
variable and the rule it breaks, never its value (it may be a secret)."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

from pydantic import AliasChoices, ValidationError
from pydantic_settings import BaseSettings, SettingsError

__all__ = ["EXIT_BAD_SETTINGS", "describe", "env_name", "load_settings"]

#: The exit code of every command that refuses to start on a bad setting.
EXIT_BAD_SETTINGS = 2

S = TypeVar("S", bound=BaseSettings)

_RULES: dict[str, Callable[[dict[str, Any]], str]] = {
    "missing": lambda _: "is required",
    "too_short": lambda c: f"must be at least {c['min_length']} characters long",
    "string_too_short": lambda c: f"must be at least {c['min_length']} characters long",
    "too_long": lambda c: f"must be at most {c['max_length']} long",
    "greater_than": lambda c: f"must be greater than {c['gt']}",
    "greater_than_equal": lambda c: f"must be at least {c['ge']}",
    "less_than": lambda c: f"must be less than {c['lt']}",
    "less_than_equal": lambda c: f"must be at most {c['le']}",
    "int_parsing": lambda _: "must be a whole number",
    "int_from_float": lambda _: "must be a whole number",
    "float_parsing": lambda _: "must be a number",
    "bool_parsing": lambda _: "must be 1/0, true/false, yes/no or on/off",
    "literal_error": lambda c: f"must be one of {c['expected']}",
    "enum": lambda c: f"must be one of {c['expected']}",
}


def env_name(settings_cls: type[BaseSettings], field: str) -> str:
    """The environment variable that sets ``field`` of ``settings_cls``."""
    info = settings_cls.model_fields.get(field)
    alias = info.validation_alias if info else None
    if isinstance(alias, AliasChoices):
        named = [c for c in alias.choices if isinstance(c, str) and c.isupper()]
        if named:
            return named[0]
    prefix = str(settings_cls.model_config.get("env_prefix", ""))
    return f"{prefix}{field}".upper()


def describe(settings_cls: type[BaseSettings], exc: ValidationError | SettingsError) -> list[str]:
    """One line per broken rule: ``VARIABLE: rule`` (the value is never repeated)."""
    if isinstance(exc, SettingsError):
        # pydantic-settings reports a value it could not parse as JSON by its field name.
        match = re.search(r'field "([^"]+)"', str(exc))
        name = env_name(settings_cls, match.group(1)) if match else "a setting"
        return [f"{name}: could not be parsed (a JSON value is expected, e.g. [1, 5, 30])"]
    lines = []
    for error in exc.errors(include_input=False, include_url=False):
        field = str(error["loc"][0]) if error["loc"] else ""
        rule = _RULES.get(error["type"])
        ctx = error.get("ctx") or {}
        text = rule(ctx) if rule else _generic(error["msg"])
        lines.append(f"{env_name(settings_cls, field)}: {text}")
    return lines


def load_settings(settings_cls: Callable[[], S], *, program: str) -> S:
    """Build the settings from the environment, or print what is wrong and exit with 2."""
    try:
        return settings_cls()
    except (ValidationError, SettingsError) as exc:
        cls = settings_cls if isinstance(settings_cls, type) else BaseSettings
        _refuse(program, describe(cls, exc))


def _generic(message: str) -> str:
    # Messages of custom validators ("Value error, expected CUR=amount pairs ...").
    return message.removeprefix("Value error, ").removeprefix("Assertion failed, ")


def _refuse(program: str, lines: list[str]) -> NoReturn:
    for line in lines:
        print(f"{program}: bad setting {line}", file=sys.stderr)
    sys.exit(EXIT_BAD_SETTINGS)
