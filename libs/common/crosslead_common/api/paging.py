"""Cursor paging of every list: ``?limit=&cursor=`` in, ``{items, next_cursor}`` out.

A cursor is opaque to clients: the sort key of the last item of a page, encoded. Lists are
read in a stable order (a time, then the id), so a page never repeats or skips an item that
existed when the first page was read.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Annotated, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel, Field

from crosslead_common.domain import InvalidField

__all__ = [
    "Cursor",
    "Limit",
    "Page",
    "decode_cursor",
    "decode_time_cursor",
    "encode_cursor",
    "page_of",
]

T = TypeVar("T")
R = TypeVar("R")

Limit = Annotated[int, Query(ge=1, le=200, description="Items per page")]
Cursor = Annotated[
    str | None, Query(max_length=500, description="`next_cursor` of the previous page")
]


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(None, description="The next page's cursor; null at the end")


def encode_cursor(key: Sequence[str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, size: int) -> tuple[str, ...] | None:
    """The sort key a cursor stands for (``None`` for the first page); 422 on ``cursor`` for
    anything this service did not hand out."""
    if cursor is None:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError):
        key = None
    if not (isinstance(key, list) and len(key) == size and all(isinstance(k, str) for k in key)):
        raise InvalidField("cursor", "not a cursor of this list")
    return tuple(key)


def decode_time_cursor(cursor: str | None) -> tuple[datetime, str] | None:
    """The ``(time, id)`` a cursor of a list read in time order stands for (``None`` for the
    first page); 422 on ``cursor`` for anything else."""
    key = decode_cursor(cursor, 2)
    if key is None:
        return None
    try:
        return datetime.fromisoformat(key[0]), key[1]
    except ValueError:
        raise InvalidField("cursor", "not a cursor of this list") from None


def page_of(
    rows: Sequence[T], limit: int, key: Callable[[T], Sequence[str]], out: Callable[[T], R]
) -> Page[R]:
    """A page from up to ``limit + 1`` rows read after the cursor: the extra row only tells
    that there is a next page."""
    shown = rows[:limit]
    more = len(rows) > limit and bool(shown)
    return Page[R](
        items=[out(row) for row in shown],
        next_cursor=encode_cursor(key(shown[-1])) if more else None,
    )
