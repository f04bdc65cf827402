"""Shared page machinery: templates, the user's language, rendering."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData, UploadFile

from app.i18n import LANG_COOKIE, LANGUAGES, Translator, negotiate
from app.report_format import Fmt
from app.settings import get_settings
from visits.staff.roles import permissions

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
STATIC_DIR = Path(__file__).resolve().parent / "static"

templates = Jinja2Templates(directory=str(TEMPLATES_DIR))


def request_language(request: Request) -> str:
    cached = getattr(request.state, "lang", None)
    if cached:
        return cached
    lang = negotiate(request.cookies.get(LANG_COOKIE), request.headers.get("accept-language"), get_settings().default_language)
    request.state.lang = lang
    return lang


def secure_cookies(request: Request) -> bool:
    """Cookies are ``Secure`` when ``JEMPUT_SECURE_COOKIES`` says so or the request came over HTTPS
    (behind a proxy: one listed in ``JEMPUT_TRUSTED_PROXIES`` that sends X-Forwarded-Proto)."""
    return get_settings().secure_cookies or request.url.scheme == "https"


def render(request: Request, template: str, context: dict[str, Any] | None = None, status_code: int = 200) -> HTMLResponse:
    lang = request_language(request)
    settings = get_settings()
    principal = getattr(request.state, "principal", None)
    ctx: dict[str, Any] = {
        "lang": lang,
        "languages": LANGUAGES,
        "_": Translator(lang),
        "f": Fmt(lang),  # numbers and dates in the page's language (app.report_format)
        "settings": settings,
        "principal": principal,
        "can": permissions(principal.role if principal else None),
        "csrf_token": getattr(request.state, "csrf_token", ""),
    }
    ctx.update(context or {})
    return templates.TemplateResponse(request, template, ctx, status_code=status_code)


def small_form(max_fields: int = 50):  # noqa: ANN201 - a FastAPI dependency
    """A dependency that reads a small urlencoded form (no files) on the event loop, so the
    endpoint itself can be a plain function run in the thread pool: database work never runs on
    the event loop, and a write transaction begins and ends in the thread doing the work."""

    async def read(request: Request) -> FormData:
        return await request.form(max_files=0, max_fields=max_fields)

    return read


def one_file_form(max_bytes: int, default_name: str):  # noqa: ANN201 - a FastAPI dependency
    """A dependency that reads a form holding one file, ``file``: (its name, at most
    ``max_bytes + 1`` of its bytes, so the caller can tell "too large"); ``("", b"")`` without one."""

    async def read(request: Request) -> tuple[str, bytes]:
        form = await request.form(max_files=1, max_fields=5)
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            return "", b""
        data = await upload.read(max_bytes + 1)
        await upload.close()
        return upload.filename or default_name, data

    return read
