"""Staff login and logout, API tokens for tablets, "who am I" and the staff landing page.

The login form is protected by a signed double-submit token: GET /login sets a random
nonce in an HttpOnly cookie (path /login) and puts HMAC(secret key, nonce) in the form's
hidden ``csrf_token`` field; POST /login accepts the form only when the two agree. Another
site can neither read the cookie nor compute the field. After login, the session's own
synchronizer token takes over (see app.auth).

Wrong passwords are throttled twice (both on the login page and the token endpoint): per
username and client address (``JEMPUT_LOGIN_MAX_FAILURES`` within ``JEMPUT_LOGIN_LOCKOUT_MINUTES``,
in ``visits.staff.users.authenticate``: someone else's wrong passwords never lock the real user
out of their own address) and per client address (``ADDRESS_FAILURE_FACTOR`` times as many, in ``visits.staff.users.login``,
whatever usernames are tried, so one client cannot walk through every staff account). The
address is kept only as an HMAC (``visits.staff.ratelimit.client_key``).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.routing import APIRoute, iter_route_contexts
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from app.auth import SESSION_COOKIE, STAFF_ROLES, Principal, _bearer, current_principal, require_roles, route_roles, verify_csrf
from app.db import WriteSession
from app.deps import Now
from app.i18n import catalog, translate
from app.settings import get_settings
from app.web import render, request_language, secure_cookies
from visits.errors import DomainError, Forbidden, InvalidInput, TooManyRequests, Unauthenticated
from visits.models import User
from visits.staff.ratelimit import client_key
from visits.staff.users import end_session, issue_api_token, revoke_api_token, start_session
from visits.staff.users import login as login_user

router = APIRouter()

LOGIN_COOKIE = "jemput_login"
LOGIN_COOKIE_SECONDS = 3600
STAFF = require_roles(*STAFF_ROLES)


def _login_field(nonce: str) -> str:
    key = get_settings().resolved_secret_key().encode()
    return hmac.new(key, b"login:" + nonce.encode(), hashlib.sha256).hexdigest()


def _login_form_valid(request: Request, field: str) -> bool:
    nonce = request.cookies.get(LOGIN_COOKIE, "")
    return bool(nonce and field) and hmac.compare_digest(field.encode(), _login_field(nonce).encode())


def _login_page(request: Request, *, error: DomainError | None = None, username: str = "") -> HTMLResponse:
    nonce = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(16)  # kept: several open tabs still work
    context = {"login_token": _login_field(nonce), "username": username, "error": error}
    response = render(request, "login.html", context, error.status_code if error else 200)
    response.set_cookie(LOGIN_COOKIE, nonce, max_age=LOGIN_COOKIE_SECONDS, path="/login", httponly=True, samesite="lax", secure=secure_cookies(request))
    return response


def _client_attempt_key(request: Request) -> str:
    """The LoginAttempt key of the client's address (see ``visits.staff.users.login``)."""
    who = client_key(get_settings().resolved_secret_key(), request.client.host if request.client else None)
    return f"ip:{who}"


def _login(session: Session, request: Request, username: str, password: str, now: datetime) -> User:
    s = get_settings()
    window = timedelta(minutes=s.login_lockout_minutes)
    return login_user(session, username, password, address_key=_client_attempt_key(request), max_failures=s.login_max_failures, window=window, now=now)


@router.get("/login", response_class=HTMLResponse, include_in_schema=False)
async def login_form(request: Request) -> Response:
    if await current_principal(request) is not None:
        return RedirectResponse("/staff", status_code=303)
    return _login_page(request)


