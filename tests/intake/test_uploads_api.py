"""KK uploads through the app: size guard (413 before reading on), content sniffing, names, EXIF."""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor

import anyio
import pytest
from PIL import Image
from sqlmodel import select

from app.db import session_scope
from app.settings import get_settings
from tests.app.intake_support import counts, post_request
from tests.intake.intake_fixtures import area, form, jpeg_bytes, png_bytes
from visits.models import KkDocument

SIX_MB = 6 * 1024 * 1024
CHUNK = 64 * 1024


@pytest.fixture
def api(client, session):
    area(session)
    return client


def _multipart_body(boundary: str, file_size: int) -> tuple[bytes, bytes]:
    """(head, tail) around a file part of ``file_size`` bytes."""
    parts = []
    for name, value in form().items():
        for v in value if isinstance(value, list) else [value]:
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{v}\r\n')
    head = "".join(parts) + f'--{boundary}\r\nContent-Disposition: form-data; name="kk_file"; filename="kk.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'
    return head.encode() + b"\xff\xd8\xff", f"\r\n--{boundary}--\r\n".encode()


def _call_streaming(app, path: str, file_size: int, declare_length: bool) -> tuple[int, int, int]:
    """Call the ASGI app directly with a body pulled chunk by chunk; (status, bytes pulled, total)."""
    boundary = "jemputboundary"
    head, tail = _multipart_body(boundary, file_size)
    total = len(head) + file_size + len(tail)
    pulled = 0
    sent_head = False
    remaining = file_size
    status: list[int] = []

    async def receive():
        nonlocal pulled, sent_head, remaining
        if not sent_head:
            sent_head = True
            pulled += len(head)
            return {"type": "http.request", "body": head, "more_body": True}
        if remaining > 0:
            n = min(CHUNK, remaining)
            remaining -= n
            pulled += n
            return {"type": "http.request", "body": b"\x00" * n, "more_body": True}
        pulled += len(tail)
        return {"type": "http.request", "body": tail, "more_body": False}

    async def send(message):
        if message["type"] == "http.response.start":
            status.append(message["status"])

    headers = [(b"content-type", f"multipart/form-data; boundary={boundary}".encode()), (b"host", b"testserver")]
    if declare_length:
        headers.append((b"content-length", str(total).encode()))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "state": {},
    }
    # in a thread of its own: the session's Playwright (real-browser tests) keeps an event loop in this one
    with ThreadPoolExecutor(1) as pool:
        pool.submit(anyio.run, app, scope, receive, send).result()
    return status[0], pulled, total


@pytest.mark.parametrize("path", ["/api/v1/requests", "/request"])
def test_six_mb_stream_refused_early_without_content_length(api, path, monkeypatch) -> None:
    if path == "/request":  # the HTML form reads up to its own (larger) cap; past it, the same early refusal
        monkeypatch.setattr(get_settings(), "upload_form_max_bytes", get_settings().upload_max_bytes)
    status, pulled, total = _call_streaming(api.app, path, SIX_MB, declare_length=False)
    limit = get_settings().upload_max_bytes + 64 * 1024
    assert status == 413
    assert pulled <= limit + CHUNK < total  # stopped reading once past the limit
    assert counts()["VisitRequest"] == 0


def test_six_mb_with_content_length_refused_before_reading(api) -> None:
    status, pulled, _total = _call_streaming(api.app, "/api/v1/requests", SIX_MB, declare_length=True)
    assert status == 413 and pulled == 0


def test_six_mb_via_client_is_413_json(api) -> None:
    r = post_request(api, form(), file=("kk.jpg", b"\xff\xd8\xff" + b"\x00" * SIX_MB, "image/jpeg"))
    assert r.status_code == 413 and r.json()["field"] == "kk_file"
    assert counts()["VisitRequest"] == 0


@pytest.mark.parametrize("path", ["/api/v1/requests", "/request"])
def test_file_at_the_limit_is_accepted_one_byte_more_is_413(api, path) -> None:
    """The body guard allows the limit plus room for the text fields, so a file just over the
    limit is read whole: it must still be 413 (not a 422), and nothing is stored."""
    limit = get_settings().upload_max_bytes
    image = jpeg_bytes()
    at_limit = image + b"\x00" * (limit - len(image))  # a real JPEG padded after its end marker
    data = {k: v for k, v in form().items() if k != "availability"} | {"avail_0": "1", "avail_0_start": "08:00", "avail_0_end": "12:00"}

    over = api.post(path, data=data, files={"kk_file": ("kk.jpg", at_limit + b"\x00", "image/jpeg")}, headers={"Accept": "application/json"})
    assert over.status_code == 413 and over.json()["field"] == "kk_file"
    assert counts() == {"VisitRequest": 0, "Resident": 0, "KkDocument": 0, "Notification": 0}

    ok = api.post(path, data=data, files={"kk_file": ("kk.jpg", at_limit, "image/jpeg")})
    assert ok.status_code == 201, ok.text[:500]
    with session_scope() as s:
        doc = s.exec(select(KkDocument)).one()
    assert doc.size_bytes < limit  # re-encoded: the padding is gone


def test_phone_intake_file_over_the_limit_is_413(api) -> None:
    from tests.app.helpers import login_as

    staff = login_as(api, "operator")
    limit = get_settings().upload_max_bytes
    data = {k: v for k, v in form().items() if k != "availability"} | {"csrf_token": staff.csrf_token, "avail_1": "1", "avail_1_start": "09:00", "avail_1_end": "12:00"}
    r = api.post("/operator/intake", data=data, files={"kk_file": ("kk.jpg", b"\xff\xd8\xff" + b"\x00" * (limit - 2), "image/jpeg")})
    assert r.status_code == 413 and counts()["VisitRequest"] == 0


