"""The data subject's rights (UU 27/2022 art. 5–13) besides access (test_resident_export.py):
correction (audited, validated as on intake), erasure on request (refused while a request is open),
and the retention job that anonymises closed requests while the head's figures stay the same."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlmodel import select

from app.cli import main as cli
from app.db import session_scope
from app.settings import get_settings
from tests.app.helpers import bearer_headers, login_as
from tests.app.intake_support import post_request
from tests.intake.intake_fixtures import area, form, kk, nik
from tests.reporting import support
from visits.intake.rights import anonymise_closed
from visits.intake.service import find_resident
from visits.models import AuditLog, KkDocument, Notification, RequestStatus, Resident, TrackingLink, VisitRequest

BIRTH = date(1950, 3, 14)
REASON = "Permintaan wali lewat telepon: salah ketik"


@pytest.fixture
def api(client, session):
    area(session)
    session.commit()
    return client


def _submit(api, serial: int = 1, **kw) -> tuple[VisitRequest, str]:  # noqa: ANN001
    r = post_request(api, form(nik=nik(BIRTH, female=True, serial=serial), **kw))
    assert r.status_code == 201
    with session_scope() as s:
        return s.exec(select(VisitRequest).where(VisitRequest.reference == r.json()["reference"])).one(), r.json()["tracking_token"]


def _state(request_id: int) -> tuple:
    with session_scope() as s:
        row = s.get(VisitRequest, request_id)
        res = s.get(Resident, row.resident_id)  # type: ignore[union-attr]
        return (res.nik, res.full_name, res.birth_date, res.street, res.rt, row.kk_number, row.companion_phone, row.notes, row.version)  # type: ignore[union-attr]


def test_an_operator_corrects_a_resident_and_the_audit_names_fields_not_values(api) -> None:
    row, _ = _submit(api)
    operator = bearer_headers("operator")
    url = f"/api/v1/requests/{row.id}/correction"
    changes = {"full_name": "Siti Rahayuningsih", "street": "Jl. Melati Koreksi 7", "rt": "4", "companion_phone": "0813 2222 3333", "kk_number": kk(serial=4321)}
    r = api.post(url, json={"reason": REASON, "changes": changes}, headers=operator)
    assert r.status_code == 200, r.text
    assert r.json()["fields"] == ["full_name", "street", "rt", "kk_number", "companion_phone"]
    corrected = _state(row.id)  # type: ignore[arg-type]
    assert corrected[1:7] == ("Siti Rahayuningsih", BIRTH, "Jl. Melati Koreksi 7", "004", kk(serial=4321), "+6281322223333")
    with session_scope() as s:
        [entry] = s.exec(select(AuditLog).where(AuditLog.action == "correct")).all()
        assert entry.resident_id == row.resident_id and entry.user_id is not None and entry.at is not None
        logged = json.loads(entry.after or "{}")
        assert logged["fields"] == r.json()["fields"] and logged["reason"] == REASON
        for value in ("Rahayuningsih", "Melati", "81322223333", kk(serial=4321)):
            assert value not in (entry.after or "") + (entry.before or "")

    # bad input: 422 naming every wrong field, nothing changed
    bad = api.post(url, json={"reason": REASON, "changes": {"birth_date": "2090-01-01", "companion_phone": "12", "full_name": "Ganti Nama"}}, headers=operator)
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["detail"]} == {"birth_date", "companion_phone"} and all(e["reason"] for e in bad.json()["detail"])
    assert _state(row.id) == corrected  # type: ignore[arg-type]
    for body, field in (
        ({"reason": "singkat", "changes": {"full_name": "Ganti Nama"}}, "reason"),
        ({"reason": REASON, "changes": {"status": "booked"}}, "status"),
        ({"reason": REASON, "changes": {"nik": "3576011234"}}, "nik"),
        ({"reason": REASON, "changes": {"birth_date": "1951-03-14"}}, "birth_date"),  # no longer matches the NIK
        ({"reason": REASON, "changes": {"full_name": None}}, "full_name"),
    ):
        r = api.post(url, json=body, headers=operator)
        assert r.status_code == 422 and field in {e["field"] for e in r.json()["detail"]}, (body, r.text)
    assert _state(row.id) == corrected  # type: ignore[arg-type]

    # the NIK: corrected with its hash (lookups find the new one); another resident's NIK is refused
    other, _ = _submit(api, serial=2)
    taken = api.post(url, json={"reason": REASON, "changes": {"nik": nik(BIRTH, female=True, serial=2)}}, headers=operator)
    assert taken.status_code == 409 and _state(row.id) == corrected  # type: ignore[arg-type]
    fixed = nik(BIRTH, female=True, serial=9)
    assert api.post(url, json={"reason": REASON, "changes": {"nik": fixed}}, headers=operator).json()["fields"] == ["nik"]
    with session_scope() as s:
        assert find_resident(s, fixed).id == row.resident_id  # type: ignore[union-attr]
        assert find_resident(s, nik(BIRTH, female=True, serial=1)) is None

    for role in ("head", "officer"):
        assert api.post(url, json={"reason": REASON, "changes": {"full_name": "Orang Lain"}}, headers=bearer_headers(role)).status_code == 403
    assert _state(row.id)[1] == "Siti Rahayuningsih"  # type: ignore[arg-type]


def test_the_correction_page(api) -> None:
    row, _ = _submit(api)
    staff = login_as(api, "operator")
    page = api.get(f"/operator/requests/{row.id}/correct")
    assert page.status_code == 200 and "Siti Rahayu" in page.text and 'name="reason"' in page.text
    assert f'href="/operator/requests/{row.id}/correct"' in api.get(f"/operator/requests/{row.id}").text
    before = _state(row.id)  # type: ignore[arg-type]
    fields = {
        "full_name": "Siti Rahayu Koreksi",
        "nik": nik(BIRTH, female=True),
        "birth_date": BIRTH.isoformat(),
        "sex": "F",
        "marital_status": "widowed",
        "street": "Jl. Mawar No. 5",
        "rt": "3",
        "rw": "2",
    }
    fields |= {"kk_number": kk(), "companion_name": "Budi Santoso", "companion_phone": "12", "companion_relation": "anak", "csrf_token": staff.csrf_token, "reason": REASON}
    bad = api.post(f"/operator/requests/{row.id}/correct", data=fields)
    assert bad.status_code == 422 and 'href="#f-companion_phone"' in bad.text and "Siti Rahayu Koreksi" in bad.text  # typed values kept
    assert _state(row.id) == before  # type: ignore[arg-type]
    good = api.post(f"/operator/requests/{row.id}/correct", data=fields | {"companion_phone": "0812 9999 1111"}, follow_redirects=False)
    assert good.status_code == 303
    assert _state(row.id)[1] == "Siti Rahayu Koreksi" and _state(row.id)[6] == "+6281299991111"  # type: ignore[arg-type]
    login_as(api, "head")
    assert api.get(f"/operator/requests/{row.id}/correct").status_code == 403


def test_erasure_is_refused_while_a_request_is_open_then_anonymises_everything(api) -> None:
    row, token = _submit(api, notes="Anjing galak di halaman")
    operator = bearer_headers("operator")
    url = f"/api/v1/residents/{row.resident_id}/erasure"
    open_ = api.post(url, json={"reason": REASON}, headers=operator)
    assert open_.status_code == 409 and _state(row.id)[0] == nik(BIRTH, female=True)  # type: ignore[arg-type]
    with session_scope() as s:  # the operator cancels it first (the booking flow's cancel); here: the status
        r = s.get(VisitRequest, row.id)
        r.status = RequestStatus.CANCELLED  # type: ignore[union-attr]
        s.add(r)
        s.add(TrackingLink(request_id=row.id, token_hash="f" * 64))  # type: ignore[arg-type]
        doc = s.get(KkDocument, r.kk_document_id)  # type: ignore[union-attr]
        stored = get_settings().upload_dir / doc.storage_name  # type: ignore[union-attr]
    assert stored.is_file()
    assert api.post(url, json={"reason": "x"}, headers=operator).status_code == 422
    for role in ("head", "officer"):
        assert api.post(url, json={"reason": REASON}, headers=bearer_headers(role)).status_code == 403
    assert _state(row.id)[0] == nik(BIRTH, female=True)  # type: ignore[arg-type]

    done = api.post(url, json={"reason": REASON}, headers=operator)
    assert done.status_code == 200 and done.json()["requests"] == [row.id] and done.json()["kk_files_deleted"] == 1
    with session_scope() as s:
        res = s.get(Resident, row.resident_id)
        req = s.get(VisitRequest, row.id)
        assert res is not None and req is not None
        assert (res.nik, res.nik_hash, res.full_name, res.street, res.rt, res.approach_notes) == (None, None, "", "", "", None)
        assert res.birth_date == date(1950, 1, 1) and res.group_elderly and res.kelurahan_id is not None and res.anonymised_at is not None  # kept: year, group, kelurahan
        assert (req.kk_number, req.companion_name, req.companion_phone, req.notes, req.availability) == (None, "", "", None, [])
        assert req.status == RequestStatus.CANCELLED and req.received_at is not None  # kept: status, dates
        assert s.exec(select(TrackingLink).where(TrackingLink.request_id == row.id)).all() == []
        assert all(m.recipient == "" and m.body == "" for m in s.exec(select(Notification).where(Notification.request_id == row.id)).all())
        assert s.get(KkDocument, req.kk_document_id).deleted_at is not None  # type: ignore[union-attr]
        assert find_resident(s, nik(BIRTH, female=True)) is None
        [entry] = s.exec(select(AuditLog).where(AuditLog.action == "anonymise", AuditLog.resident_id == row.resident_id)).all()
        assert json.loads(entry.after or "{}")["reason"] == REASON
    assert not stored.exists()
    assert api.get(f"/api/v1/track/{token}").status_code == 404  # the family's link opens nothing
    assert api.post(url, json={"reason": REASON}, headers=operator).status_code == 409  # once
    assert api.get(f"/api/v1/residents/{row.resident_id}", headers=operator).json()["nik"] is None
    assert api.get(f"/operator/requests/{row.id}", headers=operator).status_code == 200  # the case page still opens
    assert api.get(f"/operator/requests/{row.id}/correct", headers=operator).status_code == 200
    export = api.get(f"/api/v1/residents/{row.resident_id}/export", headers=operator).json()
    assert export["resident"]["nik"] is None and "Siti" not in json.dumps(export)
    # a new request from the same person later is a new resident
    assert post_request(api, form(nik=nik(BIRTH, female=True))).status_code == 201


def test_the_erasure_page_asks_for_confirmation(api) -> None:
    row, _ = _submit(api)
    staff = login_as(api, "operator")
    url = f"/operator/requests/{row.id}/erase"
    r = api.post(url, data={"csrf_token": staff.csrf_token, "erase_reason": REASON, "confirm": "yes"})
    assert r.status_code == 409 and ("batalkan dulu" in r.text or "cancel it first" in r.text)  # still open
    with session_scope() as s:
        req = s.get(VisitRequest, row.id)
        req.status = RequestStatus.INELIGIBLE  # type: ignore[union-attr]
        s.add(req)
    assert api.post(url, data={"csrf_token": staff.csrf_token, "erase_reason": REASON}).status_code == 422  # not confirmed
    assert _state(row.id)[0] is not None  # type: ignore[arg-type]
    assert api.post(url, data={"csrf_token": staff.csrf_token, "erase_reason": REASON, "confirm": "yes"}, follow_redirects=False).status_code == 303
    assert _state(row.id)[0] is None  # type: ignore[arg-type]


PERIOD = "start=2023-01-01&end=2026-11-23"
REPORTS = [
    "/api/v1/reports/coverage",
    *(f"/api/v1/reports/pipeline?{PERIOD}&by={by}" for by in ("total", "channel", "group", "kelurahan")),
    f"/api/v1/reports/clock?{PERIOD}",
    f"/api/v1/reports/criteria?{PERIOD}",
]


def test_the_retention_job_anonymises_old_closed_requests_and_keeps_the_figures(api, session) -> None:
    kel = list(support.area(session))
    old = support.NOW - timedelta(days=3 * 365)
    recent = support.NOW - timedelta(days=20)
    rows = {
        "old_visited": support.request(session, kel[0], old, status=RequestStatus.VISITED, answered_at=old + timedelta(hours=3), groups=("disabled",)),
        "old_cancelled": support.request(session, kel[1], old, status=RequestStatus.CANCELLED, answered_at=old + timedelta(hours=30), channel="phone"),
        "old_ineligible": support.request(session, None, old, status=RequestStatus.INELIGIBLE, answered_at=old, reasons=["OUTSIDE_SERVICE_AREA"]),
        "old_open": support.request(session, kel[2], old, status=RequestStatus.FAILED, answered_at=old + timedelta(hours=2)),
        "recent_closed": support.request(session, kel[0], recent, status=RequestStatus.VISITED, answered_at=recent + timedelta(hours=1)),
    }
    support.visit(session, rows["old_visited"], "recorded", old + timedelta(days=5))
    support.visit(session, rows["recent_closed"], "recorded", recent + timedelta(days=2))
    returning = support.request(session, kel[1], support.NOW - timedelta(days=3), status=RequestStatus.ELIGIBLE)  # the same resident asks again
    old_again = support.request(session, kel[1], old, status=RequestStatus.CLOSED, answered_at=old)
    old_again.resident_id = returning.resident_id
    for key, row in rows.items():
        row.updated_at = (old if key.startswith("old") else recent) + timedelta(days=6)
        session.add(row)
    old_again.updated_at = old + timedelta(days=6)
    session.add(old_again)
    session.commit()
    head = bearer_headers("head")
    before = [api.get(url, headers=head).json() for url in REPORTS]

    with session_scope(write=True) as s:
        done = anonymise_closed(s, retention_days=730, upload_dir=get_settings().upload_dir, now=support.NOW)
    expected = {rows["old_visited"].id, rows["old_cancelled"].id, rows["old_ineligible"].id, old_again.id}
    assert set(done.requests) == expected
    assert set(done.residents) == {rows["old_visited"].resident_id, rows["old_cancelled"].resident_id, rows["old_ineligible"].resident_id}  # not the returning one
    with session_scope() as s:
        for row in s.exec(select(VisitRequest)).all():
            assert (row.anonymised_at is not None) == (row.id in expected)
            assert (row.kk_number is None) == (row.id in expected) and (row.companion_phone == "") == (row.id in expected)
        returning_resident = s.get(Resident, returning.resident_id)
        assert returning_resident is not None and returning_resident.nik is not None and returning_resident.anonymised_at is None
        assert len(s.exec(select(AuditLog).where(AuditLog.action == "anonymise", AuditLog.route == "jemput anonymise-closed")).all()) == 4
    after = [api.get(url, headers=head).json() for url in REPORTS]
    assert after == before
    assert before[1] != api.get("/api/v1/reports/pipeline?start=2026-11-22&end=2026-11-23&by=total", headers=head).json()  # the period really holds the old requests
    assert cli(["anonymise-closed"]) == 0  # the command runs (nothing past the default retention is left)


def test_the_export_covers_visits_surveys_and_the_card(api, session) -> None:
    kel = list(support.area(session))
    row = support.request(session, kel[0], support.NOW - timedelta(days=9), status=RequestStatus.VISITED)
    v = support.visit(session, row, "recorded", support.NOW - timedelta(days=2))
    v.notes, v.gps_lat, v.gps_lon = "Rumah pagar hijau", -7.47, 112.43
    session.add(v)
    session.commit()
    body = api.get(f"/api/v1/residents/{row.resident_id}/export", headers=bearer_headers("operator")).json()
    [request] = body["requests"]
    [visit] = request["visits"]
    assert visit["notes"] == "Rumah pagar hijau" and visit["gps_lat"] == -7.47 and "client_uuid" not in visit and "body_hash" not in visit
    assert request["surveys"] == [] and request["card"] is None and "nik_hash" not in body["resident"]
