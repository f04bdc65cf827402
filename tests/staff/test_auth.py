"""Staff login, sessions, CSRF, API tokens, disabling, throttling and the audit trail."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlmodel import select

from app.auth import SESSION_COOKIE
from app.db import session_scope
from app.settings import get_settings
from tests.app.helpers import PASSWORD, bearer_headers, login_as, make_user, session_for, set_clock
from visits.errors import Conflict, InvalidInput, TooManyRequests, Unauthenticated
from visits.models import ApiToken, AuditLog, Kecamatan, Kelurahan, LoginAttempt, Resident, User, UserSession
from visits.staff.users import authenticate, create_user, digest, issue_api_token, resolve_api_token, resolve_session, set_active, start_session, verify_password
from visits.types import utcnow

LOGIN_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def _login_token(client) -> str:
    page = client.get("/login", follow_redirects=False)
    assert page.status_code == 200
    return LOGIN_TOKEN.search(page.text).group(1)


def _login(client, username: str, password: str = PASSWORD):
    data = {"username": username, "password": password, "csrf_token": _login_token(client)}
    return client.post("/login", data=data, follow_redirects=False)


def _resident() -> int:
    with session_scope() as s:
        kec = Kecamatan(code="35.76.01", name="Prajurit Kulon")
        s.add(kec)
        s.flush()
        kel = Kelurahan(code="35.76.01.1003", name="Mentikan", postcode="61323", kecamatan_id=kec.id, lat=-7.47, lon=112.42)
        s.add(kel)
        s.flush()
        resident = Resident(
            nik="3576014101500001",
            full_name="Siti Rahayu",
            birth_date=date(1950, 1, 1),
            sex="F",
            marital_status="widowed",
            group_elderly=True,
            street="Jl. Mawar 1",
            rt="001",
            rw="002",
            kelurahan_id=kel.id,
            lat=-7.47,
            lon=112.42,
        )
        s.add(resident)
        s.flush()
        return resident.id


# ---------------------------------------------------------------- login page and session cookie


def test_login_page_speaks_indonesian_and_english(client) -> None:
    assert "Masuk petugas" in client.get("/login").text
    assert "Staff login" in client.get("/login", headers={"Accept-Language": "en"}).text


def test_login_sets_an_httponly_samesite_session_cookie(client) -> None:
    user = make_user("operator", "budi")
    r = _login(client, "Budi ")  # usernames are case- and space-insensitive
    assert (r.status_code, r.headers["location"]) == (303, "/staff")
    cookie = next(c for c in r.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE + "="))
    flags = [part.strip().lower() for part in cookie.split(";")]
    assert "httponly" in flags and "samesite=lax" in flags and "path=/" in flags
    assert "secure" not in flags
    page = client.get("/staff")
    assert page.status_code == 200 and "budi" in page.text
    assert client.get("/api/v1/me").json() == {"user_id": user.id, "username": "budi", "role": "operator", "team_id": None, "via": "session"}


def test_session_cookie_is_secure_when_configured(client, monkeypatch) -> None:
    make_user("head", "kabid")
    token = _login_token(client)  # the test client is plain http: fetch the form before turning Secure on
    monkeypatch.setattr(get_settings(), "secure_cookies", True)
    r = client.post("/login", data={"username": "kabid", "password": PASSWORD, "csrf_token": token}, follow_redirects=False)
    cookies = r.headers.get_list("set-cookie")
    assert any(c.startswith(SESSION_COOKIE + "=") and "secure" in c.lower() for c in cookies)


def test_login_form_needs_its_csrf_token(client) -> None:
    make_user("operator", "budi")
    r = client.post("/login", data={"username": "budi", "password": PASSWORD, "csrf_token": "forged"}, follow_redirects=False)
    assert r.status_code == 403 and SESSION_COOKIE not in r.headers.get("set-cookie", "")


def test_wrong_password_and_unknown_user_look_the_same(client) -> None:
    make_user("operator", "budi")
    wrong = _login(client, "budi", "salah-salah")
    unknown = _login(client, "tidak-ada", "salah-salah")
    assert wrong.status_code == unknown.status_code == 401
    assert "Nama pengguna atau kata sandi salah." in wrong.text and "Nama pengguna atau kata sandi salah." in unknown.text
    assert SESSION_COOKIE not in (wrong.headers.get("set-cookie") or "")


def test_logout_ends_the_session(client) -> None:
    staff = login_as(client, "operator")
    assert client.post("/logout", follow_redirects=False).status_code == 403  # no CSRF token
    r = client.post("/logout", data={"csrf_token": staff.csrf_token}, follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/login")
    with session_scope() as s:
        assert s.get(UserSession, digest(staff.cookie)) is None
    assert client.get("/api/v1/me", headers=staff.headers).status_code == 401


def test_public_pages_need_no_login(client) -> None:
    assert client.get("/").status_code == 200
    assert client.get("/login").status_code == 200
    assert client.get("/healthz").status_code == 200


def test_pages_redirect_anonymous_users_to_login_and_apis_answer_401(client) -> None:
    r = client.get("/staff", follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/login")
    assert client.get("/api/v1/me").json()["code"] == "unauthenticated"


def test_expired_session_is_refused(client) -> None:
    staff = session_for("operator")
    with session_scope() as s:
        row = s.get(UserSession, digest(staff.cookie))
        row.expires_at = utcnow() - timedelta(seconds=1)
        s.add(row)
    assert client.get("/api/v1/me", headers=staff.headers).status_code == 401


def test_staff_landing_lists_the_pages_of_the_role(client) -> None:
    login_as(client, "admin")
    assert 'href="/admin/users"' in client.get("/staff").text
    client.cookies.clear()
    login_as(client, "officer")
    page = client.get("/staff")
    assert page.status_code == 200 and 'href="/admin/users"' not in page.text


# ---------------------------------------------------------------- CSRF


def test_cookie_session_form_post_without_csrf_token_is_refused(client) -> None:
    staff = login_as(client, "admin")
    target = make_user("operator")
    url = f"/admin/users/{target.id}/disable"
    assert client.post(url, follow_redirects=False).status_code == 403
    assert client.post(url, data={"csrf_token": "wrong"}, follow_redirects=False).status_code == 403
    assert client.post(url, headers={"X-CSRF-Token": "wrong"}, follow_redirects=False).status_code == 403
    with session_scope() as s:
        assert s.get(User, target.id).active
    assert client.post(url, data={"csrf_token": staff.csrf_token}, follow_redirects=False).status_code == 303
    assert client.post(f"/admin/users/{target.id}/enable", headers={"X-CSRF-Token": staff.csrf_token}, follow_redirects=False).status_code == 303


def test_bearer_token_calls_need_no_csrf_token(client) -> None:
    target = make_user("operator")
    r = client.post(f"/admin/users/{target.id}/disable", headers=bearer_headers("admin"), follow_redirects=False)
    assert r.status_code == 303


# ---------------------------------------------------------------- API tokens


def test_token_endpoint_issues_a_hashed_expiring_bearer_token(client) -> None:
    user = make_user("officer", "petugas1")
    r = client.post("/api/v1/auth/token", data={"username": "petugas1", "password": PASSWORD})
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "bearer" and body["access_token"]
    with session_scope() as s:
        stored = s.exec(select(ApiToken)).one()
    assert stored.token_hash == digest(body["access_token"]) and body["access_token"] not in stored.token_hash
    assert stored.expires_at > utcnow() and stored.user_id == user.id
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json()["via"] == "token" and me.json()["team_id"] == user.team_id
    assert not client.cookies  # a token login sets no cookie


def test_token_endpoint_refuses_wrong_passwords(client) -> None:
    make_user("officer", "petugas1")
    r = client.post("/api/v1/auth/token", data={"username": "petugas1", "password": "salah-salah"})
    assert r.status_code == 401 and r.json()["code"] == "unauthenticated"


def test_expired_revoked_and_unknown_tokens_are_refused(client) -> None:
    user = make_user("officer")
    with session_scope() as s:
        expired, _ = issue_api_token(s, user, lifetime=timedelta(seconds=-1))
        revoked, _ = issue_api_token(s, user)
        s.exec(select(ApiToken).where(ApiToken.token_hash == digest(revoked))).one().revoked_at = utcnow()
    for token in (expired, revoked, "unknown", ""):
        assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert client.get("/api/v1/me", headers={"Authorization": "Basic abc"}).status_code == 401


# ---------------------------------------------------------------- disabling users


def test_a_disabled_user_is_refused_on_the_next_request(client) -> None:
    admin = session_for("admin")
    officer = session_for("officer")
    officer_bearer = bearer_headers(user=_user(officer.user_id))
    assert client.get("/api/v1/me", headers=officer.headers).status_code == 200
    assert client.get("/api/v1/me", headers=officer_bearer).status_code == 200
    r = client.post(f"/admin/users/{officer.user_id}/disable", headers=admin.headers, follow_redirects=False)
    assert r.status_code == 303
    assert client.get("/api/v1/me", headers=officer.headers).status_code == 401
    assert client.get("/api/v1/me", headers=officer_bearer).status_code == 401
    assert client.get("/staff", headers=officer.headers, follow_redirects=False).headers["location"] == "/login"
    with session_scope() as s:
        assert s.exec(select(UserSession).where(UserSession.user_id == officer.user_id)).all() == []
        assert all(t.revoked_at for t in s.exec(select(ApiToken).where(ApiToken.user_id == officer.user_id)))
    r = client.post("/api/v1/auth/token", data={"username": officer.username, "password": PASSWORD})
    assert r.status_code == 401  # and cannot log in again


def test_a_user_deactivated_behind_our_back_is_refused_too(client) -> None:
    staff = session_for("operator")
    with session_scope() as s:  # not through set_active: the credentials are still there
        s.get(User, staff.user_id).active = False
    assert client.get("/api/v1/me", headers=staff.headers).status_code == 401


def test_an_admin_cannot_disable_themselves(client) -> None:
    admin = login_as(client, "admin")
    r = client.post(f"/admin/users/{admin.user_id}/disable", data={"csrf_token": admin.csrf_token}, follow_redirects=False)
    assert r.status_code == 409


def _user(user_id: int) -> User:
    with session_scope() as s:
        return s.get(User, user_id)


# ---------------------------------------------------------------- throttling


def test_repeated_wrong_passwords_are_throttled(client) -> None:
    make_user("operator", "budi")
    make_user("operator", "ani")
    limit = get_settings().login_max_failures
    for _ in range(limit):
        assert _login(client, "budi", "salah-salah").status_code == 401
    assert _login(client, "budi").status_code == 429  # even the right password
    assert client.post("/api/v1/auth/token", data={"username": "BUDI", "password": PASSWORD}).status_code == 429
    assert _login(client, "ani").status_code == 303  # counted per username


def test_the_lockout_counts_on_the_injected_clock(client, now) -> None:
    """Failures are stamped and aged with the app's clock: a lockout ends when *that* clock passes the window."""
    make_user("operator", "budi")
    for _ in range(get_settings().login_max_failures):
        assert _login(client, "budi", "salah-salah").status_code == 401
    with session_scope() as s:
        assert {a.at for a in s.exec(select(LoginAttempt)).all()} == {now}
    set_clock(client, now + timedelta(minutes=get_settings().login_lockout_minutes - 1))
    assert _login(client, "budi").status_code == 429
    set_clock(client, now + timedelta(minutes=get_settings().login_lockout_minutes, seconds=1))
    assert _login(client, "budi").status_code == 303


