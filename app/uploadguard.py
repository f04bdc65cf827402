"""Refuse request bodies larger than a limit before reading (or spooling) them.

Two ways to use it:

- :func:`guarded_request` wraps one request inside a route: the declared Content-Length is
  checked before anything is read, and the ``receive`` channel counts bytes as the form parser
  pulls them, raising :class:`~visits.errors.PayloadTooLarge` (413) as soon as the count
  passes the limit. The intake routes use this (routes that read the body themselves must not
  declare Form/File parameters, so FastAPI does not read the body first).
- :func:`guard_body` does the same in place on the request (a dependency that runs before
  the role guard, whose CSRF check may read the form first).
- :class:`BodySizeLimit` is the same guard as ASGI middleware for chosen path prefixes,
  answering 413 itself (``app.add_middleware(BodySizeLimit, limits={...})``).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.requests import Request

from visits.errors import PayloadTooLarge

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

FORM_OVERHEAD_BYTES = 64 * 1024  # room for the text fields and multipart boundaries beside the file


def declared_length(headers: Any) -> int | None:
    value = headers.get("content-length")
    if value is None:
        return None
    value = value.strip()
    if not (value.isascii() and value.isdigit()):
        raise PayloadTooLarge(field="kk_file")
    return int(value)


def counting_receive(receive: Receive, limit: int) -> Receive:
    """A receive channel that raises PayloadTooLarge once more than ``limit`` body bytes arrived."""
    seen = 0

    async def guarded() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise PayloadTooLarge(field="kk_file")
        return message

    return guarded


def guarded_request(request: Request, limit: int) -> Request:
    """The same request, whose body can only be read up to ``limit`` bytes."""
    length = declared_length(request.headers)
    if length is not None and length > limit:
        raise PayloadTooLarge(field="kk_file")
    return Request(request.scope, counting_receive(request.receive, limit))


def guard_body(request: Request, limit: int) -> None:
    """Guard this request's own body in place, so every later reader (the CSRF check, the
    form parser) is limited too. Use it from a dependency declared before ``require_roles``."""
    if getattr(request.state, "body_guard_limit", None) is not None:
        return
    length = declared_length(request.headers)
    if length is not None and length > limit:
        raise PayloadTooLarge(field="kk_file")
    request._receive = counting_receive(request._receive, limit)  # noqa: SLF001 - starlette keeps the channel here
    request.state.body_guard_limit = limit


class BodySizeLimit:
    """ASGI middleware: 413 for bodies over the limit on the given path prefixes (POST/PUT/PATCH)."""

    def __init__(self, app: Callable[..., Awaitable[None]], limits: dict[str, int], field: str | None = "kk_file") -> None:
        self.app = app
        self.limits = limits
        self.field = field

    def _limit_for(self, scope: Message) -> int | None:
        if scope["type"] != "http" or scope.get("method") not in ("POST", "PUT", "PATCH"):
            return None
        for prefix, limit in self.limits.items():
            if scope["path"] == prefix or scope["path"].startswith(prefix.rstrip("/") + "/"):
                return limit
        return None

    async def __call__(self, scope: Message, receive: Receive, send: Send) -> None:
        limit = self._limit_for(scope)
        if limit is None:
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            length = declared_length(headers)
            if length is not None and length > limit:
                raise PayloadTooLarge(field="kk_file")
            guarded = counting_receive(receive, limit)
            if length is None and limit <= BUFFER_MAX_BYTES:
                # no declared length (chunked): read the small body here, so going over the limit
                # is answered 413 (a parser that catches the error would answer 400 instead)
                guarded = await _buffered(guarded)
            await self.app(scope, guarded, tracking_send)
        except PayloadTooLarge:
            if not started:
                await _send_413(send, self.field)


BUFFER_MAX_BYTES = 64 * 1024


async def _buffered(receive: Receive) -> Receive:
    """Read the whole (small, already limited) body now; replay it, then the live channel."""
    messages: list[Message] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request" or not message.get("more_body", False):
            break

    async def replay() -> Message:
        return messages.pop(0) if messages else await receive()

    return replay


async def _send_413(send: Send, field: str | None = "kk_file") -> None:
    answer: dict[str, str] = {"detail": "payload too large", "code": PayloadTooLarge.code}
    if field:
        answer["field"] = field
    body = json.dumps(answer).encode()
    await send({"type": "http.response.start", "status": 413, "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
