"""Intake end to end through the real ASGI app: submit, track, validation, idempotency."""

from __future__ import annotations

import json
import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import pytest
from sqlmodel import select

from app.db import session_scope
from app.settings import get_settings
from tests.app.intake_support import counts, post_request
from tests.visits.intake_fixtures import PHONE_E164, area, form, jpeg_bytes, kk, multipart, nik
from visits.models import KkDocument, Notification, Resident, VisitRequest


@pytest.fixture
def api(client, session):
    area(session)
    return client


def test_submit_with_upload_then_track(api) -> None:
    r = post_request(api, form(kelurahan_letter="false"))
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "eligible" and body["eligible"] is True and body["reasons"] == []
    assert len(body["tracking_token"]) >= 43 and body["first_answer_due"]
    token = body["tracking_token"]

    with session_scope() as s:
        row = s.exec(select(VisitRequest)).one()
        assert row.tracking_token_hash != token and token not in row.tracking_token_hash
        assert row.kk_document_id is not None and row.kelurahan_letter is False
        assert row.first_answer_at == row.received_at and row.due_at > row.received_at
        note = s.exec(select(Notification)).one()
        assert note.recipient == PHONE_E164 and f"/track/{token}" in note.body and note.template == "ack"
        resident = s.get(Resident, row.resident_id)
        assert resident.rt == "003" and resident.location_source == "centroid"

    track = api.get(f"/api/v1/track/{token}")
    assert track.status_code == 200
    assert track.json()["reference"] == body["reference"] and track.json()["status"] == "eligible"
    page = api.get(f"/track/{token}")
    assert page.status_code == 200 and body["reference"] in page.text
    assert page.headers["referrer-policy"] == "no-referrer"


def test_english_acknowledgement_and_messages(api) -> None:
    api.cookies.set("lang", "en")
    r = post_request(api, form(kk_number=kk(region="351601")))
    assert r.status_code == 201
    assert r.json()["reasons"][0]["message"].startswith("The family card or the address is outside")
    with session_scope() as s:
        assert s.exec(select(Notification)).one().language == "en"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("nik", "12345"),
        ("nik", "3576013203500001"),  # day 32
        ("nik", "3576015403500000"),  # serial 0000
        ("kk_number", "3576011503180000"),
        ("kk_number", "35760115031800"),
        ("full_name", None),
        ("birth_date", "14-03-1950"),
        ("birth_date", "2999-01-01"),
        ("sex", "X"),
        ("marital_status", "complicated"),
        ("groups", ["elderly", "wizard"]),
        ("kelurahan_code", "Mentikan"),
        ("kelurahan_code", "35.16.01.2001"),  # well-formed, not in the service area
        ("rt", "abcd"),
        ("rw", "0"),
        ("street", None),
        ("lat", "91"),
        ("lon", "not-a-number"),
        ("companion_name", None),
        ("companion_phone", "12"),
        ("companion_phone", "+1 202 555 0100"),  # not Indonesian
        ("companion_relation", None),
        ("availability", "not json"),
        ("availability", '[{"weekday": 0, "start": "12:00", "end": "08:00"}]'),
        ("availability", '[{"weekday": 9, "start": "08:00", "end": "12:00"}]'),
        ("availability", "[]"),
        ("consent", None),
        ("consent", "false"),
        ("kelurahan_letter", "maybe"),
    ],
)
def test_malformed_field_is_named_and_nothing_stored(api, field, value) -> None:
    before = counts()
    data = form(**{field: value})
    if value is None:
        data.pop(field, None)
    r = post_request(api, data)
    assert r.status_code == 422, r.text
    errors = r.json()["detail"]
    assert [e["field"] for e in errors] == [field]
    assert errors[0]["reason"] and (not isinstance(value, str) or len(value) < 4 or value not in errors[0]["reason"])
    assert counts() == before == {"VisitRequest": 0, "Resident": 0, "KkDocument": 0, "Notification": 0}


def test_lat_without_lon_names_lon(api) -> None:
    r = post_request(api, form(lat="-7.47"))
    assert r.status_code == 422 and [e["field"] for e in r.json()["detail"]] == ["lon"]


