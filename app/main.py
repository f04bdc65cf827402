"""The FastAPI application: routers, static files, error handlers, health."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.auth import current_principal
from app.db import get_engine
from app.headers import SecurityHeaders, content_security_policy
from app.i18n import LANG_COOKIE, LANGUAGES, translate
from app.jobs import queue_health
from app.metrics import RequestMetrics, is_loopback, registry_text
from app.settings import get_settings
from app.uploadguard import BodySizeLimit
from app.web import STATIC_DIR, render, request_language, secure_cookies
from app.wiring import lifespan
from visits.errors import DomainError, PayloadTooLarge, Unauthenticated

log = logging.getLogger("jemput")
UNPARSABLE_BODY = "There was an error parsing the body"  # FastAPI's 400 for a body it cannot decode
TRACK_BODY_LIMIT = 16 * 1024  # bytes: an offer, a confirmation, 42 availability rows
LOGIN_BODY_LIMIT = 4 * 1024  # bytes: a username, a password and a CSRF token


def same_site_path(referer: str) -> str:
    """Where ``/lang/{code}`` sends the browser back: the Referer's path on this site, never
    another site (the Host header cannot be trusted either, so only a path is kept)."""
    parts = urlsplit(referer)
    path = parts.path or "/"
    if not path.startswith("/") or path.startswith("//") or "\\" in path or any(ord(c) < 0x20 for c in path):
        return "/"
    return path + (f"?{parts.query}" if parts.query else "")


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
    return render(request, "error.html", {"status": exc.status_code, "message": message, "field": exc.field, "too_large": isinstance(exc, PayloadTooLarge)}, exc.status_code)


async def validation_error_handler(request: Request, exc: RequestValidationError) -> Response:
    """422 naming each field and why (never echoing the submitted value)."""
    errors = [{"field": ".".join(str(p) for p in err["loc"] if p not in ("body", "query", "path", "header", "form")), "reason": err["msg"]} for err in exc.errors()]
    if _wants_json(request):
        return JSONResponse({"detail": errors}, status_code=422)
    lang = request_language(request)
    return render(request, "error.html", {"status": 422, "message": translate("error.invalid", lang), "errors": errors}, 422)


async def http_error_handler(request: Request, exc: StarletteHTTPException) -> Response:
    """404, 405...: JSON under /api/ (or when asked for), else a page in the user's language."""
    headers = getattr(exc, "headers", None)
    # Bad input, 422 naming the body like any other: FastAPI's 400 for a body it cannot decode
    # (UNPARSABLE_BODY) and Starlette's for a form it cannot parse (bad multipart, too many fields
    # or files): the app itself never raises a 400 HTTPException (domain errors have their handler).
    if exc.status_code == 400:
        errors = [{"field": "body", "reason": "the body could not be parsed (not valid JSON or form data)"}]
        if _wants_json(request):
            return JSONResponse({"detail": errors}, status_code=422)
        return render(request, "error.html", {"status": 422, "message": translate("error.invalid", request_language(request)), "errors": errors}, 422)
    if _wants_json(request):
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=headers)
    lang = request_language(request)
    key = "public.error.not_found" if exc.status_code == 404 else "public.error.other"
    return render(request, "error.html", {"status": exc.status_code, "message": translate(key, lang), "not_found": exc.status_code == 404}, exc.status_code)


DOCS_PATHS = ("/docs", "/redoc", "/docs/oauth2-redirect")
DOCS_CSP = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline'; worker-src 'self' blob:; connect-src 'self'; font-src 'self' data:"


class DocsStayLocal:
    """ASGI middleware: the API docs pages get a policy that loads only this server's assets
    (ReDoc's bundle would fetch its logo from a CDN; the browser now never asks for it)."""

    def __init__(self, app) -> None:  # noqa: ANN001
        self.app = app

    async def __call__(self, scope, receive, send) -> None:  # noqa: ANN001
        if scope["type"] != "http" or scope["path"] not in DOCS_PATHS:
            await self.app(scope, receive, send)
            return

        async def with_policy(message) -> None:  # noqa: ANN001
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"content-security-policy", DOCS_CSP.encode())]
            await send(message)

        await self.app(scope, receive, with_policy)


