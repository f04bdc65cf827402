"""Intake end to end through the real ASGI app: submit, track, validation, idempotency."""

from __future__ import annotations

import json
import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta

import pytest
from sqlmodel import select

from app.db import session_scope
from app.settings import get_settings
from tests.app.helpers import login_as
from tests.app.intake_support import counts, post_request
from tests.booking.slot_support import NOW
from tests.intake.intake_fixtures import PHONE_E164, area, form, jpeg_bytes, kk, multipart, nik
from visits.models import KkDocument, Notification, Resident, VisitRequest


@pytest.fixture
def api(client, session):
    area(session)
    return client


@pytest.fixture
def upload_dir(tmp_path, monkeypatch):
    """An empty upload directory of this test's own (the shared one keeps other tests' files)."""
    folder = tmp_path / "uploads"
    folder.mkdir()
    monkeypatch.setattr(type(get_settings()), "upload_dir", property(lambda self: folder))
    return folder


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
        # eligible: the decision alone is not the first answer, the slot offers are (the clock runs)
        assert row.first_answer_at is None and row.due_at > row.received_at
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
        ("kelurahan_code", "35.76.01.9999"),  # our region's prefix but no such kelurahan: a typing error
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
        ("availability", f'[{{"date": "{(NOW.date() + timedelta(days=120)).isoformat()}", "start": "08:00", "end": "12:00"}}]'),  # > 90 days ahead
        ("availability", f'[{{"date": "{(NOW.date() + timedelta(days=7)).isoformat()}", "start": "12:00", "end": "08:00"}}]'),  # ends before it starts
        ("consent", None),
        ("consent", "false"),
        ("consent_by", "neighbour"),
        ("kelurahan_letter", "maybe"),
        ("kk_check_at_visit", "maybe"),
        ("notes", "catatan " * 251),  # 2008 characters, the limit is 2000
        ("disability_type", "t" * 101),
        ("approach_notes", "Tenang bila didampingi\x07 anaknya"),  # a control character (BEL)
        ("idempotency_key", "short"),  # sent as the Idempotency-Key header
        ("idempotency_key", "spaces are not allowed in a key"),
    ],
)
def test_malformed_field_is_named_and_nothing_stored(api, field, value, upload_dir) -> None:
    before = counts()
    headers = {}
    if field == "idempotency_key":
        data, headers = form(), {"Idempotency-Key": value}
    else:
        data = form(**{field: value})
    if value is None:
        data.pop(field, None)
    r = post_request(api, data, headers=headers)  # with a valid KK image attached
    assert r.status_code == 422, r.text
    errors = r.json()["detail"]
    assert [e["field"] for e in errors] == [field]
    assert errors[0]["reason"] and (not isinstance(value, str) or len(value) < 4 or value not in errors[0]["reason"])
    assert counts() == before == {"VisitRequest": 0, "Resident": 0, "KkDocument": 0, "Notification": 0}
    assert list(upload_dir.iterdir()) == []  # no KK file was left behind either


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
    today = NOW.date()  # the app's clock in the tests
    birth = date(today.year - 16, 1, 10)
    r = post_request(api, form(nik=nik(birth), birth_date=birth.isoformat(), sex="M", marital_status="married", groups=["disabled"], disability_type="tunadaksa"))
    assert r.status_code == 201 and r.json()["eligible"] is True


def test_duplicate_open_request_reveals_nothing(api) -> None:
    first = post_request(api, form())
    second = post_request(api, form(companion_phone="0813 1111 2222", companion_name="Orang Lain"))
    assert second.status_code == 201
    body = second.json()
    assert body["reasons"] == [] and body["status"] == first.json()["status"]  # answered like a new request (no NIK oracle)
    text = json.dumps(body)
    assert first.json()["reference"] not in text and "Budi" not in text and "0812" not in text
    with session_scope() as s:
        rows = s.exec(select(VisitRequest)).all()
        assert len(rows) == 2 and len(s.exec(select(Resident)).all()) == 1
        assert rows[1].status == "needs_review" and rows[1].reasons == ["DUPLICATE_OPEN_REQUEST"]  # handled by an operator
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
    assert all(a.json()["eligible"] for a in answers)  # the public answer never tells a duplicate apart
    with session_scope() as s:
        statuses = sorted(r.status for r in s.exec(select(VisitRequest)).all())
    assert statuses == ["eligible"] + ["needs_review"] * 4  # one open request; the duplicates wait for an operator
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