def test_just_under_limit_is_read_and_then_judged_by_content(api) -> None:
    r = post_request(api, form(), file=("kk.jpg", b"\xff\xd8\xff" + b"\x00" * (4 * 1024 * 1024), "image/jpeg"))
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "kk_file"  # not a real JPEG


def test_content_not_name_decides_type(api) -> None:
    r = post_request(api, form(), file=("scan.pdf", png_bytes(), "application/pdf"))
    assert r.status_code == 201
    with session_scope() as s:
        doc = s.exec(select(KkDocument)).one()
        assert doc.content_type == "image/png" and doc.storage_name.endswith(".png")
    r = post_request(api, form(), file=("kk.jpg", b"<html><body>hi</body></html>", "image/jpeg"))
    assert r.status_code == 422


def test_path_in_file_name_neutralised(api) -> None:
    upload_dir = get_settings().upload_dir
    r = post_request(api, form(), file=("../../../etc/evil.jpg", jpeg_bytes(), "image/jpeg"))
    assert r.status_code == 201
    with session_scope() as s:
        doc = s.exec(select(KkDocument)).one()
    assert "evil" not in doc.storage_name and "/" not in doc.storage_name
    assert (upload_dir / doc.storage_name).is_file()
    assert not list(upload_dir.parent.rglob("evil*"))


def test_exif_gone_from_stored_image(api) -> None:
    raw = jpeg_bytes(exif=True)
    assert b"SecretCameraMaker" in raw
    assert post_request(api, form(), file=("kk.jpg", raw, "image/jpeg")).status_code == 201
    with session_scope() as s:
        doc = s.exec(select(KkDocument)).one()
    stored = (get_settings().upload_dir / doc.storage_name).read_bytes()
    assert b"SecretCameraMaker" not in stored and b"GPS-Leaking" not in stored
    with Image.open(io.BytesIO(stored)) as img:
        assert not img.getexif()


def test_form_page_submit_with_upload(api) -> None:
    data = {k: v for k, v in form().items() if k != "availability"}
    data |= {"avail_0": "1", "avail_0_start": "08:00", "avail_0_end": "12:00", "idempotency_key": "form-key-000001"}
    r = api.post("/request", data=data, files={"kk_file": ("kk.jpg", jpeg_bytes(), "image/jpeg")})
    assert r.status_code == 201 and "/track/" in r.text
    again = api.post("/request", data=data, files={"kk_file": ("kk.jpg", jpeg_bytes(), "image/jpeg")})
    assert again.status_code == 201 and counts()["VisitRequest"] == 1  # the hidden key makes a resubmit safe


def test_form_page_rerenders_with_named_errors(api) -> None:
    api.cookies.set("lang", "en")
    data = {k: v for k, v in form(nik="123").items() if k != "availability"}
    r = api.post("/request", data=data, files={"kk_file": ("kk.jpg", jpeg_bytes(), "image/jpeg")})
    assert r.status_code == 422
    assert 'href="#f-nik"' in r.text and "The NIK must be 16 digits" in r.text
    assert 'href="#f-availability"' in r.text
    assert "Siti Rahayu" in r.text  # the family's answers are kept in the re-rendered form
    assert counts()["VisitRequest"] == 0


def test_availability_dates_must_be_ahead(api, now) -> None:
    from datetime import timedelta

    today = now.date()
    past = (today - timedelta(days=3)).isoformat()
    r = post_request(api, form(availability=f'[{{"date": "{past}", "start": "08:00", "end": "10:00"}}]'))
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "availability"
    soon = (today + timedelta(days=3)).isoformat()
    assert post_request(api, form(availability=f'[{{"date": "{soon}", "start": "08:00", "end": "10:00"}}]')).status_code == 201


def test_body_size_middleware_variant() -> None:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route
    from starlette.testclient import TestClient

    from app.uploadguard import BodySizeLimit

    async def echo(request: Request) -> PlainTextResponse:
        return PlainTextResponse(str(len(await request.body())))

    app = Starlette(routes=[Route("/up", echo, methods=["POST"]), Route("/other", echo, methods=["POST"])])
    app.add_middleware(BodySizeLimit, limits={"/up": 1000})
    with TestClient(app) as c:
        assert c.post("/up", content=b"x" * 999).text == "999"
        assert c.post("/up", content=b"x" * 1001).status_code == 413
        assert c.post("/up", content=iter([b"x" * 600, b"x" * 600])).status_code == 413  # chunked, no length
        assert c.post("/other", content=b"x" * 5000).text == "5000"


def test_six_mb_photo_on_the_form_keeps_every_typed_field(api) -> None:
    """Over the upload limit but under the form's cap: the form comes back (413) with every
    typed field, a plain-language message (not the raw field name), and nothing stored."""
    data = {k: v for k, v in form().items() if k != "availability"} | {"avail_2": "1", "avail_2_start": "09:30", "avail_2_end": "12:15", "notes": "Pagar hijau", "consent": "true"}
    r = api.post("/request", data=data, files={"kk_file": ("kk.jpg", b"\xff\xd8\xff" + b"\x00" * SIX_MB, "image/jpeg")})
    assert r.status_code == 413 and counts()["VisitRequest"] == 0
    for name in ("nik", "full_name", "kk_number", "companion_name", "street", "notes"):
        assert str(data[name]) in r.text, name
    assert 'value="09:30"' in r.text and 'value="12:15"' in r.text
    assert "lebih dari 5 MB" in r.text and "Periksa isian: kk_file" not in r.text and ">kk_file<" not in r.text
    assert 'name="consent" value="true" required checked' in r.text
