"""Every route is either declared public or carries the one role guard, with the roles the product gives it.

Two explicit tables, written from the product (BRIEF.md "Who uses it"), not read back from the guards:

- ``EXPECTED``: every staff route, ``(method, path template)`` -> the roles allowed. A new staff route
  fails ``test_every_guarded_route_is_declared`` until it is added here with its roles.
- ``PUBLIC``: every route that needs no login, as exact ``(method, path template)`` pairs. A new route
  that is neither guarded nor listed here fails ``test_every_route_is_public_or_declared`` -- even
  when it sits under a public path such as ``/track`` or ``/api/v1/requests``.

Roles: the administrator administers (users, teams, service area) and may stand in for the front
office; the operator does intake and slot negotiation on the family's behalf; the division head reads
the pipeline, plans and dashboards (never writes a case, never sees the KK image); the field officer
sees their own team's plan. The raw resident record is casework (operator, admin).
"""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from fastapi.routing import iter_route_contexts

import visits.staff.users
from app.auth import route_roles
from app.main import create_app
from tests.app.helpers import PASSWORD, ROLES, Staff, make_user, session_for

ALL_STAFF = frozenset(ROLES)
ADMIN = frozenset({"admin"})
DESK = frozenset({"operator", "admin"})  # acts on a case on the family's behalf
DESK_READERS = frozenset({"operator", "admin", "head"})  # reads the pipeline and a case
FIELD = frozenset({"officer"})  # a team's day in the field
HEADS = frozenset({"head", "admin"})  # the division head's dashboard

