"""Finding 8: security headers, no off-site language redirect, Secure cookies over HTTPS, and a
bearer token revocable on its own."""

from __future__ import annotations

import re

import pytest

from app.db import session_scope
from app.settings import get_settings
from app.web import TEMPLATES_DIR
from tests.app.helpers import bearer_headers, login_as, make_user
from tests.booking.slot_support import make_request, setup_area
from visits.intake.tracking import hash_token, new_token


@pytest.fixture
def token(client) -> str:
    value = new_token()
    with session_scope() as s:
        setup_area(s)
        make_request(s, [{"weekday": 0, "start": "08:00", "end": "12:00"}]).tracking_token_hash = hash_token(value)
    return value


def _assert_protected(r) -> None:
    csp = r.headers["content-security-policy"]
    script = re.search(r"script-src ([^;]+)", csp).group(1)  # type: ignore[union-attr]
    assert "'unsafe-inline'" not in script and "'unsafe-eval'" not in script
    assert "frame-ancestors 'none'" in csp
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["x-content-type-options"] == "nosniff"


def test_pages_carry_csp_frame_and_nosniff_and_personal_pages_are_not_stored(client, token) -> None:
    login_as(client, "operator")
    for path in ("/operator/requests", "/operator/requests/1", f"/track/{token}", f"/api/v1/track/{token}", "/staff", "/info", "/login"):
        r = client.get(path, follow_redirects=False)
        assert r.status_code in (200, 303), (path, r.status_code)
        _assert_protected(r)
        assert r.headers["cache-control"] == "no-store", path
    static = client.get("/static/app.css")
    assert static.status_code == 200 and "no-store" not in static.headers.get("cache-control", "")


def test_no_template_has_inline_script_or_event_handlers() -> None:
    for path in TEMPLATES_DIR.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", text), path  # only <script src=...> (and JSON data blocks, which never run)
        assert not re.search(r"\son[a-z]+\s*=", text), path  # no onclick= etc.
        assert "javascript:" not in text, path


@pytest.mark.parametrize("referer", ["http://evil.example/steal", "//evil.example/x", "https://evil.example", "/\\evil.example", ""])
def test_the_language_switch_never_redirects_off_site(client, referer: str) -> None:
    r = client.get("/lang/en", headers={"host": "evil.example", "referer": referer}, follow_redirects=False)
    assert r.status_code == 303
    location = r.headers["location"]
    assert location.startswith("/") and not location.startswith("//") and "evil.example" not in location.split("?")[0].lstrip("/").split("/")[0]
    assert "\\" not in location


def test_the_language_switch_goes_back_to_the_page_on_this_site(client) -> None:
    r = client.get("/lang/en", headers={"referer": "http://testserver/info?x=1"}, follow_redirects=False)
    assert r.headers["location"] == "/info?x=1"


def test_cookies_are_secure_over_https_or_when_configured(app, monkeypatch) -> None:
    from fastapi.testclient import TestClient

    with TestClient(app, base_url="https://testserver") as https:
        assert "secure" in https.get("/login").headers["set-cookie"].lower()
    with TestClient(app) as http:
        assert "secure" not in http.get("/login").headers["set-cookie"].lower()
        monkeypatch.setenv("JEMPUT_SECURE_COOKIES", "true")
        get_settings.cache_clear()
        try:
            assert "secure" in http.get("/login").headers["set-cookie"].lower()
        finally:
            monkeypatch.delenv("JEMPUT_SECURE_COOKIES")
            get_settings.cache_clear()


def test_a_bearer_token_is_revoked_on_its_own(client) -> None:
    user = make_user("officer")
    lost, kept = bearer_headers(user=user), bearer_headers(user=user)
    assert client.get("/api/v1/me", headers=lost).status_code == 200
    assert client.delete("/api/v1/auth/token", headers=lost).status_code == 204
    assert client.get("/api/v1/me", headers=lost).status_code == 401
    assert client.get("/api/v1/me", headers=kept).status_code == 200  # the user's other token stays
    staff = login_as(client, "operator")
    r = client.delete("/api/v1/auth/token", headers={"X-CSRF-Token": staff.csrf_token})
    assert r.status_code == 422  # a browser session logs out instead
    assert client.get("/api/v1/me").status_code == 200
