"""Structured logs: one JSON object per line, each carrying the request id of the request
that wrote it, so one request can be followed across the app's and the access log's lines.

The request id comes from the caller's `X-Request-ID` when it is sane (a load balancer or a
till may set one), else a new one; it is sent back in the answer's `X-Request-ID`.
"""

from __future__ import annotations

import logging
import re
import sys
from contextvars import ContextVar

from pythonjsonlogger.json import JsonFormatter

REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)
_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"


def sane_request_id(raw: str | None) -> str | None:
    """A caller's id is kept only if it is short and plain: it ends up in every log line."""
    return raw if raw and _SANE_ID.match(raw) else None


class RequestIdFilter(logging.Filter):
    """Stamps every record with the current request id ('-' outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = REQUEST_ID.get() or "-"
        return True


def configure_logging(log_format: str = "json", level: int = logging.INFO) -> None:
    """Route the root logger (and uvicorn's and Celery's, which propagate) to stderr in
    `json` (production) or `text` (a person reading a terminal)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestIdFilter())
    if log_format == "json":
        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
                timestamp=False,
            )
        )
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx (Stripe's client) logs every URL it calls at INFO, query strings included.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
