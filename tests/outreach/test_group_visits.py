"""Group visits: one booking at one address for several residents. Three residents take the summed
service time, give three outcomes and three coverage counts; the invariant checker still holds."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlmodel import select

from app.db import session_scope
from tests.app.helpers import bearer_headers, set_clock
from tests.booking.invariants import assert_routes_keep_promises
from tests.booking.slot_support import NOW, make_request, setup_area
from tests.field.support import WORKDAY, at, officer_of, outcome_body
from visits.booking import slots
from visits.errors import Conflict
from visits.models import Booking, BookingStatus, CoverageBaseline, CoverageBaselineRow, GroupMember, Kelurahan, Resident, ServiceRule, TeamDay, Visit, VisitRequest
from visits.planning.travel import TravelService
from visits.reporting.coverage import coverage_report

TRAVEL = TravelService()
TZ = "Asia/Jakarta"


def _minutes(group: str) -> int:
    with session_scope() as s:
        return s.exec(select(ServiceRule.minutes).where(ServiceRule.served_group == group)).one()


def _household(n: int = 3, groups: tuple[str, ...] = ()) -> list[int]:
    """``n`` eligible requests of residents living at one address (the first one's): request ids."""
    with session_scope() as s:
        setup_area(s)
        reqs = [make_request(s, WORKDAY, group=(groups[i] if i < len(groups) else "elderly")) for i in range(n)]
        home = s.get(Resident, reqs[0].resident_id)
        assert home is not None
        for r in reqs[1:]:
            res = s.get(Resident, r.resident_id)
            assert res is not None
            res.kelurahan_id, res.lat, res.lon, res.street, res.rt, res.rw = home.kelurahan_id, home.lat, home.lon, home.street.upper() + ".", home.rt, home.rw
            s.add(res)
        return [r.id for r in reqs]  # type: ignore[misc]


def _join(client, lead: int, member: int):  # noqa: ANN001, ANN202
    return client.post(f"/api/v1/outreach/group-visits/{lead}/members", json={"member_request_id": member}, headers=bearer_headers("operator"))


def _book(lead: int) -> Booking:
    with session_scope(write=True) as s:
        offers = slots.make_offers(s, lead, NOW, TRAVEL, staff=True)
        assert offers.offers, offers.reason
        return slots.confirm(s, lead, offers.offers[0].offer_id, NOW, TRAVEL, staff=True)


def _day_of(booking: Booking) -> tuple[date, int]:
    with session_scope() as s:
        td = s.get(TeamDay, booking.team_day_id)
        assert td is not None
        return td.day, td.team_id


def _status(*ids: int) -> list[str]:
    with session_scope() as s:
        return [s.get(VisitRequest, i).status for i in ids]  # type: ignore[union-attr]


def test_a_group_of_three_takes_the_summed_time_three_outcomes_and_three_coverage_counts(client) -> None:
    lead, a, b = _household(3)
    for member in (a, b):
        r = _join(client, lead, member)
        assert r.status_code == 200, r.text
    assert r.json() == {"lead_request_id": lead, "member_request_ids": [a, b], "service_minutes": None}
    booking = _book(lead)
    assert booking.service_minutes == 3 * _minutes("elderly")  # the sum per resident
    assert _status(lead, a, b) == ["booked"] * 3
    with session_scope() as s:
        assert len(s.exec(select(Booking).where(Booking.status == BookingStatus.CONFIRMED)).all()) == 1  # one stop
        assert_routes_keep_promises(s, NOW, TRAVEL)
        day, team_id = _day_of(booking)
        kel = s.get(Kelurahan, s.get(Resident, s.get(VisitRequest, lead).resident_id).kelurahan_id)  # type: ignore[union-attr]
        assert kel is not None
        baseline = CoverageBaseline(as_of=date(2026, 10, 31), source_name="t.csv", sha256="0" * 64, imported_at=NOW)
        s.add(baseline)
        s.flush()
        s.add(CoverageBaselineRow(baseline_id=baseline.id, kelurahan_id=kel.id, required=1000, recorded=900))  # type: ignore[arg-type]

    set_clock(client, at(9, 0, day=day))
    staff = officer_of(client, team_id)
    route = client.get("/api/v1/field/day", params={"date": day.isoformat()}, headers=staff.headers).json()
    [stop] = route["stops"]
    assert stop["visit_id"] == booking.id and [m["request_id"] for m in stop["group"]] == [a, b]

    start = at(booking.window_start.hour, booking.window_start.minute, day=day)
    first = client.post(f"/api/v1/field/visits/{booking.id}/outcome", json=outcome_body("recorded", arrived=start), headers=staff.headers)
    assert first.status_code == 200, first.text
    for i, member in enumerate((a, b), start=1):
        with session_scope() as s:
            assert s.get(Booking, booking.id).status == BookingStatus.CONFIRMED  # type: ignore[union-attr]  # others still to record
        body = outcome_body("recorded", arrived=start + timedelta(minutes=20 * i)) | {"request_id": member}
        r = client.post(f"/api/v1/field/visits/{booking.id}/outcome", json=body, headers=staff.headers)
        assert r.status_code == 200, r.text
    again = client.post(f"/api/v1/field/visits/{booking.id}/outcome", json=outcome_body("recorded", arrived=start) | {"request_id": a}, headers=staff.headers)
    assert again.status_code == 409
    with session_scope() as s:
        assert s.get(Booking, booking.id).status == BookingStatus.DONE  # type: ignore[union-attr]
        visits = s.exec(select(Visit).where(Visit.booking_id == booking.id)).all()
        assert sorted(v.request_id for v in visits) == sorted([lead, a, b]) and {v.outcome for v in visits} == {"recorded"}
        report = coverage_report(s, at(16, 0, day=day), TZ, 0.995)
    assert _status(lead, a, b) == ["visited"] * 3
    area = next(k for k in report.kelurahan if k.code == kel.code)
    assert (area.baseline_recorded, area.jemput_recorded, area.recorded) == (900, 3, 903)  # three coverage counts


def test_an_outcome_for_someone_not_in_the_visit_is_refused(client) -> None:
    lead, a, stranger = _household(3)
    _join(client, lead, a)
    booking = _book(lead)
    day, team_id = _day_of(booking)
    set_clock(client, at(9, 0, day=day))
    staff = officer_of(client, team_id)
    r = client.post(f"/api/v1/field/visits/{booking.id}/outcome", json=outcome_body("recorded", arrived=at(9, 5, day=day)) | {"request_id": stranger}, headers=staff.headers)
    assert r.status_code == 404


def test_a_member_not_recorded_leaves_the_group_and_gets_its_own_offers(client) -> None:
    lead, a = _household(2)
    _join(client, lead, a)
    booking = _book(lead)
    day, team_id = _day_of(booking)
    set_clock(client, at(9, 0, day=day))
    staff = officer_of(client, team_id)
    start = at(booking.window_start.hour, booking.window_start.minute, day=day)
    r = client.post(f"/api/v1/field/visits/{booking.id}/outcome", json=outcome_body("unwell", arrived=start) | {"request_id": a}, headers=staff.headers)
    assert r.status_code == 200 and r.json()["next_step"] == "reoffered"
    with session_scope() as s:
        assert s.exec(select(GroupMember)).all() == []
        assert s.get(Booking, booking.id).status == BookingStatus.CONFIRMED  # type: ignore[union-attr]  # the lead's outcome is still to come
    assert _status(a) == ["offered"]
    client.post(f"/api/v1/field/visits/{booking.id}/outcome", json=outcome_body("recorded", arrived=start + timedelta(minutes=30)), headers=staff.headers)
    with session_scope() as s:
        assert s.get(Booking, booking.id).status == BookingStatus.DONE  # type: ignore[union-attr]


def test_members_must_live_at_the_lead_address_and_need_no_other_skill(client) -> None:
    lead, a, odgj = _household(3, groups=("elderly", "elderly", "mental"))
    with session_scope(write=True) as s:
        res = s.get(Resident, s.get(VisitRequest, a).resident_id)  # type: ignore[union-attr]
        assert res is not None
        res.rt = "009"
        s.add(res)
    r = _join(client, lead, a)
    assert r.status_code == 422 and r.json()["field"] == "member_request_id"
    assert _join(client, lead, odgj).status_code == 422  # the ODGJ companion: make that resident the lead
    assert _join(client, odgj, lead).status_code == 200
    assert _join(client, lead, lead).status_code == 422
    with session_scope() as s:
        assert [(g.lead_request_id, g.member_request_id) for g in s.exec(select(GroupMember)).all()] == [(odgj, lead)]


def test_a_member_is_not_offered_slots_of_its_own(client) -> None:
    lead, a = _household(2)
    _join(client, lead, a)
    with session_scope(write=True) as s, pytest.raises(Conflict):
        slots.make_offers(s, a, NOW, TRAVEL, staff=True)
    assert _join(client, a, lead).status_code == 409  # already in a group


def test_a_booked_group_grows_only_when_the_longer_visit_still_fits(client) -> None:
    lead, a, b = _household(3, groups=("elderly", "elderly", "disabled"))
    booking = _book(lead)
    r = _join(client, lead, a)
    assert r.status_code == 200 and r.json()["service_minutes"] == 2 * _minutes("elderly")
    assert _status(a) == ["booked"]
    with session_scope(write=True) as s:
        rule = s.exec(select(ServiceRule).where(ServiceRule.served_group == "disabled")).one()
        rule.minutes = 600  # longer than any shift
        s.add(rule)
    assert _join(client, lead, b).status_code == 409
    with session_scope() as s:
        assert s.get(Booking, booking.id).service_minutes == 2 * _minutes("elderly")  # type: ignore[union-attr]
        assert [g.member_request_id for g in s.exec(select(GroupMember)).all()] == [a]
        assert_routes_keep_promises(s, NOW, TRAVEL)
    assert _status(b) == ["eligible"]


def test_cancelling_the_lead_frees_the_members_and_a_member_cancel_shortens_the_visit(client) -> None:
    lead, a, b = _household(3)
    _join(client, lead, a)
    _join(client, lead, b)
    booking = _book(lead)
    with session_scope(write=True) as s:
        slots.cancel(s, b, NOW, staff=True)
    with session_scope() as s:
        assert s.get(Booking, booking.id).service_minutes == 2 * _minutes("elderly")  # type: ignore[union-attr]
        assert_routes_keep_promises(s, NOW, TRAVEL)
    with session_scope(write=True) as s:
        slots.cancel(s, lead, NOW, staff=True)
    assert _status(lead, a, b) == ["cancelled", "eligible", "cancelled"]
    with session_scope() as s:
        assert s.exec(select(GroupMember)).all() == []


def test_the_field_page_lists_the_group_and_records_each_resident_without_javascript(client) -> None:
    lead, a = _household(2)
    _join(client, lead, a)
    booking = _book(lead)
    day, team_id = _day_of(booking)
    set_clock(client, at(9, 0, day=day))
    staff = officer_of(client, team_id)
    client.cookies.set("jemput_session", staff.cookie)
    page = client.get("/field", params={"date": day.isoformat()})
    assert page.status_code == 200 and f'data-group="{booking.id}"' in page.text
    assert 'name="request_id"' in page.text and f'<option value="{a}">' in page.text
    form = {"csrf_token": staff.csrf_token, "date": day.isoformat(), "outcome": "recorded", "arrived_at": "09:10", "finished_at": "09:30", "request_id": str(a)}
    r = client.post(f"/field/visits/{booking.id}/outcome", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text
    page = client.get("/field", params={"date": day.isoformat()})
    assert f'<option value="{a}">' not in page.text and 'name="request_id"' not in page.text  # the member is done: the lead's form is a plain one again
    with session_scope() as s:
        assert [(v.request_id, v.outcome) for v in s.exec(select(Visit).where(Visit.booking_id == booking.id)).all()] == [(a, "recorded")]
    assert _status(lead, a) == ["booked", "visited"]
