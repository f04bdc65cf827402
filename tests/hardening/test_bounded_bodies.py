"""Finding 3: the anonymous tracking endpoints refuse big bodies (413) before reading them whole,
before the token lookup and before the rate limit counts the hit."""

from __future__ import annotations

import json

import pytest
from sqlmodel import func, select

from app.db import session_scope
from visits.models import RateLimitHit

TEN_MB = 10 * 1024 * 1024


def _hits() -> int:
    with session_scope() as s:
        return s.exec(select(func.coalesce(func.sum(RateLimitHit.count), 0))).one()


@pytest.mark.parametrize("action", ["offers", "confirm", "cancel"])
def test_a_10_mb_json_body_is_refused_with_413(client, action: str) -> None:
    body = json.dumps({"availability": [{"weekday": 0, "start": "08:00", "end": "12:00"}], "pad": "x" * TEN_MB})
    r = client.post(f"/api/v1/track/not-a-token/{action}", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert r.json()["code"] == "too_large"
    assert _hits() == 0  # refused before the rate limit (and the token lookup) ran


def test_a_chunked_body_without_length_is_cut_off_at_the_limit(client) -> None:
    def chunks():
        for _ in range(10 * 16):  # 10 MB in 64 KiB chunks, no Content-Length
            yield b" " * 65536

    r = client.post("/api/v1/track/not-a-token/offers", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert _hits() == 0


def test_a_small_body_still_reaches_the_route(client) -> None:
    r = client.post("/api/v1/track/not-a-token/confirm", json={"offer_id": "abcdefgh12"})
    assert r.status_code == 404


def test_over_http_the_413_comes_before_the_body_is_sent(db, app) -> None:
    """A real server answers a 10 MB Content-Length at once, having read none of the body."""
    import socket

    from app.liveserver import LiveServer

    with LiveServer(app) as base:
        port = int(base.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(
                b"POST /api/v1/track/some-token/confirm HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {TEN_MB}\r\n\r\n".encode()
                + b'{"offer_id": "'  # and nothing more: the server must not wait for the rest
            )
            answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 413")
    assert _hits() == 0
