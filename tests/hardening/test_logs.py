"""Finding 2: no personal data and no tracking token in any log line.

Everything the server logs is captured, uvicorn's access log included (installed with the log
configuration ``jemput serve`` uses), with SQLAlchemy's statement log switched on. A submission
whose INSERT fails (as with a killed database connection) must not put its parameters in the
traceback; tracking tokens in URLs are redacted; a NUL byte in a username is a 4xx.
"""

from __future__ import annotations

import logging
import re
from datetime import date

import httpx
import pytest
from sqlalchemy import event

from app.liveserver import LiveServer
from app.logredact import RedactTokens, log_config, redact
from tests.intake.intake_fixtures import area, form, jpeg_bytes, kk, nik

BIRTH = date(1944, 8, 17)
PLANTED = {
    "nik": nik(BIRTH, female=False, serial=4242),
    "kk_number": kk(serial=9191),
    "full_name": "Sutarmi Rahasiawati",
    "street": "Gang Rahasia Nomor 77",
    "companion_phone": "0857 4433 2211",
}
SECRETS = [PLANTED["nik"], PLANTED["kk_number"], "Rahasiawati", "Gang Rahasia", "85744332211", "0857 4433 2211"]
LOGGERS = ("", "uvicorn", "uvicorn.access", "uvicorn.error", "sqlalchemy", "jemput")


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@pytest.fixture
def captured():
    handler = Capture()
    loggers = [logging.getLogger(name) for name in LOGGERS]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
    logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO)  # every statement is logged
    yield handler
    for lg, level in zip(loggers, levels):
        lg.removeHandler(handler)
        lg.setLevel(level)
    logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)


@pytest.fixture
def live(db, session):
    area(session)
    session.commit()
    from app.deps import get_now
    from app.main import create_app
    from tests.conftest import NOW

    application = create_app()
    application.dependency_overrides[get_now] = lambda: NOW
    server = LiveServer(application, access_log=True, log_config=log_config())
    with server as base:
        yield base


def _submit(http: httpx.Client, **fields) -> httpx.Response:
    data = form(birth_date=BIRTH.isoformat(), sex="M", **PLANTED) | fields
    return http.post("/api/v1/requests", data=data, files={"kk_file": ("kk.jpg", jpeg_bytes(), "image/jpeg")})


def test_a_failing_statement_and_the_access_log_hold_no_personal_data_or_token(db, live, captured) -> None:
    def broken_insert(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001, ANN202
        if statement.startswith("INSERT INTO resident "):  # as if the connection died mid-submission
            statement = statement.replace("INSERT INTO resident ", "INSERT INTO resident_gone ", 1)
        return statement, parameters

    with httpx.Client(base_url=live, timeout=60) as http:
        event.listen(db, "before_cursor_execute", broken_insert, retval=True)
        try:
            failed = _submit(http).status_code
        except httpx.TransportError:  # uvicorn may drop the connection after the 500
            failed = 500
        finally:
            event.remove(db, "before_cursor_execute", broken_insert)
        assert failed == 500
    with httpx.Client(base_url=live, timeout=60) as http:
        ok = _submit(http)
        assert ok.status_code == 201, ok.text
        token = ok.json()["tracking_token"]
        assert http.get(f"/api/v1/track/{token}").status_code == 200
        assert http.get(f"/track/{token}").status_code == 200
        http.post(f"/api/v1/track/{token}/offers")
    text = captured.text
    assert "resident_gone" in text  # the failure was logged (with its traceback) ...
    assert "INSERT INTO resident " in text  # ... and so were the statements
    for secret in SECRETS:
        assert secret not in text, secret
    assert token not in text
    assert re.search(r'"GET /api/v1/track/\[redacted\] HTTP', text)  # the access log still names the call
    assert "POST /api/v1/track/[redacted]/offers" in text


def test_a_nul_byte_in_a_username_is_a_4xx_and_not_logged(live, captured) -> None:
    with httpx.Client(base_url=live, timeout=30) as http:
        page = http.get("/login")
        field = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        r = http.post("/login", data={"username": "kepala\x00Rahasiawati", "password": "salah-sekali", "csrf_token": field})
        token = http.post("/api/v1/auth/token", data={"username": "kepala\x00Rahasiawati", "password": "x"})
    assert r.status_code == 422 and token.status_code == 422  # refused as malformed (not a wrong password, never a 500)
    assert "Rahasiawati" not in r.text
    assert "Rahasiawati" not in captured.text


def test_the_filter_redacts_tokens_in_uvicorn_access_records() -> None:
    from uvicorn.logging import AccessFormatter

    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d', ("127.0.0.1:5", "POST", "/api/v1/track/abcDEF_123-x/confirm", "1.1", 200), None)
    assert RedactTokens().filter(record)
    line = AccessFormatter('%(client_addr)s - "%(request_line)s" %(status_code)s', use_colors=False).format(record)
    assert "abcDEF_123-x" not in line and "/api/v1/track/[redacted]/confirm" in line
    assert redact("GET /track/tok?lang=en") == "GET /track/[redacted]?lang=en"
