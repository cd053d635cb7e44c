"""Process logs: readable text by default, one JSON object per line with
``CROSSLEAD_LOG_FORMAT=json``.

Every line carries the service, and when known the trace id, the request id and the event id
and type being handled. Messages name ids, types, routes and outcomes only: customers' names,
phones, e-mails, tokens and secrets are never logged.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Literal

from crosslead_common.observability.tracing import current_trace_id

__all__ = ["LogFormat", "bind", "configure_logging"]

LogFormat = Literal["text", "json"]

_context: ContextVar[dict[str, str]] = ContextVar("crosslead_log_context", default={})  # noqa: B039
# Attributes every LogRecord has; anything else was passed in ``extra`` and is logged too.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


@contextmanager
def bind(**fields: str) -> Iterator[None]:
    """Add ``fields`` (request_id, event_id, event_type) to every line logged inside."""
    token = _context.set({**_context.get(), **fields})
    try:
        yield
    finally:
        _context.reset(token)


class _ContextFilter(logging.Filter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self._service = service

    def filter(self, record: logging.LogRecord) -> bool:
        record.service = self._service
        record.trace_id = current_trace_id()
        for key, value in _context.get().items():
            setattr(record, key, value)
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update(
            (key, value)
            for key, value in vars(record).items()
            if key not in _STANDARD and value is not None
        )
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(service)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        context = {k: getattr(record, k, None) for k in ("trace_id", *_context.get())}
        tail = " ".join(f"{k}={v}" for k, v in context.items() if v)
        return f"{text} [{tail}]" if tail else text


def configure_logging(service: str, log_format: LogFormat, level: int = logging.INFO) -> None:
    """Send every logger's records to stderr in ``log_format``, tagged with ``service``."""
    handler = logging.StreamHandler()
    handler.addFilter(_ContextFilter(service))
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "aiokafka"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    # HTTP clients log every request URL at INFO; a webhook URL may carry credentials.
    for name in ("httpx", "httpcore", "aiohttp.client"):
        logging.getLogger(name).setLevel(logging.WARNING)
