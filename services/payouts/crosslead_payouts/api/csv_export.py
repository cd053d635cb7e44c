"""``Accept: text/csv``: the same data as the JSON answer, one row per line item."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from fastapi import Request
from fastapi.responses import Response

__all__ = ["CSV_RESPONSE", "csv_response", "wants_csv"]

CSV = "text/csv"

#: For the OpenAPI document of a route that also answers in CSV.
CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {CSV: {"schema": {"type": "string"}}}, "description": "JSON, or CSV"}
}


def wants_csv(request: Request) -> bool:
    """Whether the client asked for CSV (and did not prefer JSON)."""
    accept = request.headers.get("accept", "")
    return CSV in accept and "application/json" not in accept


def csv_response(
    header: Sequence[str], rows: Iterable[Sequence[object]], filename: str
) -> Response:
    """A CSV document (RFC 4180, CRLF line ends) with a header row; ``None`` is empty."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(["" if value is None else value for value in row] for row in rows)
    return Response(
        buffer.getvalue(),
        media_type=f"{CSV}; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
