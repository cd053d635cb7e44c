"""HTTP bodies of the warm-up kit."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from crosslead_common.schemas import RequestBody
from crosslead_intake.fields import Category, Name


class PitchCardIn(RequestBody):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "category": "solar",
                    "headline": "Panels that pay for themselves",
                    "talking_points": ["Installed in two days", "20-year warranty"],
                }
            ]
        }
    )

    category: Category
    headline: Name
    talking_points: list[
        Annotated[str, StringConstraints(min_length=1, max_length=1000, strip_whitespace=True)]
    ] = Field(min_length=1, max_length=10)


class PitchCardOut(BaseModel):
    id: str
    partner_id: str
    category: str
    headline: str
    talking_points: list[str]
    status: Literal["draft", "published"]
    created_at: datetime
    published_at: datetime | None


#: The body of ``PUT /v1/complements/{category}``: the needs to suggest beside it, in order.
ComplementsIn = Annotated[
    list[Category], Field(max_length=50, examples=[["insurance", "heat-pumps"]])
]


class ComplementsOut(BaseModel):
    category: str
    complements: list[str]


class CrossSellSuggestion(BaseModel):
    need: str
    pitch_cards: list[PitchCardOut]


class CrossSellOut(BaseModel):
    category: str
    suggestions: list[CrossSellSuggestion]
