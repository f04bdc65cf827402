"""Who is calling, and may they: the one role dependency every staff route uses.

A caller is a ``Principal``, resolved from ``Authorization: Bearer <token>`` (tablets,
scripts) or else from the HttpOnly session cookie (browsers). Use
``Depends(require_roles(...))`` on every staff route (as a parameter, or in the route's or
router's ``dependencies``); ``route_roles`` reads the allowed roles back from a route.

CSRF (synchronizer token): each browser session has a random token stored server-side.
Templates put it in a hidden ``csrf_token`` field (``{{ csrf_token }}``); scripts send it in
the ``X-CSRF-Token`` header. Unsafe methods (POST, PUT, PATCH, DELETE) on a cookie session
without the matching token are refused with 403. Bearer-token calls are exempt (a browser
never attaches them by itself).

Resolution runs in its own short read-only transaction, so it never waits on the request's
own write session.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import iter_route_contexts
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.routing import Match

from app.db import session_scope
from visits.errors import Forbidden, Unauthenticated
from visits.models import Role, User
from visits.staff import audit
from visits.staff.users import resolve_api_token, resolve_session
from visits.transactions import is_write, write_after

SESSION_COOKIE = "jemput_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
STAFF_ROLES: tuple[str, ...] = tuple(r.value for r in Role)


@dataclass(frozen=True)
class Principal:
    user_id: int
    username: str
    role: str
    team_id: int | None
    via: Literal["session", "token"]
    csrf_token: str = field(default="", repr=False)


def _principal(user: User, via: Literal["session", "token"], csrf_token: str = "") -> Principal:
    assert user.id is not None
    return Principal(user_id=user.id, username=user.username, role=user.role, team_id=user.team_id, via=via, csrf_token=csrf_token)


def _bearer(request: Request) -> str | None:
    """The bearer token when an Authorization header is sent ("" when it is not a bearer)."""
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _resolve(bearer: str | None, cookie: str | None) -> Principal | None:
    with session_scope() as session:
        if bearer is not None:  # an Authorization header is the only credential looked at
            user = resolve_api_token(session, bearer) if bearer else None
            return _principal(user, "token") if user else None
        found = resolve_session(session, cookie) if cookie else None
        return _principal(found[0], "session", found[1].csrf_token) if found else None


async def current_principal(request: Request) -> Principal | None:
    """The caller, or None for anonymous (resolved once per request, kept in request.state)."""
    if getattr(request.state, "principal_resolved", False):
        return request.state.principal
    principal = await run_in_threadpool(_resolve, _bearer(request), request.cookies.get(SESSION_COOKIE))
    request.state.principal = principal
    request.state.csrf_token = principal.csrf_token if principal else ""
    request.state.principal_resolved = True
    return principal


async def verify_csrf(request: Request, principal: Principal) -> None:
    """Refuse an unsafe cookie-session request that does not carry the session's CSRF token."""
    if principal.via != "session" or request.method in SAFE_METHODS:
        return
    supplied = request.headers.get(CSRF_HEADER) or await _form_csrf(request)
    if not (supplied and hmac.compare_digest(supplied.encode(), principal.csrf_token.encode())):
        raise Forbidden("auth.csrf_failed")


async def _form_csrf(request: Request) -> str:
    if not request.headers.get("content-type", "").startswith(FORM_TYPES):
        return ""
    value = (await request.form()).get(CSRF_FIELD)
    return value if isinstance(value, str) else ""


class RoleGuard:
    """The dependency ``require_roles`` returns; ``roles`` says who may call the route."""

    def __init__(self, roles: frozenset[str]) -> None:
        self.roles = roles

    def __repr__(self) -> str:
        return f"RoleGuard({sorted(self.roles)})"

    async def __call__(self, request: Request) -> Principal:
        principal = await current_principal(request)
        if principal is None:
            raise Unauthenticated()
        if principal.role not in self.roles:
            raise Forbidden()
        await verify_csrf(request, principal)
        return principal


def require_roles(*roles: str) -> RoleGuard:
    names = frozenset(str(r) for r in roles)
    if not names or not names <= set(STAFF_ROLES):
        raise ValueError(f"require_roles needs staff roles, got {roles!r}")
    return RoleGuard(names)


def route_roles(route: object) -> frozenset[str] | None:
    """The roles a route's RoleGuard(s) allow (their intersection); None when unguarded.

    ``route`` is an APIRoute or a ``fastapi.routing.RouteContext`` from
    ``iter_route_contexts(app.routes)`` (which carries the router's dependencies and prefix).
    """
    dependant = getattr(route, "dependant", None)
    guards = _guards(dependant) if isinstance(dependant, Dependant) else []
    return frozenset.intersection(*(g.roles for g in guards)) if guards else None


def _guards(dependant: Dependant) -> list[RoleGuard]:
    found = [dependant.call] if isinstance(dependant.call, RoleGuard) else []
    for sub in dependant.dependencies:
        found += _guards(sub)
    return found


def audit_read(
    session: Session,
    request: Request,
    principal: Principal,
    *,
    entity: str,
    entity_id: int | None = None,
    resident_id: int | None = None,
    action: str = "read",
) -> None:
    """Record that ``principal`` accessed personal data on this route (its path template).

    In a write session the row is part of the change; in a read session it is written in its
    own short write transaction right after the read commits, before the response is sent
    (``visits.transactions.write_after``: a read must never upgrade itself to a write)."""
    audit_read_many(session, request, principal, entity=entity, items=[(entity_id, resident_id)], action=action)


def audit_read_many(
    session: Session,
    request: Request,
    principal: Principal,
    *,
    entity: str,
    items: Iterable[tuple[int | None, int | None]],
    action: str = "list",
) -> None:
    """Record that ``principal`` saw these ``(entity_id, resident_id)`` rows on a list page (one audit row each)."""
    rows, route = list(items), route_template(request)

    def write(target: Session) -> None:
        audit.record_many(target, user_id=principal.user_id, action=action, entity=entity, items=rows, route=route)

    if is_write(session):
        write(session)
    else:
        write_after(session, write)


def route_template(request: Request) -> str:
    """The matched route's path template with its router prefix, e.g. ``/api/v1/residents/{resident_id}``."""
    endpoint = request.scope.get("endpoint")
    for context in iter_route_contexts(request.app.routes):
        if context.endpoint is endpoint and context.matches(request.scope)[0] == Match.FULL:
            return context.path or ""
    return ""