def test_several_errors_in_english(api) -> None:
    api.cookies.set("lang", "en")
    r = post_request(api, form(nik="1", companion_phone="x", consent=None))
    fields = {e["field"]: e["reason"] for e in r.json()["detail"]}
    assert set(fields) == {"nik", "companion_phone", "consent"}
    assert fields["consent"] == "Consent is needed for us to process the request."


def test_bad_upload_is_named_and_nothing_stored(api) -> None:
    r = post_request(api, form(), file=("kk.jpg", b"<html><script>alert(1)</script></html>", "image/jpeg"))
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "kk_file"
    assert counts()["VisitRequest"] == 0


def test_rule_failures_are_stored_ineligible(api) -> None:
    r = post_request(api, form(kk_number=kk(region="351601")))  # Kabupaten Mojokerto
    assert r.status_code == 201
    assert (r.json()["status"], r.json()["eligible"]) == ("ineligible", False)
    assert [x["code"] for x in r.json()["reasons"]] == ["OUTSIDE_SERVICE_AREA"]
    assert "Dispendukcapil" in r.json()["reasons"][0]["next_step"]
    track = api.get(f"/api/v1/track/{r.json()['tracking_token']}").json()
    assert [x["code"] for x in track["reasons"]] == ["OUTSIDE_SERVICE_AREA"] and track["next_step"]


def test_kk_missing_without_file(api) -> None:
    r = post_request(api, form(), file=None)
    assert r.status_code == 201 and [x["code"] for x in r.json()["reasons"]] == ["KK_MISSING"]
    with session_scope() as s:
        assert s.exec(select(VisitRequest)).one().status == "ineligible"


def test_kk_check_at_visit_on_the_web_needs_review(api) -> None:
    r = post_request(api, form(kk_check_at_visit="true"), file=None)
    assert r.status_code == 201 and r.json()["status"] == "needs_review" and r.json()["reasons"] == []


def test_16_year_old_married_is_eligible(api) -> None:
    today = date.today()
    birth = date(today.year - 16, 1, 10)
    r = post_request(api, form(nik=nik(birth), birth_date=birth.isoformat(), sex="M", marital_status="married", groups=["disabled"], disability_type="tunadaksa"))
    assert r.status_code == 201 and r.json()["eligible"] is True


def test_duplicate_open_request_reveals_nothing(api) -> None:
    first = post_request(api, form())
    second = post_request(api, form(companion_phone="0813 1111 2222", companion_name="Orang Lain"))
    assert second.status_code == 201
    body = second.json()
    assert [x["code"] for x in body["reasons"]] == ["DUPLICATE_OPEN_REQUEST"]
    text = json.dumps(body)
    assert first.json()["reference"] not in text and "Budi" not in text and "0812" not in text
    with session_scope() as s:
        rows = s.exec(select(VisitRequest)).all()
        assert len(rows) == 2 and len(s.exec(select(Resident)).all()) == 1
        resident = s.exec(select(Resident)).one()
        assert resident.full_name == "Siti Rahayu"  # the second submission did not overwrite the resident


def test_idempotent_retry_returns_first_answer(api) -> None:
    headers = {"Idempotency-Key": "retry-key-0001"}
    a = post_request(api, form(), headers=headers)
    b = post_request(api, form(), headers=headers)
    assert a.status_code == b.status_code == 201
    assert a.json() == b.json()
    assert counts()["VisitRequest"] == 1 and counts()["Notification"] == 1
    assert api.get(f"/api/v1/track/{b.json()['tracking_token']}").status_code == 200


def test_same_key_different_body_is_422(api) -> None:
    headers = {"Idempotency-Key": "retry-key-0002"}
    assert post_request(api, form(), headers=headers).status_code == 201
    r = post_request(api, form(street="Jl. Melati No. 9"), headers=headers)
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "idempotency_key"
    assert counts()["VisitRequest"] == 1


def test_ten_concurrent_retries_make_one_request(api) -> None:
    headers = {"Idempotency-Key": "concurrent-key-0003"}
    data = form()
    image = jpeg_bytes()

    def send(_: int):
        return api.post("/api/v1/requests", data=multipart(data), files={"kk_file": ("kk.jpg", image, "image/jpeg")}, headers=headers)

    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(send, range(10)))
    assert [a.status_code for a in answers] == [201] * 10, [a.text for a in answers if a.status_code != 201]
    assert len({json.dumps(a.json(), sort_keys=True) for a in answers}) == 1
    c = counts()
    assert (c["VisitRequest"], c["Resident"], c["Notification"], c["KkDocument"]) == (1, 1, 1, 1)
    stored = {p.name for p in get_settings().upload_dir.iterdir()}
    with session_scope() as s:
        doc = s.exec(select(KkDocument)).one()
    assert doc.storage_name in stored


