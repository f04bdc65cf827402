"""The FastAPI application: routers, static files, error handlers, health."""

from __future__ import annotations

import logging

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from app.db import get_engine
from app.i18n import LANG_COOKIE, LANGUAGES, translate
from app.wiring import lifespan
from app.web import STATIC_DIR, render, request_language
from visits.errors import DomainError, Unauthenticated

log = logging.getLogger("jemput")


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or "application/json" in request.headers.get("accept", "")


async def domain_error_handler(request: Request, exc: DomainError) -> Response:
    lang = request_language(request)
    message = translate(exc.message_key, lang, **exc.params)
    if _wants_json(request):
        body: dict = {"detail": message, "code": exc.code}
        if exc.field:
            body["field"] = exc.field
        return JSONResponse(body, status_code=exc.status_code)
    if isinstance(exc, Unauthenticated):
        return RedirectResponse("/login", status_code=303)
    return render(request, "error.html", {"status": exc.status_code, "message": message, "field": exc.field}, exc.status_code)


async def validation_error_handler(request: Request, exc: RequestValidationError) -> Response:
    """422 naming each field and why (never echoing the submitted value)."""
    errors = [
        {"field": ".".join(str(p) for p in err["loc"] if p not in ("body", "query", "path", "header", "form")), "reason": err["msg"]}
        for err in exc.errors()
    ]
    if _wants_json(request):
        return JSONResponse({"detail": errors}, status_code=422)
    lang = request_language(request)
    return render(request, "error.html", {"status": 422, "message": translate("error.invalid", lang), "errors": errors}, 422)


def create_app() -> FastAPI:
    app = FastAPI(title="Jemput", version="0.1.0", description="Door-to-door E-KTP recording visits", lifespan=lifespan)
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    app.add_exception_handler(DomainError, domain_error_handler)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, validation_error_handler)  # type: ignore[arg-type]

    @app.get("/healthz", tags=["ops"], responses={503: {"description": "the database is unreachable"}})
    def healthz() -> Response:
        """200 when the database answers; 503 otherwise (the reason is logged, never returned)."""
        try:
            with get_engine().connect() as conn:
                conn.execute(text("SELECT 1"))
        except (SQLAlchemyError, OSError) as exc:
            log.warning("health check failed: database unreachable (%s)", type(exc).__name__)
            return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
        return JSONResponse({"status": "ok", "database": "ok"})

    @app.get("/lang/{code}", include_in_schema=False)
    def set_language(code: str, request: Request) -> Response:
        back = request.headers.get("referer") or "/"
        response = RedirectResponse(back if back.startswith(str(request.base_url)) else "/", status_code=303)
        if code in LANGUAGES:
            response.set_cookie(LANG_COOKIE, code, max_age=365 * 86400, samesite="lax", httponly=True)
        return response

    for router in _routers():
        app.include_router(router)
    return app


def _routers() -> list[APIRouter]:
    """Every router of the application, listed explicitly."""
    from app.routers import admin, auth, booking, card, head, info, intake, operator, operator_booking, pages, plans, survey

    return [admin.router, auth.router, booking.router, info.router, intake.router, operator.router, operator_booking.router, pages.router, plans.router, head.router, head.api, survey.router, card.router]


app = create_app()