def test_wrong_passwords_from_one_address_are_throttled_whatever_the_username(db, monkeypatch) -> None:
    """One client cannot walk through every staff account; others, and the username lock, are unaffected."""
    from fastapi.testclient import TestClient

    from app.main import create_app
    from visits.staff.users import ADDRESS_FAILURE_FACTOR

    monkeypatch.setattr(get_settings(), "login_max_failures", 2)
    address_limit = 2 * ADDRESS_FAILURE_FACTOR
    make_user("operator", "budi")
    application = create_app()
    with TestClient(application, client=("203.0.113.7", 40000)) as attacker, TestClient(application, client=("198.51.100.9", 40001)) as office:
        for n in range(address_limit):  # every name once or twice: no username reaches its own limit of 2
            name = f"tebakan-{n // 2}" if n % 2 else f"staf-{n}"
            r = _login(attacker, name, "salah-salah") if n % 3 else attacker.post("/api/v1/auth/token", data={"username": name, "password": "x"})
            assert r.status_code == 401, (n, r.status_code)
        assert _login(attacker, "budi").status_code == 429  # even a right password, from that address
        assert attacker.post("/api/v1/auth/token", data={"username": "budi", "password": PASSWORD}).status_code == 429
        assert _login(office, "budi").status_code == 303  # another address is not locked out
    with session_scope() as s:
        keys = [a.username for a in s.exec(select(LoginAttempt)).all()]
    assert not any("203.0.113.7" in k or "198.51.100.9" in k for k in keys)  # the address is kept only as an HMAC
    assert sum(k.startswith("ip:") for k in keys) == address_limit


