"""Field types shared by the request bodies of several intake subdomains."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import Field, StringConstraints

__all__ = [
    "CATEGORY_PATTERN",
    "Amount",
    "Category",
    "Currency",
    "Email",
    "Name",
    "Phone",
    "Region",
    "Share",
    "Text",
]

CATEGORY_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,63}$"
Category = Annotated[str, StringConstraints(pattern=CATEGORY_PATTERN)]
Region = Annotated[str, StringConstraints(min_length=1, max_length=100, strip_whitespace=True)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=4000, strip_whitespace=True)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
Share = Annotated[Decimal, Field(ge=0, le=1, max_digits=12, allow_inf_nan=False)]
Amount = Annotated[Decimal, Field(gt=0, max_digits=20, allow_inf_nan=False)]
Phone = Annotated[str, StringConstraints(pattern=r"^\+?[0-9 ()./-]{5,30}$")]
Email = Annotated[str, StringConstraints(pattern=r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{1,63}$")]
