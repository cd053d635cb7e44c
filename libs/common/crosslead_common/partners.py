"""The columns of a partner that more than one service keeps: who it is, its API key's hash,
and its routing settings (as ``PartnerRegistered`` and ``PartnerUpdated`` carry them)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Boolean, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column

__all__ = ["PartnerColumns"]


class PartnerColumns:
    """Mixed into a service's ``partners`` table."""

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    offers: Mapped[list[str]] = mapped_column(JSON)
    regions: Mapped[list[str]] = mapped_column(JSON)
    capacity_per_day: Mapped[int | None] = mapped_column(Integer)
    capacity_per_hour: Mapped[int | None] = mapped_column(Integer)
    #: An :class:`~crosslead_common.events.Availability` as JSON; ``None``: any time.
    availability: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    paused: Mapped[bool] = mapped_column(Boolean, server_default=false())
    api_key_hash: Mapped[str] = mapped_column(String(64), unique=True)