EXPECTED: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/staff"): ALL_STAFF,
    ("GET", "/api/v1/me"): ALL_STAFF,
    # administration
    ("GET", "/admin/users"): ADMIN,
    ("POST", "/admin/users"): ADMIN,
    ("POST", "/admin/users/{user_id}/disable"): ADMIN,
    ("POST", "/admin/users/{user_id}/enable"): ADMIN,
    # a resident's raw record (full NIK, disability, exact location)
    ("GET", "/api/v1/residents/{resident_id}"): DESK,
    # the front office: phone intake, the inbox, one case, eligibility decisions, the KK image
    ("GET", "/operator/intake"): DESK,
    ("POST", "/operator/intake"): DESK,
    ("GET", "/operator/requests"): DESK_READERS,
    ("GET", "/operator/requests/{request_id}"): DESK_READERS,
    ("POST", "/operator/requests/{request_id}/override"): DESK,
    ("POST", "/operator/requests/{request_id}/decline"): DESK,
    ("GET", "/operator/requests/{request_id}/kk"): DESK,
    # slot negotiation on the family's behalf, the chase list, the day's bookings
    ("POST", "/operator/requests/{request_id}/offers"): DESK,
    ("POST", "/operator/requests/{request_id}/confirm"): DESK,
    ("POST", "/operator/requests/{request_id}/cancel"): DESK,
    ("GET", "/operator/chase"): DESK_READERS,
    ("GET", "/operator/bookings"): DESK_READERS,
    # the day's routes (an officer gets only their own team's)
    ("GET", "/api/v1/plans"): ALL_STAFF,
    # hardening: a bearer token revoked on its own
    ("DELETE", "/api/v1/auth/token"): ALL_STAFF,
    # field (visits/field): the officer's day on the tablet, their own team only
    ("GET", "/api/v1/field/day"): FIELD,
    ("POST", "/api/v1/field/visits/{visit_id}/outcome"): FIELD,
    ("POST", "/api/v1/field/visits/{visit_id}/on-our-way"): FIELD,
    ("POST", "/api/v1/field/late"): FIELD,
    # field UI: the officer's tablet page and its no-JavaScript outcome form
    ("GET", "/field"): FIELD,
    ("POST", "/field/visits/{visit_id}/outcome"): FIELD,
    # administration of teams, kits, working time, closures, service rules, the office and the audit log (teams domain)
    ("GET", "/admin/teams"): ADMIN,
    ("POST", "/admin/teams"): ADMIN,
    ("GET", "/admin/teams/{team_id}"): ADMIN,
    ("POST", "/admin/teams/{team_id}"): ADMIN,
    ("POST", "/admin/teams/{team_id}/deactivate"): ADMIN,
    ("POST", "/admin/teams/{team_id}/activate"): ADMIN,
    ("POST", "/admin/teams/{team_id}/members"): ADMIN,
    ("POST", "/admin/teams/{team_id}/members/{member_id}/leave"): ADMIN,
    ("GET", "/admin/kits"): ADMIN,
    ("POST", "/admin/kits"): ADMIN,
    ("GET", "/admin/kits/{kit_id}"): ADMIN,
    ("POST", "/admin/kits/{kit_id}"): ADMIN,
    ("POST", "/admin/kits/{kit_id}/retire"): ADMIN,
    ("GET", "/admin/shifts"): ADMIN,
    ("POST", "/admin/shifts"): ADMIN,
    ("POST", "/admin/shifts/{shift_id}/delete"): ADMIN,
    ("GET", "/admin/closures"): ADMIN,
    ("POST", "/admin/closures"): ADMIN,
    ("POST", "/admin/closures/{closure_id}/delete"): ADMIN,
    ("GET", "/admin/calendar"): ADMIN,
    ("POST", "/admin/calendar/overrides"): ADMIN,
    ("POST", "/admin/calendar/overrides/{override_id}/delete"): ADMIN,
    ("GET", "/admin/rules"): ADMIN,
    ("POST", "/admin/rules/{group}"): ADMIN,
    ("GET", "/admin/office"): ADMIN,
    ("POST", "/admin/office"): ADMIN,
    ("GET", "/admin/audit"): ADMIN,
    ("POST", "/admin/users/{user_id}"): ADMIN,
    ("GET", "/api/v1/residents/{resident_id}/export"): DESK,
    # reporting: the division head's dashboard, its exports, the coverage baseline import and the report API
    ("GET", "/head"): HEADS,
    ("GET", "/head/pipeline"): HEADS,
    ("GET", "/head/clock"): HEADS,
    ("GET", "/head/criteria"): HEADS,
    ("GET", "/head/monthly"): HEADS,
    ("GET", "/head/baseline"): HEADS,
    ("POST", "/head/baseline"): HEADS,
    ("GET", "/head/export/{table}.{fmt}"): HEADS,
    ("GET", "/api/v1/reports/coverage"): HEADS,
    ("GET", "/api/v1/reports/pipeline"): HEADS,
    ("GET", "/api/v1/reports/clock"): HEADS,
    ("GET", "/api/v1/reports/criteria"): HEADS,
    ("POST", "/operator/requests/{request_id}/card"): DESK,  # the card's delivery after a recorded visit
    # the data subject's rights: correction and erasure (casework)
    ("POST", "/api/v1/requests/{request_id}/correction"): DESK,
    ("POST", "/api/v1/residents/{resident_id}/erasure"): DESK,
    ("GET", "/operator/requests/{request_id}/correct"): DESK,
    ("POST", "/operator/requests/{request_id}/correct"): DESK,
    ("POST", "/operator/requests/{request_id}/erase"): DESK,
    # outreach: the imported not-yet-recorded list and referrals are casework (the head sees counts only)
    ("GET", "/operator/outreach"): DESK,
    ("POST", "/operator/outreach/{outreach_id}/call"): DESK,
    ("GET", "/operator/outreach/import"): DESK,
    ("POST", "/operator/outreach/import"): DESK,
    ("POST", "/operator/outreach/referrals"): DESK,
    ("POST", "/operator/outreach/referrals/import"): DESK,
    ("GET", "/operator/outreach/campaign"): DESK,  # a campaign plan: counts and figures only
    ("POST", "/operator/outreach/campaign"): DESK,
    ("GET", "/operator/outreach/group-visits/{lead_request_id}"): DESK,  # a group visit's residents
    ("POST", "/operator/outreach/group-visits/{lead_request_id}/members"): DESK,
    ("POST", "/operator/outreach/group-visits/{lead_request_id}/members/{member_request_id}/remove"): DESK,
    ("POST", "/api/v1/outreach/imports"): DESK,
    ("POST", "/api/v1/outreach/referrals/imports"): DESK,
    ("POST", "/api/v1/outreach/referrals"): DESK,
    ("GET", "/api/v1/outreach/candidates"): DESK,
    ("POST", "/api/v1/outreach/candidates/{outreach_id}/calls"): DESK,
    ("GET", "/api/v1/outreach/counts"): DESK_READERS,
    ("POST", "/api/v1/outreach/group-visits/{lead_request_id}/members"): DESK,
}

