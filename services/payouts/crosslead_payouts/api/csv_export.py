"""``Accept: text/csv``: the same data as the JSON answer, one row per line item."""

from __future__ import annotations

import csv
import io
import re
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


#: What a spreadsheet reads as a formula (or a field separator) at the start of a cell.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def _cell(value: object) -> object:
    """``None`` as empty; text a partner chose (manager ids, external ids) that a spreadsheet
    would run as a formula is prefixed with ``'`` so it shows as text. Amounts, negative ones
    too, stay numbers."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def csv_response(
    header: Sequence[str], rows: Iterable[Sequence[object]], filename: str
) -> Response:
    """A CSV document (RFC 4180, CRLF line ends) with a header row; ``None`` is empty and
    formula-like text is neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows([_cell(value) for value in row] for row in rows)
    return Response(
        buffer.getvalue(),
        media_type=f"{CSV}; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