def test_the_address_limit_ends_after_the_window(db, monkeypatch) -> None:
    from fastapi.testclient import TestClient

    from app.main import create_app
    from visits.staff.users import ADDRESS_FAILURE_FACTOR

    monkeypatch.setattr(get_settings(), "login_max_failures", 1)
    make_user("operator", "budi")
    with TestClient(create_app(), client=("203.0.113.8", 40000)) as c:
        for n in range(ADDRESS_FAILURE_FACTOR):
            assert _login(c, f"nama-{n}", "salah-salah").status_code == 401
        assert _login(c, "budi").status_code == 429
        with session_scope() as s:  # the failures age out of the lockout window
            for attempt in s.exec(select(LoginAttempt)).all():
                attempt.at = utcnow() - timedelta(minutes=get_settings().login_lockout_minutes, seconds=1)
                s.add(attempt)
        assert _login(c, "budi").status_code == 303


def test_token_endpoint_failures_count_toward_the_lockout(client) -> None:
    make_user("officer", "petugas1")
    for _ in range(get_settings().login_max_failures):
        assert client.post("/api/v1/auth/token", data={"username": "petugas1", "password": "x"}).status_code == 401
    r = client.post("/api/v1/auth/token", data={"username": "petugas1", "password": PASSWORD})
    assert r.status_code == 429 and r.json()["code"] == "rate_limited"


