"""Every staff page that shows a resident's personal data leaves an audit row naming the resident.

``PERSONAL`` lists the staff GET routes that render personal data (NIK, KK, address, phone, served
group): each must record who saw which resident. Every other staff GET route is in ``NOT_PERSONAL``
and must not render any of it. A new staff GET route fails ``test_every_staff_page_is_classified``
until it is put in one of the two tables.
"""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlmodel import delete, select

from app.db import session_scope
from tests.app.helpers import bearer_headers, make_user, session_for
from tests.app.intake_support import post_request
from tests.booking.slot_support import setup_area
from tests.intake.intake_fixtures import form, kk, nik
from tests.staff.test_roles import EXPECTED, GUARDED
from visits.models import AuditLog, Booking, BookingStatus, SlotHold, TeamDay, VisitRequest
from visits.planning.replan import wait_idle

ANY_WEEKDAY = json.dumps([{"weekday": d, "start": "08:00", "end": "14:00"} for d in range(5)])

# route -> (the URL, filled from the case; who is expected in the audit: "case", or "both" residents listed)
PERSONAL: dict[str, tuple[str, str]] = {
    "/operator/requests": ("/operator/requests?view=all", "both"),
    "/operator/requests/{request_id}": ("/operator/requests/{request_id}", "case"),
    "/operator/requests/{request_id}/kk": ("/operator/requests/{request_id}/kk", "case"),
    "/api/v1/residents/{resident_id}": ("/api/v1/residents/{resident_id}", "case"),
    # field (visits/field): the officer's route (an officer of the booked team reads it)
    "/api/v1/field/day": ("/api/v1/field/day?date={day}", "case"),
    "/field": ("/field?date={day}", "case"),  # the tablet page of the same route
    # the data subject's right of access: everything held about the resident
    "/api/v1/residents/{resident_id}/export": ("/api/v1/residents/{resident_id}/export", "case"),
    "/operator/requests/{request_id}/correct": ("/operator/requests/{request_id}/correct", "case"),  # the correction form shows the data
    # issue 12: the chase list has the companion and phone to call; the bookings page the addresses
    "/operator/chase": ("/operator/chase", "other"),
    "/operator/bookings": ("/operator/bookings?date={day}", "case"),
}
# references, times, team names and staff accounts only
NOT_PERSONAL: dict[str, str] = {
    "/staff": "/staff",
    "/api/v1/me": "/api/v1/me",
    "/admin/users": "/admin/users",
    "/operator/intake": "/operator/intake",
    "/api/v1/plans": "/api/v1/plans?date={day}",
    # administration (teams domain): teams, kits, hours, closures, calendar load, rules, the office, the trail (ids only)
    "/admin/teams": "/admin/teams",
    "/admin/teams/{team_id}": "/admin/teams/1",
    "/admin/kits": "/admin/kits",
    "/admin/kits/{kit_id}": "/admin/kits/1",
    "/admin/shifts": "/admin/shifts",
    "/admin/closures": "/admin/closures",
    "/admin/calendar": "/admin/calendar",
    "/admin/rules": "/admin/rules",
    "/admin/office": "/admin/office",
    "/admin/audit": "/admin/audit",
    # reporting: the head's dashboard, exports and report API hold aggregate figures only
    "/head": "/head",
    "/head/pipeline": "/head/pipeline?by=kelurahan",
    "/head/clock": "/head/clock",
    "/head/criteria": "/head/criteria",
    "/head/monthly": "/head/monthly",
    "/head/baseline": "/head/baseline",
    "/head/export/{table}.{fmt}": "/head/export/pipeline.csv?by=kelurahan",
    "/api/v1/reports/coverage": "/api/v1/reports/coverage",
    "/api/v1/reports/pipeline": "/api/v1/reports/pipeline?by=kelurahan",
    "/api/v1/reports/clock": "/api/v1/reports/clock",
    "/api/v1/reports/criteria": "/api/v1/reports/criteria",
}
# outreach (issue 13): the imported not-yet-recorded list is personal data of ``outreach_resident`` rows (not
# yet residents with a request): audited one row per outreach row shown, tested in
# tests/outreach/test_pages_api.py::test_every_read_of_the_list_is_audited_per_resident
PERSONAL_OUTREACH: frozenset[str] = frozenset({"/operator/outreach", "/api/v1/outreach/candidates"})
NOT_PERSONAL |= {
    "/operator/outreach/import": "/operator/outreach/import",  # the import forms only
    "/api/v1/outreach/counts": "/api/v1/outreach/counts",  # still to reach: counts per area
    "/operator/outreach/campaign": "/operator/outreach/campaign",  # a campaign's figures and counts per kelurahan
}
# a group visit's page lists its residents: the case's own request leads it here
PERSONAL["/operator/outreach/group-visits/{lead_request_id}"] = ("/operator/outreach/group-visits/{request_id}", "case")
HEAD_ONLY = ("/head", "/api/v1/reports")  # pages the operator may not open: read as the head


