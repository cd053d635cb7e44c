"""HTTP bodies of ``/v1/customers``."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from crosslead_common.schemas import RequestBody
from crosslead_intake.fields import Email, Phone

__all__ = ["EraseIn", "Erased"]


class EraseIn(RequestBody):
    """Whose contact to erase: every lead of a phone or e-mail (matched as duplicates are),
    or one lead. At least one field."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"phone": "+49 30 5550100"}, {"lead_id": "lead_5f2c"}]}
    )

    phone: Phone | None = None
    email: Email | None = None
    lead_id: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None


class Erased(BaseModel):
    count: int = Field(
        description="Leads whose customer was erased by this request (0 for a customer "
        "unknown to the caller, or already erased)."
    )
