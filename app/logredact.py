"""Keep credentials out of the server's logs: tracking tokens in URLs are redacted.

A tracking token (``/track/<token>``, ``/api/v1/track/<token>/...``) can view, reschedule and
cancel a visit, so uvicorn's access log must never hold one. ``jemput serve`` installs
:class:`RedactTokens` on uvicorn's handlers through :func:`log_config`. (SQL statement
parameters, where personal data would appear, are never logged: the engines are created with
``hide_parameters=True``, see ``app.db.make_engine``.)
"""

from __future__ import annotations

import contextvars
import copy
import json
import logging
import re
import secrets
from datetime import UTC, datetime
from typing import Any

TOKEN_IN_PATH = re.compile(r"(/track/)[^/\s?#\"']+")
REDACTED = r"\1[redacted]"


def redact(text: str) -> str:
    return TOKEN_IN_PATH.sub(REDACTED, text)


class RedactTokens(logging.Filter):
    """Rewrites a record's message and string arguments so no tracking token remains."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: redact(v) if isinstance(v, str) else v for k, v in record.args.items()}
        return True


REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("jemput_request_id", default="")
_REQUEST_ID_OK = re.compile(r"[A-Za-z0-9._-]{8,64}")


def request_id_from(incoming: str) -> str:
    """The caller's request id when it is a plain token of 8 to 64 characters (a proxy's), else a new one."""
    return incoming if _REQUEST_ID_OK.fullmatch(incoming) else secrets.token_hex(8)


class JsonLines(logging.Formatter):
    """One JSON object per line: time, level, logger, message (redacted by :class:`RedactTokens`
    on the handler), the request id, and the exception type (never its text: a driver's message
    may quote a value)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid = REQUEST_ID.get()
        if rid:
            entry["request_id"] = rid
        if record.exc_info and record.exc_info[0] is not None:
            entry["error"] = record.exc_info[0].__name__
        return json.dumps(entry, ensure_ascii=False)


def log_config(json_lines: bool = False) -> dict[str, Any]:
    """uvicorn's logging configuration with :class:`RedactTokens` on every handler; with
    ``json_lines`` every record (uvicorn's, Jemput's, procrastinate's) is a JSON line on stderr."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["redact_tokens"] = {"()": "app.logredact.RedactTokens"}
    for handler in config["handlers"].values():
        handler.setdefault("filters", []).append("redact_tokens")
    if json_lines:
        config["formatters"] = {"json": {"()": "app.logredact.JsonLines"}}
        for handler in config["handlers"].values():
            handler["formatter"] = "json"
            handler["stream"] = "ext://sys.stderr"
        config["loggers"]["jemput"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
        config["loggers"]["procrastinate"] = {"handlers": ["default"], "level": "WARNING", "propagate": False}
    return config
