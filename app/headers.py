"""Security headers on every response (``SecurityHeaders`` ASGI middleware).

- ``Content-Security-Policy``: scripts, styles, images and forms from this origin only (no inline
  script: the templates load theirs from ``/static``), ``frame-ancestors 'none'``; map tiles from
  ``JEMPUT_MAP_TILE_URL``'s origin when one is configured.
- ``X-Frame-Options: DENY``, ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: same-origin``.
- ``Cache-Control: no-store`` on every response but static files: staff pages, case pages and
  tracking pages hold personal data or tokens (a route's own Cache-Control is kept).

A header a route set itself (e.g. the KK image's stricter CSP) is never replaced.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import urlsplit

Message = MutableMapping[str, Any]


def content_security_policy(map_tile_url: str = "") -> str:
    img = "'self' data:"
    if map_tile_url:
        parts = urlsplit(map_tile_url.replace("{s}", "a"))
        if parts.scheme in ("http", "https") and parts.netloc:
            host = parts.netloc.replace("a.", "*.", 1) if "{s}" in map_tile_url else parts.netloc
            img += f" {parts.scheme}://{host}"
    return f"default-src 'self'; script-src 'self'; style-src 'self'; img-src {img}; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"


class SecurityHeaders:
    def __init__(self, app: Callable[..., Awaitable[None]], csp: str) -> None:
        self.app = app
        self.headers = [
            (b"content-security-policy", csp.encode()),
            (b"x-frame-options", b"DENY"),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"same-origin"),
        ]

    async def __call__(self, scope: Message, receive: Callable[[], Awaitable[Message]], send: Callable[[Message], Awaitable[None]]) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cacheable = scope["path"].startswith("/static/")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                headers += [(k, v) for k, v in self.headers if k not in present]
                if not cacheable and b"cache-control" not in present:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)