@pytest.fixture
def case(client, session) -> dict:
    """Two web requests with KK photos; the first booked by an operator (so plans, bookings and chase have rows)."""
    setup_area(session)
    session.commit()
    first = post_request(client, form(availability=ANY_WEEKDAY))
    second = post_request(client, form(nik=nik(date(1948, 5, 2), serial=2), full_name="Bambang Wijaya", kk_number=kk(serial=8), street="Gg. Kenanga 9", availability=ANY_WEEKDAY))
    assert first.status_code == second.status_code == 201, (first.text, second.text)
    with session_scope() as s:
        rows = s.exec(select(VisitRequest).order_by(VisitRequest.id)).all()
    request_id, resident_id, other_resident_id = rows[0].id, rows[0].resident_id, rows[1].resident_id
    operator = session_for("operator")
    client.post(f"/operator/requests/{request_id}/offers", headers=operator.headers)
    with session_scope() as s:
        offer_id = s.exec(select(SlotHold.offer_id).where(SlotHold.request_id == request_id)).first()
    assert offer_id, "no slot offered"
    r = client.post(f"/operator/requests/{request_id}/confirm", data={"offer_id": offer_id}, headers=operator.headers, follow_redirects=False)
    assert r.headers["location"].endswith("note=booked")
    with session_scope(write=True) as s:  # the second is offered times too (an operator decided it is eligible)
        s.get(VisitRequest, rows[1].id).status = "eligible"
    second_offer = client.post(f"/operator/requests/{rows[1].id}/offers", headers=operator.headers, follow_redirects=False)  # the second waits for the family (chase list)
    assert second_offer.headers.get("location", "").endswith("note=offers"), second_offer.status_code
    assert wait_idle(60)  # the booking's background re-plan writes too
    with session_scope() as s:
        booking = s.exec(select(Booking).where(Booking.status == BookingStatus.CONFIRMED)).one()
        day = s.get(TeamDay, booking.team_day_id).day
    with session_scope(write=True) as s:
        s.exec(delete(AuditLog))  # the setup's own trail is not what these tests look at
    return {
        "request_id": request_id,
        "resident_id": resident_id,
        "other_resident_id": other_resident_id,
        "day": day.isoformat(),
        "personal": [form()["nik"], "Siti Rahayu", "Jl. Mawar", "Bambang", "Gg. Kenanga", "81234567890", "0812 3456 7890", kk(), kk(serial=8)],
    }


def _officer_of_booked_team(case: dict) -> dict[str, str]:
    with session_scope() as s:
        booking = s.exec(select(Booking).where(Booking.status == BookingStatus.CONFIRMED)).one()
        team_id = s.get(TeamDay, booking.team_day_id).team_id
    return bearer_headers(user=make_user("officer", team_id=team_id))


def _officer_session_of_booked_team():  # noqa: ANN202 - a Staff
    from datetime import timedelta

    from tests.app.helpers import Staff
    from visits.staff.users import start_session

    with session_scope() as s:
        booking = s.exec(select(Booking).where(Booking.status == BookingStatus.CONFIRMED)).one()
        team_id = s.get(TeamDay, booking.team_day_id).team_id
    user = make_user("officer", team_id=team_id)
    with session_scope() as s:
        cookie, csrf = start_session(s, user, lifetime=timedelta(hours=1))
    return Staff(user.id, user.username, user.role, user.team_id, cookie, csrf)


def test_every_staff_page_is_classified() -> None:
    pages = {path for method, path in GUARDED if method == "GET"}
    assert not set(PERSONAL) & set(NOT_PERSONAL) and not PERSONAL_OUTREACH & (set(PERSONAL) | set(NOT_PERSONAL))
    classified = set(PERSONAL) | set(NOT_PERSONAL) | PERSONAL_OUTREACH
    assert pages == classified, {"unclassified": sorted(pages - classified), "gone": sorted(classified - pages)}


@pytest.mark.parametrize("path", sorted(PERSONAL))
def test_reading_personal_data_records_who_saw_which_resident(client, case, path: str) -> None:
    """For every role allowed on the page (one case, so the slow setup runs once per page)."""
    url, who = PERSONAL[path]
    expected = {"both": {case["resident_id"], case["other_resident_id"]}, "other": {case["other_resident_id"]}}.get(who, {case["resident_id"]})
    for role in sorted(EXPECTED[("GET", path)]):
        staff = _officer_session_of_booked_team() if role == "officer" else session_for(role)
        r = client.get(url.format(**case), headers=staff.headers)
        assert r.status_code == 200, (role, r.text[:300])
        with session_scope(write=True) as s:
            rows = s.exec(select(AuditLog).order_by(AuditLog.id)).all()
            s.exec(delete(AuditLog))
        assert {a.resident_id for a in rows} == expected, role
        assert all(a.user_id == staff.user_id and a.route == path for a in rows), [(role, a.user_id, a.route) for a in rows]
        stored = json.dumps([a.model_dump(mode="json") for a in rows])
        assert [p for p in case["personal"] if p in stored] == []  # the trail names residents by id only


def test_a_refused_read_records_nothing(client, case) -> None:
    officer = session_for("officer")
    for path, (url, _) in PERSONAL.items():
        if "officer" in EXPECTED[("GET", path)]:
            continue  # the officer's own route: refused to every other role
        assert client.get(url.format(**case), headers=officer.headers).status_code == 403, path
    with session_scope() as s:
        assert s.exec(select(AuditLog)).all() == []


def test_other_staff_pages_show_no_personal_data(client, case) -> None:
    with session_scope() as s:
        reference = s.get(VisitRequest, case["request_id"]).reference
    for path, url in sorted(NOT_PERSONAL.items()):
        role = "admin" if path.startswith("/admin/") else "head" if path.startswith(HEAD_ONLY) else "operator"
        r = client.get(url.format(**case), headers=session_for(role).headers)
        assert r.status_code == 200, (path, r.text[:300])
        assert [p for p in case["personal"] if p in r.text] == [], path
        if path in ("/api/v1/plans",):  # the booked visit is there, by reference only
            assert reference in r.text, path


def test_an_officer_sees_their_teams_plan_by_reference_only(client, case) -> None:
    r = client.get(f"/api/v1/plans?date={case['day']}", headers=_officer_of_booked_team(case))
    with session_scope() as s:
        reference = s.get(VisitRequest, case["request_id"]).reference
    assert r.status_code == 200 and reference in r.text
    assert [p for p in case["personal"] if p in r.text] == []