def test_concurrent_returning_resident_one_open_request(api, monkeypatch) -> None:
    """The resident row exists and its last request is closed: the NIK unique constraint no longer
    guards the race, so the service must serialise submissions per NIK (a lock on PostgreSQL)."""
    import time

    import visits.intake.service as intake

    data = form()
    first = post_request(api, data)
    assert first.status_code == 201 and first.json()["eligible"] is True
    with session_scope() as s:
        row = s.exec(select(VisitRequest)).one()
        row.status = "closed"
        s.add(row)

    real_evaluate = intake.evaluate

    def slow_evaluate(*args, **kwargs):  # widen the gap between the duplicate check and the insert
        time.sleep(0.2)
        return real_evaluate(*args, **kwargs)

    monkeypatch.setattr(intake, "evaluate", slow_evaluate)

    def send(i: int):
        return api.post("/api/v1/requests", data=multipart(data), files={"kk_file": ("kk.jpg", jpeg_bytes(), "image/jpeg")}, headers={"Idempotency-Key": f"returning-key-{i:04d}"})

    with ThreadPoolExecutor(max_workers=5) as pool:
        answers = list(pool.map(send, range(5)))
    assert [a.status_code for a in answers] == [201] * 5, [a.text for a in answers]
    assert all(a.json()["eligible"] and a.json()["reasons"] == [] for a in answers)  # no NIK oracle
    with session_scope() as s:
        open_rows = s.exec(select(VisitRequest).where(VisitRequest.status.in_(["eligible", "received"]))).all()
        duplicates = s.exec(select(VisitRequest).where(VisitRequest.status == "needs_review")).all()
    assert len(open_rows) == 1 and counts()["Resident"] == 1
    assert len(duplicates) == 4 and all(r.reasons == ["DUPLICATE_OPEN_REQUEST"] for r in duplicates)


def test_kelurahan_outside_the_area_is_stored_ineligible(api, upload_dir) -> None:
    r = post_request(api, form(kelurahan_code="35.16.01.2001"))  # well-formed, in Kabupaten Mojokerto
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["status"], body["eligible"]) == ("ineligible", False)
    assert [x["code"] for x in body["reasons"]] == ["OUTSIDE_SERVICE_AREA"]
    assert "Dispendukcapil" in body["reasons"][0]["next_step"]  # referred to their own office
    with session_scope() as s:
        row = s.exec(select(VisitRequest)).one()
        resident = s.get(Resident, row.resident_id)
        doc = s.get(KkDocument, row.kk_document_id)
    assert (resident.kelurahan_id, resident.outside_kelurahan_code) == (None, "35.16.01.2001")
    assert (resident.lat, resident.lon, resident.location_source) == (None, None, None)  # no centroid to borrow
    assert row.reasons == ["OUTSIDE_SERVICE_AREA"] and row.first_answer_at == row.received_at  # the decision is the answer
    assert [p.name for p in upload_dir.iterdir()] == [doc.storage_name]
    track = api.get(f"/api/v1/track/{body['tracking_token']}").json()
    assert track["status"] == "ineligible" and [x["code"] for x in track["reasons"]] == ["OUTSIDE_SERVICE_AREA"]
    assert api.get(f"/track/{body['tracking_token']}").status_code == 200
    assert api.post(f"/api/v1/track/{body['tracking_token']}/offers").status_code == 409  # no slots for it

    # a map pin is kept as the location
    pinned = form(nik=nik(date(1950, 3, 14), female=True, serial=2), kelurahan_code="35.15.02.2003", lat="-7.40", lon="112.70")
    assert post_request(api, pinned).json()["reasons"][0]["code"] == "OUTSIDE_SERVICE_AREA"
    with session_scope() as s:
        other = s.exec(select(Resident).where(Resident.outside_kelurahan_code == "35.15.02.2003")).one()
    assert (other.lat, other.lon, other.location_source) == (-7.40, 112.70, "map_pin")

    # nobody can turn it into a visit: no team goes outside the area
    staff = login_as(api, "operator")
    refused = api.post(f"/operator/requests/{row.id}/override", data={"override_reason": "Keluarga bilang alamatnya dekat kota", "csrf_token": staff.csrf_token})
    assert refused.status_code == 409
    with session_scope() as s:
        assert s.get(VisitRequest, row.id).status == "ineligible"