def create_app() -> FastAPI:
    # /docs and /redoc with Swagger UI and ReDoc from the installed fastapi-offline package
    # (served under /static-offline-docs): nothing loads from a CDN
    app = FastAPIOffline(title="Jemput", version="0.1.0", description="Door-to-door E-KTP recording visits", lifespan=lifespan, favicon_url="/favicon.ico")
    app.mount("/static/vendor/leaflet", StaticFiles(directory=leaflet_dir()), name="leaflet")  # before /static, which would shadow it
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    # The family's anonymous tracking calls carry a few hundred bytes: anything bigger is refused
    # before it is read whole, before the token lookup and the rate limit.
    # So do the anonymous logins (a username and a password).
    limits = {"/api/v1/track": TRACK_BODY_LIMIT, "/track": TRACK_BODY_LIMIT, "/login": LOGIN_BODY_LIMIT, "/api/v1/auth/token": LOGIN_BODY_LIMIT}
    app.add_middleware(BodySizeLimit, limits=limits, field=None)
    app.add_middleware(DocsStayLocal)  # inside SecurityHeaders: the docs' own policy is the only one they get
    app.add_middleware(SecurityHeaders, csp=content_security_policy(get_settings().map_tile_url))
    app.add_middleware(RequestMetrics)  # outermost: the latency of everything, and the request id for every log line
    app.add_exception_handler(DomainError, domain_error_handler)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, validation_error_handler)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, http_error_handler)  # type: ignore[arg-type]

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        return FileResponse(STATIC_DIR / "favicon.ico", media_type="image/x-icon", headers={"Cache-Control": "public, max-age=86400"})

    @app.get("/healthz", tags=["ops"], responses={503: {"description": "the database is unreachable"}})
    def healthz() -> Response:
        """200 when the database answers (with the job queue: its kind, jobs waiting and running,
        live workers and the freshest worker heartbeat); 503 otherwise (the reason is logged,
        never returned). No live worker on PostgreSQL's queue is ``"queue": {"status": "no_worker"}``
        (the web still answers: a 200)."""
        try:
            with get_engine().connect() as conn:
                conn.execute(text("SELECT 1"))
        except (SQLAlchemyError, OSError) as exc:
            log.warning("health check failed: database unreachable (%s)", type(exc).__name__)
            return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
        return JSONResponse({"status": "ok", "database": "ok", "queue": queue_health()})

    @app.get("/metrics", tags=["ops"], include_in_schema=False)
    async def metrics(request: Request) -> Response:
        """Prometheus metrics, for staff or the host itself (a scraper on localhost)."""
        if not is_loopback(request.client.host if request.client else None) and await current_principal(request) is None:
            return JSONResponse({"detail": "staff or localhost only"}, status_code=403)
        body, content_type = await run_in_threadpool(registry_text)
        return Response(body, media_type=content_type)

    @app.get("/lang/{code}", include_in_schema=False)
    def set_language(code: str, request: Request) -> Response:
        response = RedirectResponse(same_site_path(request.headers.get("referer") or ""), status_code=303)
        if code in LANGUAGES:
            response.set_cookie(LANG_COOKIE, code, max_age=365 * 86400, samesite="lax", httponly=True, secure=secure_cookies(request))
        return response

    for router in _routers():
        app.include_router(router)
    _declare_error_bodies(app)
    return app


def leaflet_dir() -> str:
    """Leaflet's files, served from the installed ``xstatic-leaflet`` package (nothing from the internet)."""
    import xstatic.pkg.leaflet

    return str(xstatic.pkg.leaflet.BASE_DIR)


FIELD_ERROR_SCHEMA = {
    "title": "FieldError",
    "type": "object",
    "required": ["field", "reason"],
    "properties": {"field": {"type": "string"}, "reason": {"type": "string"}, "code": {"type": "string"}},
}
ERROR_BODY_SCHEMA = {
    "title": "ErrorBody",
    "type": "object",
    "required": ["detail"],
    "properties": {
        "detail": {"anyOf": [{"type": "array", "items": {"$ref": "#/components/schemas/ValidationError"}}, {"type": "string"}]},
        "code": {"type": "string"},
        "field": {"type": "string"},
    },
}


# The refusals every API call may answer ({detail, code, field}, domain_error_handler and
# http_error_handler); staff calls also 401/403 (a public call never asks who you are).
API_ERRORS = {
    "401": "not logged in, or the token is unknown or expired",
    "403": "this role may not do that",
    "404": "no such thing (or not yours to see)",
    "409": "the state does not allow it now",
    "413": "the body is too large",
    "429": "too many requests from this client; try again later",
}
PUBLIC_API = {("/api/v1/requests", "POST")}


def _declare_error_bodies(app: FastAPI) -> None:
    """The OpenAPI document declares the 422 bodies this app really answers: a list of
    ``{field, reason}`` (``validation_error_handler``, never echoing the value) or, for a domain
    refusal, ``{detail, code, field}`` (``domain_error_handler``)."""
    build = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            spec = build()
            schemas = spec.get("components", {}).get("schemas", {})
            schemas["ValidationError"] = FIELD_ERROR_SCHEMA
            schemas["HTTPValidationError"] = ERROR_BODY_SCHEMA
            spec.setdefault("components", {})["schemas"] = schemas
            body = {"description": "Validation Error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/HTTPValidationError"}}}}
            for path, operations in spec.get("paths", {}).items():
                for method, operation in operations.items():
                    if path.startswith("/api/") and isinstance(operation, dict):
                        responses = operation.setdefault("responses", {})
                        own = responses.get("422", {}).get("content", {}).get("application/json", {}).get("schema")
                        if own is None or own == body["content"]["application/json"]["schema"]:
                            responses["422"] = {**body, "description": responses.get("422", body)["description"]}  # every API call may answer 422
                        else:  # a body of its own (e.g. the import's named rows) or the usual one
                            responses["422"]["content"]["application/json"]["schema"] = {"anyOf": [own, body["content"]["application/json"]["schema"]]}
                        public = (path, method.upper()) in PUBLIC_API or path.startswith("/api/v1/track")
                        for status, description in API_ERRORS.items():
                            if status in ("401", "403") and public:
                                continue
                            responses.setdefault(status, {**body, "description": description})
            app.openapi_schema = spec
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _routers() -> list[APIRouter]:
    """Every router of the application, listed explicitly."""
    from app.routers import (
        admin,
        admin_calendar,
        admin_settings,
        admin_teams,
        auth,
        booking,
        card,
        field_api,
        field_pages,
        head,
        info,
        intake,
        operator,
        operator_booking,
        outreach,
        pages,
        plans,
        rights,
        survey,
    )

    return [
        admin.router,
        auth.router,
        booking.router,
        info.router,
        intake.router,
        operator.router,
        operator_booking.router,
        pages.router,
        plans.router,
        field_api.router,
        field_pages.router,
        admin_teams.router,
        admin_calendar.router,
        admin_settings.router,
        head.router,
        head.api,
        survey.router,
        card.router,
        rights.router,
        outreach.router,
        outreach.api,
    ]


app = create_app()