def test_the_lockout_ends_after_the_window_and_success_clears_it(db) -> None:
    window = timedelta(minutes=15)
    make_user("operator", "budi")
    with session_scope() as s:
        for _ in range(3):
            s.add(LoginAttempt(username="budi", at=utcnow() - window - timedelta(minutes=1)))
    with session_scope() as s:
        assert authenticate(s, "budi", PASSWORD, max_failures=3, window=window).username == "budi"
        assert s.exec(select(LoginAttempt)).all() == []
    for _ in range(3):
        with pytest.raises(Unauthenticated):
            with session_scope() as s:
                authenticate(s, "budi", "salah", max_failures=3, window=window)
    with session_scope() as s:  # raised errors roll back: the caller must answer instead
        assert s.exec(select(LoginAttempt)).all() == []


# ---------------------------------------------------------------- accounts and passwords


def test_passwords_are_stored_as_argon2_hashes(db) -> None:
    user = make_user("head", "kabid")
    with session_scope() as s:
        stored = s.get(User, user.id).password_hash
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert verify_password(stored, PASSWORD) and not verify_password(stored, PASSWORD + "x")
    assert not verify_password("not-a-hash", PASSWORD)


@pytest.mark.parametrize(
    ("username", "role", "password", "team_id", "field"),
    [
        ("bad name", "operator", PASSWORD, None, "username"),
        ("ok", "superuser", PASSWORD, None, "role"),
        ("ok", "operator", "short", None, "password"),
        ("ok", "officer", PASSWORD, None, "team_id"),
        ("ok", "operator", PASSWORD, 999999, "team_id"),
    ],
)
def test_create_user_validates(db, username: str, role: str, password: str, team_id: int | None, field: str) -> None:
    with pytest.raises(InvalidInput) as err, session_scope() as s:
        create_user(s, username, role, password, team_id=team_id)
    assert err.value.field == field


