"""Every staff route carries the one role dependency, and it lets exactly its roles through.

The routes are enumerated from ``create_app()``: a route outside ``PUBLIC_PATHS`` /
``PUBLIC_PREFIXES`` without the role dependency fails ``test_every_route_is_public_or_guarded``.
Public pages of other features fit under the prefixes; a guarded route under a public prefix
is still checked role by role.
"""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from fastapi.routing import iter_route_contexts

import visits.users

from app.auth import route_roles
from app.main import create_app
from tests.app.helpers import ROLES, Staff, session_for

PUBLIC_PATHS = frozenset({
    "/",
    "/healthz",
    "/docs",
    "/docs/oauth2-redirect",
    "/openapi.json",
    "/redoc",
    "/lang/{code}",
    "/login",
    "/logout",
    "/api/v1/auth/token",
})
# a prefix covers the path itself and everything below it ("/track" covers "/track/{token}", not "/tracking")
PUBLIC_PREFIXES = ("/static", "/api/v1/requests", "/api/v1/track", "/request", "/track", "/info", "/flyer")

PATH_PARAM_VALUES = {int: "999999"}  # harmless: matches no row
DEFAULT_PATH_PARAM = "0"


def is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or any(path == p or path.startswith(p + "/") for p in PUBLIC_PREFIXES)


def _routes() -> list:
    return list(iter_route_contexts(create_app().routes))


def _guarded() -> list[tuple[str, str, object, frozenset[str]]]:
    found = []
    for route in _routes():
        roles = route_roles(route)
        if roles is not None:
            found += [(method, route.path, route, roles) for method in sorted(route.methods or ()) if method != "HEAD"]
    return found


GUARDED = _guarded()


def _concrete(path: str, route: object) -> str:
    params = {p.name: PATH_PARAM_VALUES.get(p.field_info.annotation, DEFAULT_PATH_PARAM) for p in route.dependant.path_params}  # type: ignore[attr-defined]
    return path.format(**params)


def test_every_route_is_public_or_guarded() -> None:
    unguarded = [r.path for r in _routes() if route_roles(r) is None and not is_public(r.path or "")]
    assert unguarded == [], f"staff routes without require_roles(...): {unguarded}"


def test_the_public_allow_list_is_not_too_wide() -> None:
    assert not is_public("/staff") and not is_public("/requests") and not is_public("/admin/users")
    assert is_public("/track/{token}") and is_public("/api/v1/requests") and is_public("/static")


def test_known_staff_routes_have_their_roles() -> None:
    roles = {(method, path): r for method, path, _, r in GUARDED}
    assert roles[("GET", "/staff")] == frozenset(ROLES)
    assert roles[("GET", "/api/v1/me")] == frozenset(ROLES)
    assert roles[("GET", "/admin/users")] == {"admin"}
    assert roles[("POST", "/admin/users/{user_id}/disable")] == {"admin"}
    assert roles[("GET", "/api/v1/residents/{resident_id}")] == {"admin", "operator", "head"}


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch) -> None:
    """The matrix needs users, not strong hashes (test_auth checks the real hasher)."""
    monkeypatch.setattr(visits.users, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def staff_by_role(db) -> dict[str, Staff]:
    return {role: session_for(role) for role in ROLES}


@pytest.mark.parametrize(("method", "path", "route", "roles"), GUARDED, ids=[f"{m} {p}" for m, p, _, _ in GUARDED])
def test_role_matrix(client, staff_by_role, method: str, path: str, route: object, roles: frozenset[str]) -> None:
    url = _concrete(path, route)
    client.cookies.clear()
    anonymous = client.request(method, url, follow_redirects=False)
    if path.startswith("/api/"):
        assert anonymous.status_code == 401, anonymous.text
    else:
        assert (anonymous.status_code, anonymous.headers.get("location")) == (303, "/login")
    for role, staff in staff_by_role.items():
        r = client.request(method, url, headers=staff.headers, follow_redirects=False)
        if role in roles:
            assert r.status_code not in (401, 403), f"{role} refused on {method} {path}: {r.status_code}"
        else:
            assert r.status_code == 403, f"{role} got {r.status_code} on {method} {path}"
