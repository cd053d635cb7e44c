"""Geometry of the inline SVG bar charts (pure: values in, rectangles out)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = ["FACTORS", "Bar", "Chart", "bar_chart", "score_breakdown"]

#: The routing score's factors, in the order the router documents them.
FACTORS = ("size", "reciprocity", "acceptance", "conversion", "priority")
ROW = 22
LABEL_WIDTH = 110
BAR_WIDTH = 220


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    y: int
    width: float


@dataclass(frozen=True)
class Chart:
    """Horizontal bars; ``height`` and ``width`` size the SVG viewBox."""

    bars: list[Bar]
    height: int
    width: int = LABEL_WIDTH + BAR_WIDTH + 60
    label_width: int = LABEL_WIDTH
    bar_width: int = BAR_WIDTH


def _number(value: Any) -> float:
    try:
        return float(Decimal(str(value)))
    except (InvalidOperation, ValueError):
        return 0.0


def bar_chart(values: list[tuple[str, Any]], scale: float | None = None) -> Chart:
    """One bar per ``(label, value)``; the longest bar is ``scale`` (default: the largest
    value, or 1). Negative values draw as empty bars."""
    numbers = [(label, _number(value)) for label, value in values]
    top = scale or max([n for _, n in numbers if n > 0], default=1.0) or 1.0
    bars = [
        Bar(label, number, index * ROW, max(0.0, min(number / top, 1.0)) * BAR_WIDTH)
        for index, (label, number) in enumerate(numbers)
    ]
    return Chart(bars=bars, height=max(len(bars), 1) * ROW)


def score_breakdown(candidate: dict[str, Any]) -> Chart:
    """A routing candidate's factors, each in [0, 1], on a common scale of 1."""
    factors = candidate.get("factors") or {}
    return bar_chart([(name, factors.get(name, 0)) for name in FACTORS], scale=1.0)