def test_usernames_are_unique_regardless_of_case(db) -> None:
    make_user("operator", "budi")
    with pytest.raises(Conflict), session_scope() as s:
        create_user(s, "Budi", "head", PASSWORD)


def test_admin_creates_users_through_the_form(client) -> None:
    admin = login_as(client, "admin")
    form = {"username": "ani", "role": "operator", "team_id": "", "full_name": "Ani", "password": PASSWORD, "csrf_token": admin.csrf_token}
    assert client.post("/admin/users", data=form, follow_redirects=False).status_code == 303
    refused = client.post("/admin/users", data={**form, "username": "ani2", "role": "officer"}, follow_redirects=False)
    assert refused.status_code == 422 and "Petugas lapangan harus masuk dalam satu tim." in refused.text
    listing = client.get("/admin/users")
    assert listing.status_code == 200 and "ani" in listing.text and PASSWORD not in listing.text
    client.cookies.clear()
    assert _login(client, "ani").status_code == 303


def test_session_and_token_resolution(db) -> None:
    user = make_user("operator")
    with session_scope() as s:
        cookie, csrf = start_session(s, user, lifetime=timedelta(hours=1))
        token, _ = issue_api_token(s, user)
    with session_scope() as s:
        found_user, found_session = resolve_session(s, cookie)
        assert (found_user.id, found_session.csrf_token) == (user.id, csrf)
        assert resolve_api_token(s, token).id == user.id
        assert resolve_session(s, "nope") is None
        set_active(s, user.id, False)
    with session_scope() as s:
        assert resolve_session(s, cookie) is None and resolve_api_token(s, token) is None


def test_authenticate_refuses_with_the_same_error_for_every_reason(db) -> None:
    make_user("operator", "budi")
    with session_scope() as s:
        set_active(s, s.exec(select(User)).one().id, False)
    for name, password in (("budi", PASSWORD), ("budi", "wrong"), ("nobody", PASSWORD)):
        with pytest.raises(Unauthenticated) as err, session_scope() as s:
            authenticate(s, name, password, max_failures=5, window=timedelta(minutes=15))
        assert err.value.message_key == "auth.bad_credentials"
    with pytest.raises(TooManyRequests), session_scope() as s:
        authenticate(s, "budi", PASSWORD, max_failures=0, window=timedelta(minutes=15))


# ---------------------------------------------------------------- audit


def test_reading_a_residents_data_is_audited(client) -> None:
    resident_id = _resident()
    operator = session_for("operator")
    r = client.get(f"/api/v1/residents/{resident_id}", headers=operator.headers)
    assert r.status_code == 200 and r.json()["nik"] == "3576014101500001" and r.json()["groups"] == ["elderly"]
    with session_scope() as s:
        rows = s.exec(select(AuditLog)).all()
    assert [(a.user_id, a.action, a.entity, a.entity_id, a.resident_id, a.route) for a in rows] == [(operator.user_id, "read", "resident", resident_id, resident_id, "/api/v1/residents/{resident_id}")]
    assert client.get(f"/api/v1/residents/{resident_id}", headers=session_for("officer").headers).status_code == 403
    assert client.get("/api/v1/residents/999999", headers=operator.headers).status_code == 404
    with session_scope() as s:
        assert len(s.exec(select(AuditLog)).all()) == 1  # refused and missing reads record nothing


def test_weaker_old_hashes_are_upgraded_at_login(db) -> None:
    from argon2 import PasswordHasher

    user = make_user("head")
    with session_scope() as s:
        s.get(User, user.id).password_hash = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(PASSWORD)
    with session_scope() as s:
        authenticate(s, user.username, PASSWORD, max_failures=5, window=timedelta(minutes=15))
    with session_scope() as s:
        upgraded = s.get(User, user.id).password_hash
    assert not PasswordHasher().check_needs_rehash(upgraded) and verify_password(upgraded, PASSWORD)
