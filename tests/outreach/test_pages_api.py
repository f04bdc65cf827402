"""Outreach through the app: who may see the imported list (role tests), the audit of every read,
the imports' 422 naming rows, each call result and where it leads (phone intake, prefilled and
linked), referrals, the head's counts, the API in the OpenAPI and the retention purge."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func
from sqlmodel import select

from app.cli import main as jemput
from app.db import session_scope
from tests.app.helpers import bearer_headers, login_as
from tests.outreach.support import NOW, TZ, csv_of, nik_for, person, xlsx_of
from visits.intake.service_area import ensure_service_area
from visits.models import AuditLog, OutreachCall, OutreachResident, VisitRequest
from visits.outreach.queries import candidates

ELDER = date(1950, 3, 15)
ELDER_NIK = nik_for(ELDER, serial=901)
OLDEST = date(1938, 6, 1)
OLDEST_NIK = nik_for(OLDEST, "F", serial=902)
REFERRAL = {
    "nik": nik_for(date(1990, 5, 5), serial=903),
    "full_name": "Rudi ODGJ",
    "birth_date": "1990-05-05",
    "sex": "M",
    "street": "Jl. Kenanga 3",
    "rt": "4",
    "rw": "1",
    "kelurahan_code": "35.76.01.1003",
    "partner_kind": "puskesmas",
    "partner_name": "Puskesmas Mentikan",
    "group": "mental",
    "contact_name": "Bu Ani",
    "contact_phone": "081311112222",
    "note": "Datang pagi, ditemani kakak",
}


@pytest.fixture
def api(client, session):
    ensure_service_area(session)
    session.commit()
    return client


def _import(client, body: bytes, name: str = "list.csv", headers: dict | None = None):
    return client.post("/api/v1/outreach/imports", files={"file": (name, body)}, headers=headers or bearer_headers("operator"))


def _seed(client) -> dict[str, int]:
    r = _import(client, csv_of(person(ELDER, nik=ELDER_NIK, name="Pak Harjo"), person(OLDEST, "F", nik=OLDEST_NIK, name="Mbah Sumi")))
    assert r.status_code == 200, r.text
    with session_scope() as s:
        return {row.nik: row.id for row in s.exec(select(OutreachResident)).all()}  # type: ignore[misc]


def _audits(entity: str = "outreach_resident") -> list[AuditLog]:
    with session_scope() as s:
        return list(s.exec(select(AuditLog).where(AuditLog.entity == entity).order_by(AuditLog.id)).all())


# ---------------------------------------------------------------- imports


def test_an_api_import_with_a_bad_nik_names_the_row_and_stores_nothing(api) -> None:
    bad = person(ELDER, nik="3576019903500001")  # month 03, day 99: no such date
    r = _import(api, csv_of(person(OLDEST, "F"), bad))
    assert r.status_code == 422
    body = r.json()
    assert [(p["row"], p["field"], p["code"]) for p in body["problems"]] == [(3, "nik", "nik_invalid")]
    assert "3576019903500001" not in r.text  # the number is never echoed
    with session_scope() as s:
        assert s.exec(select(func.count()).select_from(OutreachResident)).one() == 0


def test_an_xlsx_reimport_updates_by_nik(api) -> None:
    ids = _seed(api)
    moved_street = person(ELDER, nik=ELDER_NIK, name="Pak Harjo", street="Jl. Baru 12")
    r = _import(api, xlsx_of(moved_street, person(OLDEST, "F", nik=OLDEST_NIK, name="Mbah Sumi")), "list.xlsx")
    assert r.json() == {"rows": 2, "added": 0, "updated": 2, "delisted": 0}
    with session_scope() as s:
        rows = {row.nik: row for row in s.exec(select(OutreachResident)).all()}
    assert {n: r.id for n, r in rows.items()} == ids and rows[ELDER_NIK].street == "Jl. Baru 12"


def test_the_page_import_names_bad_rows(api) -> None:
    staff = login_as(api, "operator")
    r = api.post("/operator/outreach/import", data={"csrf_token": staff.csrf_token}, files={"file": ("l.csv", csv_of(person(ELDER, phone="99")))})
    assert r.status_code == 422 and 'id="problems"' in r.text and "Baris 2, kolom phone" in r.text
    ok = api.post("/operator/outreach/import", data={"csrf_token": staff.csrf_token}, files={"file": ("l.csv", csv_of(person(ELDER)))}, follow_redirects=True)
    assert ok.status_code == 200 and 'id="import-done"' in ok.text


# ---------------------------------------------------------------- who sees the list, and the audit


def test_officer_and_head_cannot_see_the_imported_list(api) -> None:
    _seed(api)
    for role in ("officer", "head"):
        headers = bearer_headers(role)
        assert api.get("/api/v1/outreach/candidates", headers=headers).status_code == 403
        assert api.post("/api/v1/outreach/imports", files={"file": ("l.csv", b"x")}, headers=headers).status_code == 403
        login_as(api, role)
        page = api.get("/operator/outreach")
        assert page.status_code == 403 and "Pak Harjo" not in page.text
    assert _audits() == [a for a in _audits() if a.action == "import"]  # none of them read anything


def test_the_head_sees_counts_on_the_coverage_page_never_the_list(api) -> None:
    _seed(api)
    login_as(api, "head")
    page = api.get("/head")
    assert page.status_code == 200
    assert 'data-code="35.76.01.1003"' in page.text
    row = page.text.split('data-code="35.76.01.1003"', 1)[1].split("</tr>", 1)[0]
    assert 'data-field="still_to_reach">2<' in row
    city = page.text.split('data-code="city"', 1)[1].split("</tr>", 1)[0]
    assert 'data-field="still_to_reach">2<' in city
    for secret in ("Pak Harjo", "Mbah Sumi", ELDER_NIK, "Jl. Mawar"):
        assert secret not in page.text
    counts = api.get("/api/v1/outreach/counts", headers=bearer_headers("head")).json()
    assert {c["code"]: c["still_to_reach"] for c in counts} == {"35.76.01.1003": 2, "35.76.01": 2, "": 2}
    assert "full_name" not in str(counts)


def test_every_read_of_the_list_is_audited_per_resident(api) -> None:
    ids = _seed(api)
    staff = login_as(api, "operator")
    page = api.get("/operator/outreach?kelurahan=35.76.01.1003")
    assert page.status_code == 200 and "Pak Harjo" in page.text and "Mbah Sumi" in page.text
    reads = [a for a in _audits() if a.action == "list"]
    assert sorted(a.entity_id for a in reads) == sorted(ids.values()) and {a.user_id for a in reads} == {staff.user_id}
    assert {a.route for a in reads} == {"/operator/outreach"}
    body = api.get("/api/v1/outreach/candidates", params={"kelurahan_code": "35.76.01.1003"}, headers=bearer_headers("admin")).json()
    assert [c["full_name"] for c in body["candidates"]] == ["Mbah Sumi", "Pak Harjo"]  # the oldest first
    assert len([a for a in _audits() if a.action == "list"]) == 4
    assert ELDER_NIK not in str([(a.route, a.before, a.after) for a in _audits()])


# ---------------------------------------------------------------- the call list and each result


def _call(client, outreach_id: int, result: str):
    return client.post(f"/api/v1/outreach/candidates/{outreach_id}/calls", json={"result": result}, headers=bearer_headers("operator"))


def _state(outreach_id: int) -> tuple[str, int]:
    with session_scope() as s:
        row = s.get(OutreachResident, outreach_id)
        assert row is not None
        return row.state, row.attempts


def _listed() -> set[int]:
    with session_scope() as s:
        return {c.row.id for c in candidates(s, NOW, TZ)}  # type: ignore[misc]


@pytest.mark.parametrize("result", ["will_come", "refused", "moved", "deceased"])
def test_a_final_result_takes_the_candidate_off_the_list(api, result: str) -> None:
    ids = _seed(api)
    r = _call(api, ids[ELDER_NIK], result)
    assert r.status_code == 200 and (r.json()["state"], r.json()["next"], r.json()["intake_url"]) == (result, "closed", None)
    assert _listed() == {ids[OLDEST_NIK]}
    assert _call(api, ids[ELDER_NIK], "wants_visit").status_code == 409  # no longer on the call list
    with session_scope() as s:
        assert [c.result for c in s.exec(select(OutreachCall)).all()] == [result]


def test_not_reachable_keeps_the_candidate_until_the_last_attempt(api) -> None:
    ids = _seed(api)
    oid = ids[ELDER_NIK]
    for attempt in (1, 2):
        r = _call(api, oid, "not_reachable")
        assert (r.json()["next"], r.json()["attempts"]) == ("retry", attempt)
        assert oid in _listed()
    r = _call(api, oid, "not_reachable")  # JEMPUT_OUTREACH_MAX_ATTEMPTS = 3 by default
    assert (r.json()["state"], r.json()["next"], r.json()["attempts"]) == ("unreachable", "closed", 3)
    assert oid not in _listed()


def test_a_call_result_must_be_one_of_the_results(api) -> None:
    ids = _seed(api)
    assert _call(api, ids[ELDER_NIK], "maybe").status_code == 422
    staff = login_as(api, "operator")
    r = api.post(f"/operator/outreach/{ids[ELDER_NIK]}/call", data={"csrf_token": staff.csrf_token, "result": "maybe"})
    assert r.status_code == 422 and _state(ids[ELDER_NIK]) == ("open", 0)


def test_the_page_buttons_record_each_result_and_say_where_it_leads(api) -> None:
    ids = _seed(api)
    staff = login_as(api, "operator")
    page = api.get("/operator/outreach")
    assert page.text.count('name="result"') == 12 and "Naskah singkat" in page.text and "jemput bola" in page.text
    r = api.post(f"/operator/outreach/{ids[OLDEST_NIK]}/call", data={"csrf_token": staff.csrf_token, "result": "not_reachable"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/operator/outreach?kelurahan=35.76.01.1003&note=retry"
    r = api.post(f"/operator/outreach/{ids[OLDEST_NIK]}/call", data={"csrf_token": staff.csrf_token, "result": "refused"}, follow_redirects=False)
    assert r.headers["location"].endswith("note=refused") and _state(ids[OLDEST_NIK]) == ("refused", 1)
    r = api.post(f"/operator/outreach/{ids[ELDER_NIK]}/call", data={"csrf_token": staff.csrf_token, "result": "wants_visit"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/operator/intake?outreach={ids[ELDER_NIK]}"
    calls = [a.action for a in _audits() if a.action.startswith("call_")]
    assert calls == ["call_not_reachable", "call_refused", "call_wants_visit"]


def test_wants_a_visit_opens_phone_intake_prefilled_and_the_request_keeps_the_link(api) -> None:
    ids = _seed(api)
    oid = ids[ELDER_NIK]
    r = _call(api, oid, "wants_visit")
    assert (r.json()["state"], r.json()["next"], r.json()["intake_url"]) == ("wants_visit", "intake", f"/operator/intake?outreach={oid}")
    assert oid in _listed()  # until phone intake made the request
    staff = login_as(api, "operator")
    form = api.get(f"/operator/intake?outreach={oid}")
    assert form.status_code == 200
    for prefilled in (f'value="{ELDER_NIK}"', 'value="Pak Harjo"', 'value="1950-03-15"', 'value="Jl. Mawar 5"', f'name="outreach_id" value="{oid}"', 'value="+6281234567890"'):
        assert prefilled in form.text, prefilled
    assert [a.action for a in _audits() if a.entity_id == oid][-1] == "intake_prefill"
    data = {
        "csrf_token": staff.csrf_token,
        "outreach_id": str(oid),
        "nik": ELDER_NIK,
        "full_name": "Pak Harjo",
        "birth_date": "1950-03-15",
        "sex": "M",
        "marital_status": "married",
        "groups": ["elderly"],
        "kelurahan_code": "35.76.01.1003",
        "rt": "1",
        "rw": "2",
        "street": "Jl. Mawar 5",
        "kk_number": "3576010101150001",
        "kk_check_at_visit": "true",
        "companion_name": "Anak Harjo",
        "companion_phone": "081234567890",
        "companion_relation": "anak",
        "avail_1": "1",
        "avail_1_start": "09:00",
        "avail_1_end": "12:00",
        "consent": "true",
    }
    done = api.post("/operator/intake", data=data)
    assert done.status_code == 201, done.text
    with session_scope() as s:
        request = s.exec(select(VisitRequest)).one()
        row = s.get(OutreachResident, oid)
        assert row is not None and row.request_id == request.id
    assert oid not in _listed()  # it has an open request now
    counts = {c["code"]: c for c in api.get("/api/v1/outreach/counts", headers=bearer_headers("head")).json()}
    assert (counts["35.76.01.1003"]["still_to_reach"], counts["35.76.01.1003"]["wants_visit"]) == (1, 0)


def test_phone_intake_for_another_nik_keeps_no_link(api) -> None:
    ids = _seed(api)
    oid = ids[ELDER_NIK]
    _call(api, oid, "wants_visit")
    staff = login_as(api, "operator")
    other = nik_for(date(1949, 2, 2), serial=950)
    data = {
        "csrf_token": staff.csrf_token,
        "outreach_id": str(oid),
        "nik": other,
        "full_name": "Orang Lain",
        "birth_date": "1949-02-02",
        "sex": "M",
        "marital_status": "married",
        "groups": ["elderly"],
        "kelurahan_code": "35.76.01.1003",
        "rt": "1",
        "rw": "2",
        "street": "Jl. Mawar 7",
        "kk_number": "3576010101150001",
        "kk_check_at_visit": "true",
        "companion_name": "Anak",
        "companion_phone": "081234567890",
        "companion_relation": "anak",
        "avail_1": "1",
        "avail_1_start": "09:00",
        "avail_1_end": "12:00",
        "consent": "true",
    }
    assert api.post("/operator/intake", data=data).status_code == 201
    with session_scope() as s:
        row = s.get(OutreachResident, oid)
        assert row is not None and row.request_id is None


# ---------------------------------------------------------------- referrals


def test_a_referral_by_form_names_bad_fields_and_a_good_one_makes_a_candidate(api) -> None:
    staff = login_as(api, "operator")
    bad = REFERRAL | {"csrf_token": staff.csrf_token, "contact_phone": "12", "birth_date": "1990-05-06"}
    r = api.post("/operator/outreach/referrals", data=bad)
    assert r.status_code == 422 and 'href="#rf-contact_phone"' in r.text and 'href="#rf-birth_date"' in r.text
    with session_scope() as s:
        assert s.exec(select(func.count()).select_from(OutreachResident)).one() == 0
    ok = api.post("/operator/outreach/referrals", data=REFERRAL | {"csrf_token": staff.csrf_token}, follow_redirects=False)
    assert ok.status_code == 303
    body = api.get("/api/v1/outreach/candidates", headers=bearer_headers("operator")).json()["candidates"]
    assert len(body) == 1  # 36 years old, but referred
    c = body[0]
    assert (c["groups"], c["phone"], c["referrals"][0]["partner_kind"], c["referrals"][0]["note"]) == (["mental"], "+6281311112222", "puskesmas", "Datang pagi, ditemani kakak")
    page = api.get("/operator/outreach")
    assert "Rudi ODGJ" in page.text and "Puskesmas Mentikan" in page.text


def test_referrals_by_api_and_by_file_are_referred_first_on_the_list(api) -> None:
    _seed(api)
    headers = bearer_headers("operator")
    r = api.post("/api/v1/outreach/referrals", json=REFERRAL | {"partner_kind": "dinsos"}, headers=headers)
    assert r.status_code == 201, r.text
    assert api.post("/api/v1/outreach/referrals", json=REFERRAL | {"group": "teenager"}, headers=headers).status_code == 422
    header = "nik,full_name,birth_date,sex,street,rt,rw,kelurahan_code,partner_kind,partner_name,group,contact_name,contact_phone"
    home = [ELDER_NIK, "Pak Harjo", "1950-03-15", "M", "Jl. Mawar 5", "1", "2", "35.76.01.1003", "care_home", "Panti Werdha Kasih", "bedridden", "Pak Panti", "081399998888"]
    bad_kind = list(home)
    bad_kind[8] = "hospital"
    rejected = api.post("/api/v1/outreach/referrals/imports", files={"file": ("r.csv", csv_of(home, bad_kind, header=header))}, headers=headers)
    assert rejected.status_code == 422 and [(p["row"], p["field"]) for p in rejected.json()["problems"]] == [(3, "partner_kind")]
    assert api.post("/api/v1/outreach/referrals/imports", files={"file": ("r.csv", csv_of(home, header=header))}, headers=headers).json() == {"rows": 1}
    names = [c["full_name"] for c in api.get("/api/v1/outreach/candidates", headers=headers).json()["candidates"]]
    assert names == ["Pak Harjo", "Rudi ODGJ", "Mbah Sumi"]  # referred first (oldest first among them), then the oldest
    with session_scope() as s:
        assert s.exec(select(func.count()).select_from(OutreachResident)).one() == 3  # the referral of a listed NIK updated its row


# ---------------------------------------------------------------- API docs, retention


def test_the_outreach_api_is_in_the_openapi(api) -> None:
    paths = api.get("/openapi.json").json()["paths"]
    for path in (
        "/api/v1/outreach/imports",
        "/api/v1/outreach/referrals",
        "/api/v1/outreach/referrals/imports",
        "/api/v1/outreach/candidates",
        "/api/v1/outreach/candidates/{outreach_id}/calls",
        "/api/v1/outreach/counts",
    ):
        assert path in paths, path
    assert "multipart/form-data" in paths["/api/v1/outreach/imports"]["post"]["requestBody"]["content"]
    assert not any(p.startswith("/operator/outreach") for p in paths)


def test_purge_uploads_deletes_outreach_rows_past_retention(api, monkeypatch, capsys) -> None:
    ids = _seed(api)
    _call(api, ids[ELDER_NIK], "not_reachable")
    api.post("/api/v1/outreach/referrals", json=REFERRAL, headers=bearer_headers("operator"))
    with session_scope(write=True) as s:
        row = s.get(OutreachResident, ids[ELDER_NIK])
        assert row is not None
        row.delete_after = row.delete_after - timedelta(days=10_000)  # long past its retention
        s.add(row)
    assert jemput(["purge-uploads"]) == 0
    assert "outreach rows deleted after their retention period: 1" in capsys.readouterr().out
    with session_scope() as s:
        assert {r.nik for r in s.exec(select(OutreachResident)).all()} == {OLDEST_NIK, REFERRAL["nik"]}
        assert s.exec(select(func.count()).select_from(OutreachCall)).one() == 0
