"""Finding 5: X-Forwarded-For is believed only from a configured proxy, and a staff lockout is
keyed by username and address (the real user still logs in from their own address)."""

from __future__ import annotations

import httpx
import pytest

from app.cli import serve_options
from app.liveserver import LiveServer
from app.settings import get_settings
from tests.app.helpers import PASSWORD, make_user
from tests.staff.test_auth import _login


@pytest.fixture
def settings_env(monkeypatch):
    def set_(**values: str) -> None:
        for k, v in values.items():
            monkeypatch.setenv(f"JEMPUT_{k.upper()}", v)
        get_settings.cache_clear()

    yield set_
    get_settings.cache_clear()


def test_serve_trusts_no_proxy_by_default(settings_env) -> None:
    settings_env()
    options = serve_options()
    assert options["proxy_headers"] is False and options["forwarded_allow_ips"] == ""
    settings_env(trusted_proxies=" 10.0.0.5, 10.1.0.0/16 ")
    options = serve_options()
    assert options["proxy_headers"] is True and options["forwarded_allow_ips"] == "10.0.0.5,10.1.0.0/16"


def _codes_with_rotating_header(app, limit: int) -> list[int]:
    proxy = {k: v for k, v in serve_options().items() if k != "log_config"}
    with LiveServer(app, **proxy) as base, httpx.Client(base_url=base, timeout=30) as http:
        return [http.post("/api/v1/track/unknown-token/offers", headers={"X-Forwarded-For": f"203.0.113.{n}"}).status_code for n in range(limit + 3)]


def test_a_rotating_forwarded_for_from_an_untrusted_peer_changes_no_limit(db, app, settings_env) -> None:
    settings_env(track_rate_limit="3")
    codes = _codes_with_rotating_header(app, 3)
    assert codes == [404] * 3 + [429] * 3


def test_a_configured_proxy_is_believed(db, app, settings_env) -> None:
    settings_env(track_rate_limit="3", trusted_proxies="127.0.0.1")
    assert _codes_with_rotating_header(app, 3) == [404] * 6  # each forwarded client has its own budget


def test_someone_elses_wrong_passwords_do_not_lock_the_user_out_of_their_own_address(db) -> None:
    from fastapi.testclient import TestClient

    from app.main import create_app

    make_user("operator", "budi")
    application = create_app()
    with TestClient(application, client=("203.0.113.7", 40000)) as attacker, TestClient(application, client=("198.51.100.9", 40001)) as office:
        for _ in range(get_settings().login_max_failures):
            assert _login(attacker, "budi", "salah-salah").status_code == 401
        assert _login(attacker, "budi").status_code == 429  # locked from the attacker's address
        assert attacker.post("/api/v1/auth/token", data={"username": "budi", "password": PASSWORD}).status_code == 429
        assert _login(office, "budi").status_code == 303  # the real user, from their own address
        assert office.post("/api/v1/auth/token", data={"username": "budi", "password": PASSWORD}).status_code == 200