def test_returning_resident_moving_out_of_the_area(api) -> None:
    assert post_request(api, form()).json()["eligible"] is True
    with session_scope() as s:
        row = s.exec(select(VisitRequest)).one()
        row.status = "visited"
        s.add(row)
    r = post_request(api, form(kelurahan_code="35.16.01.2001"))
    assert [x["code"] for x in r.json()["reasons"]] == ["OUTSIDE_SERVICE_AREA"]
    with session_scope() as s:
        resident = s.exec(select(Resident)).one()
    assert (resident.kelurahan_id, resident.outside_kelurahan_code, resident.lat) == (None, "35.16.01.2001", None)
    again = post_request(api, form())  # back in the city: the centroid again
    assert again.json()["eligible"] is True
    with session_scope() as s:
        resident = s.exec(select(Resident)).one()
    assert resident.kelurahan_id is not None and resident.outside_kelurahan_code is None and resident.location_source == "centroid"


def test_idempotent_retry_answers_the_first_answer_after_changes(api) -> None:
    staff = login_as(api, "operator")
    # ineligible, then an operator overrides it: a retry still gets the first answer
    headers = {"Idempotency-Key": "first-answer-key-01"}
    data = form(kk_number=kk(region="351601"))
    first = post_request(api, data, headers=headers)
    assert first.json()["status"] == "ineligible"
    with session_scope() as s:
        row = s.exec(select(VisitRequest)).one()
    done = api.post(f"/operator/requests/{row.id}/override", data={"override_reason": "KK pindahan, sudah dicek: warga kota", "csrf_token": staff.csrf_token}, follow_redirects=False)
    assert done.status_code == 303
    assert api.get(f"/api/v1/track/{first.json()['tracking_token']}").json()["status"] == "eligible"  # the status now
    again = post_request(api, data, headers=headers)
    assert again.status_code == 201 and again.json() == first.json()
    assert (again.json()["eligible"], [x["code"] for x in again.json()["reasons"]]) == (False, ["OUTSIDE_SERVICE_AREA"])

    # under review, then declined: the retry still says "under review", without the decline's reason
    headers = {"Idempotency-Key": "first-answer-key-02"}
    data = form(nik=nik(date(1950, 3, 14), female=True, serial=3), kk_check_at_visit="true")
    first = post_request(api, data, headers=headers, file=None)
    assert (first.json()["status"], first.json()["reasons"]) == ("needs_review", [])
    with session_scope() as s:
        row = s.exec(select(VisitRequest).where(VisitRequest.idempotency_key == "first-answer-key-02")).one()
    api.post(f"/operator/requests/{row.id}/decline", data={"decline_code": "KK_MISSING", "override_reason": "Keluarga belum punya KK sama sekali", "csrf_token": staff.csrf_token})
    assert api.get(f"/api/v1/track/{first.json()['tracking_token']}").json()["status"] == "ineligible"
    again = post_request(api, data, headers=headers, file=None)
    assert again.json() == first.json()
    assert counts()["VisitRequest"] == 2


GROUP_WORDS = ("disabled", "disability", "mental", "disabilitas", "odgj", "gangguan jiwa")


