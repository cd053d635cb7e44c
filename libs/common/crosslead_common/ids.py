"""Object ids: a short type prefix and a random UUID (``lead_3f2a…``)."""

from __future__ import annotations

import uuid

__all__ = ["new_id"]


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"
