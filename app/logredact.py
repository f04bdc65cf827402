"""Keep credentials out of the server's logs: tracking tokens in URLs are redacted.

A tracking token (``/track/<token>``, ``/api/v1/track/<token>/...``) can view, reschedule and
cancel a visit, so uvicorn's access log must never hold one. ``jemput serve`` installs
:class:`RedactTokens` on uvicorn's handlers through :func:`log_config`. (SQL statement
parameters, where personal data would appear, are never logged: the engines are created with
``hide_parameters=True``, see ``app.db.make_engine``.)
"""

from __future__ import annotations

import copy
import logging
import re
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


def log_config() -> dict[str, Any]:
    """uvicorn's logging configuration with :class:`RedactTokens` on every handler."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["redact_tokens"] = {"()": "app.logredact.RedactTokens"}
    for handler in config["handlers"].values():
        handler.setdefault("filters", []).append("redact_tokens")
    return config