def test_served_groups_and_personal_data_not_in_public_responses_or_logs(api, caplog) -> None:
    """A disabled resident with a mental disorder: specific personal data (UU 27/2022)."""
    import re

    from visits.notifications import LogProvider, send_pending

    caplog.set_level(logging.DEBUG)
    birth = date(1980, 5, 9)
    planted = {
        "nik": nik(birth, serial=5151),
        "kk_number": kk(serial=6161),
        "street": "Gang Sunyi Nomor 12",
        "companion_phone": "0858 1122 3344",
        "disability_type": "tunanetra",
        "approach_notes": "Cemas dengan orang asing, ajak bicara pelan",
    }
    data = form(birth_date=birth.isoformat(), sex="M", marital_status="married", groups=["disabled", "mental"], **planted)
    secrets_ = [planted["nik"], planted["kk_number"], planted["street"], "85811223344", "0858 1122 3344", "tunanetra", "Cemas dengan orang asing"]

    # the family's HTML form first
    page_data = {k: v for k, v in data.items() if k != "availability"} | {"avail_0": "1", "avail_0_start": "08:00", "avail_0_end": "12:00", "idempotency_key": "groups-form-key-01"}
    page = api.post("/request", data=page_data, files={"kk_file": ("kk.jpg", jpeg_bytes(), "image/jpeg")})
    assert page.status_code == 201, page.text
    token = re.search(r"/track/([A-Za-z0-9_-]{32,})", page.text).group(1)
    reference = api.get(f"/api/v1/track/{token}").json()["reference"]
    about_the_request = [
        page,
        api.get(f"/api/v1/track/{token}"),
        api.get(f"/track/{token}"),
        api.post("/api/v1/track", data={"reference": reference, "phone": planted["companion_phone"]}),
        api.post("/track", data={"reference": reference, "phone": planted["companion_phone"]}),
        post_request(api, data, headers={"Idempotency-Key": "groups-api-key-01"}),  # a second request: duplicate
        post_request(api, data, headers={"Idempotency-Key": "groups-api-key-01"}),  # its retry
        api.post("/request", data=page_data, files={"kk_file": ("kk.jpg", jpeg_bytes(), "image/jpeg")}),  # the form resent
    ]
    general = [api.get("/request"), api.get("/info"), api.get("/info/flyer")]  # these describe the groups in general
    api.cookies.set("lang", "en")
    about_the_request += [api.get(f"/api/v1/track/{token}"), api.get(f"/track/{token}"), post_request(api, data, headers={"Idempotency-Key": "groups-api-key-01"})]
    general += [api.get("/info/flyer")]
    for resp in general[2:]:  # the words checked below are the ones the pages really use for these groups
        text = resp.text.lower()
        assert ("disabilitas" in text and "odgj" in text) or ("disability" in text and "mental" in text)
    for resp in about_the_request + general:
        assert resp.status_code in (200, 201), (resp.request.url.path, resp.text)
        for secret in secrets_:
            assert secret not in resp.text, (resp.request.url.path, secret)
    for resp in about_the_request:
        text = resp.text.lower()
        assert not [w for w in GROUP_WORDS if w in text], resp.request.url.path

    with session_scope() as s:
        acks = [n.body.lower() for n in s.exec(select(Notification)).all()]  # the SMS/WhatsApp texts
        assert len(acks) == 2 and not [w for w in GROUP_WORDS + tuple(x.lower() for x in secrets_) if any(w in a for a in acks)]
        assert send_pending(s, LogProvider()).sent == 2
    logged = caplog.text.lower()
    for secret in secrets_:
        assert secret.lower() not in logged
    assert not [w for w in GROUP_WORDS if w in logged]
    assert "delivered" in logged


def test_families_may_ask_to_be_booked_without_choosing(api) -> None:
    """accept_any_time (API field, a checkbox on the form) is what auto-booking acts on; off by default."""
    assert 'name="accept_any_time"' in api.get("/request").text
    keen = post_request(api, form(accept_any_time="true"))
    asks = post_request(api, form(nik=nik(date(1951, 4, 2), serial=2), kk_number=kk(8)))
    assert keen.status_code == asks.status_code == 201, (keen.text, asks.text)
    with session_scope() as s:
        chosen = {r.reference: r.accept_any_time for r in s.exec(select(VisitRequest)).all()}
    assert chosen == {keen.json()["reference"]: True, asks.json()["reference"]: False}