PUBLIC: frozenset[tuple[str, str]] = frozenset(
    {
        # the application shell, docs, language switch, health
        ("GET", "/"),
        ("GET", "/healthz"),
        ("GET", "/metrics"),  # staff or the host itself: checked in the endpoint (tests/app/test_operations.py)
        ("GET", "/docs"),
        ("GET", "/docs/oauth2-redirect"),
        ("GET", "/openapi.json"),
        ("GET", "/redoc"),
        ("GET", "/lang/{code}"),
        ("*", "/static"),  # the static files mount (CSS, JS)
        # logging in (the credentials are the authorisation)
        ("GET", "/login"),
        ("POST", "/login"),
        ("POST", "/logout"),
        ("POST", "/api/v1/auth/token"),
        # socialisation: the information page, the flyer and its QR code
        ("GET", "/info"),
        ("GET", "/info/flyer"),
        ("GET", "/info/qr.svg"),
        # the family's request and tracking (the tracking token, or reference + phone, authorises)
        ("GET", "/request"),
        ("POST", "/request"),
        ("POST", "/api/v1/requests"),
        ("GET", "/track"),
        ("POST", "/track"),
        ("GET", "/track/{token}"),
        ("POST", "/api/v1/track"),
        ("GET", "/api/v1/track/{token}"),
        # the family's slot negotiation
        ("POST", "/track/{token}/offers"),
        ("POST", "/track/{token}/confirm"),
        ("POST", "/track/{token}/cancel"),
        ("POST", "/api/v1/track/{token}/offers"),
        ("POST", "/api/v1/track/{token}/confirm"),
        ("POST", "/api/v1/track/{token}/cancel"),
        # field UI: the service worker script (no personal data) and Leaflet from the xstatic-leaflet package
        ("GET", "/field/sw.js"),
        ("*", "/static/vendor/leaflet"),
        # public pages (issue 12): the "are you sure?" page before cancelling, offline docs assets, the icon
        ("GET", "/track/{token}/cancel"),
        ("*", "/static-offline-docs"),
        ("GET", "/favicon.ico"),
        # reporting: the follow-up survey after a recorded visit (its link's token authorises; no personal data)
        ("GET", "/survey/{token}"),
        ("POST", "/survey/{token}"),
    }
)

PATH_PARAM_VALUES = {int: "999999"}  # harmless: matches no row
DEFAULT_PATH_PARAM = "0"
QUERY = {("GET", "/api/v1/plans"): {"date": "2030-01-07"}, ("GET", "/api/v1/field/day"): {"date": "2030-01-07"}}  # required query parameters, so allowed roles get a real answer


def _contexts(app: object = None) -> dict[tuple[str, str], object]:
    """Every (method, path template) the application answers, with its route context (HEAD aside)."""
    found: dict[tuple[str, str], object] = {}
    for route in iter_route_contexts((app or create_app()).routes):  # type: ignore[attr-defined]
        methods = sorted(m for m in (route.methods or ()) if m != "HEAD") or ["*"]  # a mount answers every method
        for method in methods:
            found[(method, route.path or "")] = route
    return found


def _undeclared(routes: dict[tuple[str, str], object]) -> list[tuple[str, str]]:
    return sorted(key for key, route in routes.items() if key not in PUBLIC and route_roles(route) is None)


ROUTES = _contexts()
GUARDED = {key: route_roles(route) for key, route in ROUTES.items() if route_roles(route) is not None}
MATRIX = sorted(EXPECTED)


def _concrete(method: str, path: str) -> str:
    route = ROUTES[(method, path)]
    params = {p.name: PATH_PARAM_VALUES.get(p.field_info.annotation, DEFAULT_PATH_PARAM) for p in route.dependant.path_params}  # type: ignore[attr-defined]
    return path.format(**params)


# ---------------------------------------------------------------- the tables match the application


def test_every_guarded_route_is_declared_with_its_roles() -> None:
    assert set(GUARDED) == set(EXPECTED), {
        "guarded but not in EXPECTED": sorted(set(GUARDED) - set(EXPECTED)),
        "in EXPECTED but not guarded (or gone)": sorted(set(EXPECTED) - set(GUARDED)),
    }
    wrong = {key: (sorted(GUARDED[key]), sorted(roles)) for key, roles in EXPECTED.items() if GUARDED.get(key) != roles}
    assert wrong == {}, f"(guard's roles, expected roles): {wrong}"


