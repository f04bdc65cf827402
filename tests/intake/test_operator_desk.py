"""Phone intake and the operator inbox: roles, CSRF, audit of every personal-data view."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlmodel import select

from app.db import session_scope
from tests.app.helpers import login_as
from tests.app.intake_support import post_request
from tests.conftest import NOW
from tests.intake.intake_fixtures import area, form, kk
from visits.models import AuditLog, VisitRequest


@pytest.fixture
def api(client, session):
    area(session)
    return client


def _phone_form(csrf: str, **kw) -> dict:
    data = {k: v for k, v in form(**kw).items() if k != "availability"}
    return data | {"csrf_token": csrf, "kk_check_at_visit": "true", "avail_1": "1", "avail_1_start": "09:00", "avail_1_end": "12:00"}


def _audit(action: str) -> list[AuditLog]:
    with session_scope() as s:
        return list(s.exec(select(AuditLog).where(AuditLog.action == action)).all())


def test_phone_intake_with_readback(api) -> None:
    staff = login_as(api, "operator")
    page = api.get("/operator/intake")
    assert page.status_code == 200 and staff.csrf_token in page.text and 'name="kk_check_at_visit"' in page.text
    r = api.post("/operator/intake", data=_phone_form(staff.csrf_token))
    assert r.status_code == 201, r.text
    with session_scope() as s:
        row = s.exec(select(VisitRequest)).one()
    assert (row.channel, row.status, row.kk_check_at_visit, row.created_by_id) == ("phone", "eligible", True, staff.user_id)
    assert row.reference in r.text and "Siti Rahayu" in r.text and "Jl. Mawar No. 5" in r.text
    created = _audit("create")
    assert len(created) == 1 and created[0].route == "/operator/intake" and created[0].resident_id == row.resident_id


def test_phone_intake_errors_name_fields(api) -> None:
    staff = login_as(api, "operator")
    r = api.post("/operator/intake", data=_phone_form(staff.csrf_token, companion_phone="123"))
    assert r.status_code == 422 and 'href="#f-companion_phone"' in r.text


def test_phone_intake_needs_csrf_and_role(api) -> None:
    staff = login_as(api, "operator")
    data = _phone_form(staff.csrf_token)
    data.pop("csrf_token")
    assert api.post("/operator/intake", data=data).status_code == 403
    login_as(api, "officer")
    assert api.get("/operator/intake").status_code == 403
    api.cookies.clear()
    assert api.get("/operator/intake", follow_redirects=False).status_code in (303, 401)


def test_inbox_sorted_filtered_and_overdue(api) -> None:
    a = post_request(api, form()).json()["reference"]
    b = post_request(api, form(nik="3576011403500002", birth_date="1950-03-14", sex="M", groups=["bedridden"], kelurahan_code="35.76.03.1002")).json()["reference"]
    with session_scope() as s:
        row = s.exec(select(VisitRequest).where(VisitRequest.reference == b)).one()
        row.status, row.first_answer_at, row.due_at = "needs_review", None, NOW - timedelta(hours=2)
        s.add(row)
    login_as(api, "operator")
    page = api.get("/operator/requests")
    assert page.status_code == 200
    assert page.text.index(b) < page.text.index(a)  # earliest due first
    assert page.text.count('class="badge overdue"') == 1
    assert b in api.get("/operator/requests?view=overdue").text and a not in api.get("/operator/requests?view=overdue").text
    assert b in api.get("/operator/requests?group=bedridden").text and a not in api.get("/operator/requests?group=bedridden").text
    with session_scope() as s:
        from visits.models import Kelurahan

        miji = s.exec(select(Kelurahan).where(Kelurahan.code == "35.76.03.1002")).one()
    filtered = api.get(f"/operator/requests?kelurahan={miji.id}").text
    assert b in filtered and a not in filtered
    login_as(api, "head")
    assert api.get("/operator/requests").status_code == 200


def test_detail_override_and_kk_view_are_audited(api) -> None:
    r = post_request(api, form(kk_number=kk(region="351601")))
    with session_scope() as s:
        row = s.exec(select(VisitRequest)).one()
    staff = login_as(api, "operator")
    page = api.get(f"/operator/requests/{row.id}")
    assert page.status_code == 200 and _outside_message() in page.text and "Siti Rahayu" in page.text
    assert "OUTSIDE_SERVICE_AREA" not in page.text.replace('value="OUTSIDE_SERVICE_AREA"', "")  # reasons are translated, not codes
    reads = _audit("read")
    assert len(reads) == 1 and reads[0].route == "/operator/requests/{request_id}" and reads[0].user_id == staff.user_id

    short = api.post(f"/operator/requests/{row.id}/override", data={"override_reason": "ok", "csrf_token": staff.csrf_token})
    assert short.status_code == 422 and _audit("override") == []
    done = api.post(
        f"/operator/requests/{row.id}/override",
        data={"override_reason": "KK pindahan baru, sudah dicek di SIAK: warga kota", "csrf_token": staff.csrf_token},
        follow_redirects=False,
    )
    assert done.status_code == 303
    with session_scope() as s:
        row = s.get(VisitRequest, row.id)
    assert row.status == "eligible" and row.overridden_by_id == staff.user_id and "SIAK" in row.override_reason
    assert len(_audit("override")) == 1
    assert api.get(f"/api/v1/track/{r.json()['tracking_token']}").json()["status"] == "eligible"

    kk_view = api.get(f"/operator/requests/{row.id}/kk")
    assert kk_view.status_code == 200 and kk_view.headers["content-type"] == "image/jpeg"
    assert kk_view.content.startswith(b"\xff\xd8\xff") and kk_view.headers["x-content-type-options"] == "nosniff"
    views = _audit("view_kk")
    assert len(views) == 1 and views[0].entity == "kk_document" and views[0].route == "/operator/requests/{request_id}/kk"


def test_head_reads_but_cannot_override_or_see_kk(api) -> None:
    post_request(api, form())
    with session_scope() as s:
        row = s.exec(select(VisitRequest)).one()
    head = login_as(api, "head")
    assert api.get(f"/operator/requests/{row.id}").status_code == 200
    assert api.get(f"/operator/requests/{row.id}/kk").status_code == 403
    assert api.post(f"/operator/requests/{row.id}/override", data={"override_reason": "x" * 20, "csrf_token": head.csrf_token}).status_code == 403


def test_anonymous_cannot_see_kk(api) -> None:
    post_request(api, form())
    with session_scope() as s:
        row = s.exec(select(VisitRequest)).one()
    r = api.get(f"/operator/requests/{row.id}/kk", follow_redirects=False)
    assert r.status_code in (303, 401) and not r.content.startswith(b"\xff\xd8")


def test_operator_declines_a_request_under_review(api) -> None:
    r = post_request(api, form(kk_check_at_visit="true"), file=None)
    assert r.json()["status"] == "needs_review"
    with session_scope() as s:
        row = s.exec(select(VisitRequest)).one()
    assert row.first_answer_at is None  # the clock runs until an operator answers
    staff = login_as(api, "operator")
    assert "/decline" in api.get(f"/operator/requests/{row.id}").text
    bad = api.post(f"/operator/requests/{row.id}/decline", data={"decline_code": "NOPE", "override_reason": "x" * 20, "csrf_token": staff.csrf_token})
    assert bad.status_code == 422
    done = api.post(
        f"/operator/requests/{row.id}/decline",
        data={"decline_code": "KK_MISSING", "override_reason": "Keluarga tidak punya KK, diminta urus KK dulu", "csrf_token": staff.csrf_token},
        follow_redirects=False,
    )
    assert done.status_code == 303
    track = api.get(f"/api/v1/track/{r.json()['tracking_token']}").json()
    assert track["status"] == "ineligible" and [x["code"] for x in track["reasons"]] == ["KK_MISSING"]
    assert "urus KK" not in json.dumps(track)  # the operator's note stays internal
    with session_scope() as s:
        assert s.get(VisitRequest, row.id).first_answer_at is not None
    assert len(_audit("decline")) == 1


def _submit(api, serial: int, **kw) -> str:
    from datetime import date

    from tests.intake.intake_fixtures import nik

    file = kw.pop("file", ("kk.jpg", b"", "image/jpeg"))
    r = post_request(api, form(nik=nik(date(1950, 3, 14), female=True, serial=serial), **kw), file=file)
    assert r.status_code == 201, r.text
    return r.json()["reference"]


def test_inbox_views(api) -> None:
    eligible = _submit(api, 1)
    review = _submit(api, 2, kk_check_at_visit="true", file=None)
    ineligible = _submit(api, 3, kk_number=kk(region="351601"))
    old = _submit(api, 4)  # eligible, received three days ago
    booked = _submit(api, 5)
    with session_scope() as s:
        for ref, changes in ((old, {"received_at": NOW - timedelta(days=3)}), (booked, {"status": "booked"})):
            row = s.exec(select(VisitRequest).where(VisitRequest.reference == ref)).one()
            for k, v in changes.items():
                setattr(row, k, v)
            s.add(row)
    login_as(api, "operator")

    def shown(view: str) -> set[str]:
        page = api.get(f"/operator/requests?view={view}")
        assert page.status_code == 200
        return {ref for ref in (eligible, review, ineligible, old, booked) if ref in page.text}

    assert shown("new") == {eligible, review, ineligible, booked}  # received in the last 24 hours
    assert shown("needs_review") == {review}
    assert shown("eligible") == {eligible, old}
    assert shown("ineligible") == {ineligible}
    assert shown("open") == {eligible, review, ineligible, old}  # still to be answered or decided
    assert shown("all") == {eligible, review, ineligible, old, booked}
    assert shown("nonsense") == shown("open")
    page = api.get("/operator/requests?view=eligible&group=bedridden").text
    assert eligible not in page and old not in page  # filters combine with the view


def test_outside_area_request_is_visible_to_the_operator(api) -> None:
    outside = _submit(api, 6, kelurahan_code="35.16.01.2001")
    login_as(api, "operator")
    assert outside in api.get("/operator/requests?view=ineligible").text
    with session_scope() as s:
        row = s.exec(select(VisitRequest).where(VisitRequest.reference == outside)).one()
    page = api.get(f"/operator/requests/{row.id}")
    assert page.status_code == 200 and "35.16.01.2001" in page.text and _outside_message() in page.text
    record = api.get(f"/api/v1/residents/{row.resident_id}")
    assert record.status_code == 200 and record.json()["kelurahan_id"] is None and record.json()["outside_kelurahan_code"] == "35.16.01.2001"


def _outside_message() -> str:
    from markupsafe import escape

    from visits.intake.eligibility import REASONS

    return str(escape(REASONS["OUTSIDE_SERVICE_AREA"].message("id")))