@router.post("/login", response_class=HTMLResponse, include_in_schema=False)
def login(
    request: Request,
    now: Now,
    username: str = Form(""),
    password: str = Form(""),
    csrf_token: str = Form(""),
    session: Session = WriteSession,
) -> Response:
    if not _login_form_valid(request, csrf_token):
        return _login_page(request, error=Forbidden("auth.form_expired"), username=username)
    try:
        user = _login(session, request, username, password, now)
    except InvalidInput as exc:  # a control character: never echoed, stored or logged
        return _login_page(request, error=exc)
    except (Unauthenticated, TooManyRequests) as exc:  # answered, so the failed attempt is kept
        return _login_page(request, error=exc, username=username)
    old = request.cookies.get(SESSION_COOKIE)
    if old:
        end_session(session, old)
    settings = get_settings()
    cookie_value, _csrf = start_session(session, user, lifetime=timedelta(hours=settings.session_hours))
    response = RedirectResponse("/staff", status_code=303)
    response.set_cookie(SESSION_COOKIE, cookie_value, max_age=settings.session_hours * 3600, path="/", httponly=True, samesite="lax", secure=secure_cookies(request))
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return response


@router.post("/logout", include_in_schema=False)
async def logout(request: Request, session: Session = WriteSession) -> Response:
    principal = await current_principal(request)
    cookie = request.cookies.get(SESSION_COOKIE)
    if principal is not None and principal.via == "session" and cookie:
        await verify_csrf(request, principal)
        await run_in_threadpool(end_session, session, cookie)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.post("/api/v1/auth/token", tags=["auth"])
def issue_token(
    request: Request,
    now: Now,
    username: str = Form(...),
    password: str = Form(...),
    session: Session = WriteSession,
) -> Response:
    """Exchange a username and password for a bearer token (tablets); throttled like the login page."""
    try:
        user = _login(session, request, username, password, now)
    except (Unauthenticated, TooManyRequests, InvalidInput) as exc:  # answered, so the failed attempt is kept
        body = {"detail": translate(exc.message_key, request_language(request)), "code": exc.code}
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthenticated) else None
        return JSONResponse(body, status_code=exc.status_code, headers=headers)
    token, expires_at = issue_api_token(session, user, name=request.headers.get("user-agent", ""))
    return JSONResponse({"access_token": token, "token_type": "bearer", "expires_at": expires_at.isoformat()})


@router.delete("/api/v1/auth/token", tags=["auth"], status_code=204, responses={422: {"description": "not called with a bearer token"}})
def revoke_token(request: Request, principal: Principal = Depends(STAFF), session: Session = WriteSession) -> Response:
    """Revoke the bearer token this call is made with (a lost tablet, a script's token); the
    user's other tokens and sessions stay."""
    if principal.via != "token":
        raise InvalidInput("hardening.token_only", field="authorization")
    revoke_api_token(session, _bearer(request) or "")
    return Response(status_code=204)


@router.get("/api/v1/me", tags=["auth"])
def me(principal: Principal = Depends(STAFF)) -> dict:
    return {"user_id": principal.user_id, "username": principal.username, "role": principal.role, "team_id": principal.team_id, "via": principal.via}


@router.get("/staff", response_class=HTMLResponse, include_in_schema=False)
def staff_home(request: Request, principal: Principal = Depends(STAFF)) -> HTMLResponse:
    return render(request, "staff.html", {"pages": _staff_pages(request, principal.role)})


def _staff_pages(request: Request, role: str) -> list[tuple[str, str]]:
    """(path, label) of the parameterless staff pages this role may open.

    A page is labelled by the catalog key ``page.<endpoint name>`` (its path when missing).
    """
    lang = request_language(request)
    pages = []
    for route in iter_route_contexts(request.app.routes):
        if not (isinstance(route.original_route, APIRoute) and "GET" in (route.methods or ()) and _is_page(route.path or "")):
            continue
        roles = route_roles(route)
        if roles and role in roles:
            key = next((k for k in (f"page.{route.name}", f"public.page.{route.name}") if k in catalog("id")), None)
            pages.append((route.path, translate(key, lang) if key else route.path))
    return pages


def _is_page(path: str) -> bool:
    return "{" not in path and not path.startswith("/api/") and path != "/staff"