def test_every_route_is_public_or_declared() -> None:
    assert _undeclared(ROUTES) == [], "routes with no role guard and not declared public"


def test_the_public_list_names_only_unguarded_routes_that_exist() -> None:
    assert sorted(PUBLIC - set(ROUTES)) == [], "stale PUBLIC entries"
    assert sorted(PUBLIC & set(GUARDED)) == [], "declared public but guarded"
    assert not PUBLIC & set(EXPECTED)


def test_an_unguarded_route_under_a_public_path_is_caught() -> None:
    """The allow-list is exact: a staff route that forgot its guard is not excused by a public prefix."""
    from fastapi import APIRouter

    app = create_app()
    stray = APIRouter()

    @stray.get("/track/{token}/internal-notes")
    def internal_notes(token: str) -> dict:  # pragma: no cover - never called
        return {}

    @stray.post("/api/v1/requests/{request_id}/override")
    def override(request_id: int) -> dict:  # pragma: no cover - never called
        return {}

    app.include_router(stray)
    assert _undeclared(_contexts(app)) == [("GET", "/track/{token}/internal-notes"), ("POST", "/api/v1/requests/{request_id}/override")]


@pytest.mark.parametrize("path", sorted(p for m, p in PUBLIC if m == "GET"))
def test_public_pages_answer_without_login(client, path: str) -> None:
    r = client.get(path.replace("{code}", "en").replace("{token}", "no-such-token"), follow_redirects=False)
    assert r.status_code != 401 and r.headers.get("location") != "/login", (path, r.status_code)
    assert r.status_code < 500


# ---------------------------------------------------------------- the role matrix


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch) -> None:
    """The matrix needs users, not strong hashes (test_auth checks the real hasher)."""
    monkeypatch.setattr(visits.staff.users, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def staff_by_role(db) -> dict[str, Staff]:
    """A browser session per role (cookie + its CSRF token)."""
    return {role: session_for(role) for role in ROLES}


@pytest.fixture
def bearer_by_role(client) -> dict[str, dict[str, str]]:
    """A tablet token per role, issued by the real token endpoint."""
    headers = {}
    for role in ROLES:
        user = make_user(role)
        r = client.post("/api/v1/auth/token", data={"username": user.username, "password": PASSWORD})
        assert r.status_code == 200, r.text
        headers[role] = {"Authorization": f"Bearer {r.json()['access_token']}"}
    return headers


def _check(client, method: str, path: str, who: str, headers: dict[str, str], allowed: bool) -> None:
    r = client.request(method, _concrete(method, path), params=QUERY.get((method, path)), headers=headers, follow_redirects=False)
    if allowed:
        assert r.status_code not in (401, 403) and r.status_code < 500, f"{who} refused on {method} {path}: {r.status_code} {r.text[:200]}"
    else:
        assert r.status_code == 403, f"{who} got {r.status_code} on {method} {path}"


@pytest.mark.parametrize(("method", "path"), MATRIX, ids=[f"{m} {p}" for m, p in MATRIX])
def test_role_matrix_with_browser_sessions(client, staff_by_role, method: str, path: str) -> None:
    url = _concrete(method, path)
    client.cookies.clear()
    anonymous = client.request(method, url, params=QUERY.get((method, path)), follow_redirects=False)
    if path.startswith("/api/"):
        assert anonymous.status_code == 401, anonymous.text
    else:
        assert (anonymous.status_code, anonymous.headers.get("location")) == (303, "/login")
    for role, staff in staff_by_role.items():
        _check(client, method, path, f"{role} (session)", staff.headers, role in EXPECTED[(method, path)])


API_MATRIX = [key for key in MATRIX if key[1].startswith("/api/")]


@pytest.mark.parametrize(("method", "path"), API_MATRIX, ids=[f"{m} {p}" for m, p in API_MATRIX])
def test_role_matrix_with_bearer_tokens(client, bearer_by_role, method: str, path: str) -> None:
    client.cookies.clear()
    for role, headers in bearer_by_role.items():
        _check(client, method, path, f"{role} (token)", headers, role in EXPECTED[(method, path)])
    bad = client.request(method, _concrete(method, path), params=QUERY.get((method, path)), headers={"Authorization": "Bearer not-a-token"})
    assert bad.status_code == 401