def test_concurrent_different_keys_same_nik_one_open_request(api) -> None:
    data = form()

    def send(i: int):
        return api.post("/api/v1/requests", data=multipart(data), files={"kk_file": ("kk.jpg", jpeg_bytes(), "image/jpeg")}, headers={"Idempotency-Key": f"nik-race-key-{i:04d}"})

    with ThreadPoolExecutor(max_workers=5) as pool:
        answers = list(pool.map(send, range(5)))
    assert [a.status_code for a in answers] == [201] * 5
    assert sorted(a.json()["eligible"] for a in answers) == [False, False, False, False, True]
    assert counts()["Resident"] == 1


def test_personal_data_not_in_public_responses_or_logs(api, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    birth = date(1944, 8, 17)
    planted = {
        "nik": nik(birth, female=False, serial=4242),
        "kk_number": kk(serial=9191),
        "street": "Gang Rahasia Nomor 77",
        "companion_phone": "0857 4433 2211",
    }
    data = form(birth_date=birth.isoformat(), sex="M", **planted)
    secrets_ = [planted["nik"], planted["kk_number"], planted["street"], "85744332211", "0857 4433 2211", "Rahasia"]
    r = post_request(api, data)
    assert r.status_code == 201
    token, reference = r.json()["tracking_token"], r.json()["reference"]
    responses = [
        r,
        api.get(f"/api/v1/track/{token}"),
        api.get(f"/track/{token}"),
        api.post("/api/v1/track", data={"reference": reference, "phone": planted["companion_phone"]}),
        api.post("/track", data={"reference": reference, "phone": planted["companion_phone"]}),
        post_request(api, data, headers={"Idempotency-Key": "pii-key-00001"}),  # duplicate, ineligible
        api.get("/request"),
        api.get("/info"),
    ]
    for resp in responses:
        assert resp.status_code in (200, 201), resp.text
        for secret in secrets_:
            assert secret not in resp.text
        for g in ("elderly", "lansia", "Lansia"):
            assert g not in resp.text or resp.request.url.path in ("/request", "/info")
    for secret in secrets_:
        assert secret not in caplog.text
    # send the acknowledgement through the log provider: still nothing personal in the logs
    from visits.notifications import LogProvider, send_pending

    with session_scope() as s:
        assert send_pending(s, LogProvider()).sent == 2
    for secret in secrets_:
        assert secret not in caplog.text
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("jemput"))
    assert "delivered" in ours and token not in ours  # the test client itself logs the URLs it calls


def test_lookup_by_reference_needs_the_phone(api) -> None:
    r = post_request(api, form())
    reference = r.json()["reference"]
    assert api.post("/api/v1/track", data={"reference": reference, "phone": "0812 3456 7890"}).status_code == 200
    assert api.post("/api/v1/track", data={"reference": reference.replace("-", "").lower(), "phone": "+62 812-3456-7890"}).status_code == 200
    assert api.post("/api/v1/track", data={"reference": reference, "phone": "0812 3456 7891"}).status_code == 404
    assert api.post("/api/v1/track", data={"reference": "AAAA-AAAA", "phone": "0812 3456 7890"}).status_code == 404
    page = api.post("/track", data={"reference": reference, "phone": "0812 0000 0000"})
    assert page.status_code == 404


def test_tracking_is_rate_limited(api, monkeypatch) -> None:
    monkeypatch.setattr(get_settings(), "track_rate_limit", 5)
    statuses = [api.get(f"/api/v1/track/{'x' * 43}").status_code for _ in range(7)]
    assert statuses == [404] * 5 + [429] * 2
    assert api.get("/track/" + "y" * 43).status_code == 429


def test_random_tokens_via_api_find_nothing(api, monkeypatch) -> None:
    import secrets

    monkeypatch.setattr(get_settings(), "track_rate_limit", 1000)
    post_request(api, form())
    for _ in range(200):
        assert api.get(f"/api/v1/track/{secrets.token_urlsafe(32)}").status_code == 404
