"""Helpers for the intake tests through the real ASGI app."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func
from sqlmodel import select

from app.db import session_scope
from tests.intake.intake_fixtures import jpeg_bytes, multipart
from visits.models import KkDocument, Notification, Resident, VisitRequest


def post_request(client, data: dict[str, Any], file: tuple[str, bytes, str] | None = ("kk.jpg", b"", "image/jpeg"), headers: dict | None = None):
    files = None
    if file is not None:
        name, content, ctype = file
        files = {"kk_file": (name, content or jpeg_bytes(), ctype)}
    return client.post("/api/v1/requests", data=multipart(data), files=files, headers=headers or {})


def counts() -> dict[str, int]:
    with session_scope() as s:
        return {m.__name__: s.exec(select(func.count()).select_from(m)).one() for m in (VisitRequest, Resident, KkDocument, Notification)}
