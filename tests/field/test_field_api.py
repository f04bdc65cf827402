"""The officer's day through the real app: the route, outcomes and their next steps, idempotent
sync, conflicts, "on our way", proof of visit on the case page."""

from __future__ import annotations

import pytest
from sqlmodel import col, select

from app.db import session_scope
from tests.app.helpers import bearer_headers, login_as, make_user, set_clock
from tests.field.support import DAY, at, book_day, officer_of, outcome_body, request_row
from visits.booking import slots
from visits.models import AuditLog, Booking, BookingStatus, LocationSource, Notification, RequestStatus, Resident, SlotHold, Visit


def _day(client, staff, day=DAY):  # noqa: ANN001, ANN202
    return client.get("/api/v1/field/day", params={"date": day.isoformat()}, headers=staff.headers)


def _outcome(client, staff, booking_id: int, body: dict):  # noqa: ANN001, ANN202
    return client.post(f"/api/v1/field/visits/{booking_id}/outcome", json=body, headers=staff.headers)


@pytest.fixture
def day(client):  # noqa: ANN001, ANN201
    booked = book_day()
    set_clock(client, at(9, 0))
    return booked


# ---------------------------------------------------------------- the route


def test_the_route_lists_the_booked_visits_in_order_with_what_the_officer_needs(client, day) -> None:
    staff = officer_of(client, day.team_id)
    r = _day(client, staff)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["team"]["id"] == day.team_id and body["date"] == DAY.isoformat()
    assert [s["visit_id"] for s in body["stops"]] == day.bookings  # windows 09, 10, 13: only one order keeps them
    assert [s["position"] for s in body["stops"]] == [0, 1, 2]
    first = body["stops"][0]
    assert first["state"] == "planned" and first["outcome"] is None
    assert first["window_start"] == "09:00" and first["window_end"] == "10:00"
    assert "09:00" >= first["planned_arrival"] >= "08:00"
    assert first["resident_name"].startswith("Warga") and first["groups"] == ["elderly"] and first["group_labels"] == ["Lansia"]
    assert first["address"]["rt"] == "001" and first["address"]["rw"] == "002" and first["address"]["kelurahan"]
    assert first["companion"] == {"name": "Anak", "relation": "anak", "phone": "+6281234567890"}
    assert first["links"]["tel"] == "tel:+6281234567890"
    assert first["links"]["whatsapp"] == "https://wa.me/6281234567890"
    assert first["links"]["geo"].startswith("geo:-7.") and "openstreetmap.org" in first["links"]["maps"]
    assert body["estimated_end"] > "13:00" and body["breaks"] and body["breaks"][0]["start"] >= "11:30"
    assert body["office"]["lat"] < 0 and body["pending"] == 3
    # one audit row per resident shown
    with session_scope() as session:
        audited = session.exec(select(AuditLog).where(AuditLog.user_id == staff.user_id, AuditLog.route == "/api/v1/field/day")).all()
    assert sorted(a.entity_id for a in audited) == sorted(day.requests)


def test_a_tablet_reads_its_route_with_a_bearer_token(client, day) -> None:
    user = make_user("officer", team_id=day.team_id)
    r = client.get("/api/v1/field/day", params={"date": DAY.isoformat()}, headers=bearer_headers(user=user))
    assert r.status_code == 200 and len(r.json()["stops"]) == 3


def test_an_officer_sees_and_changes_only_their_own_team(client, day) -> None:
    other = officer_of(client, day.other_team_id)
    r = _day(client, other)
    assert r.status_code == 200 and r.json()["stops"] == []
    assert _outcome(client, other, day.bookings[0], outcome_body("recorded")).status_code == 404
    assert client.post(f"/api/v1/field/visits/{day.bookings[0]}/on-our-way", json={}, headers=other.headers).status_code == 404
    assert request_row(day.requests[0]).status == RequestStatus.BOOKED


@pytest.mark.parametrize("role", ["operator", "admin", "head"])
def test_other_roles_are_refused(client, day, role: str) -> None:
    staff = login_as(client, role)
    assert client.get("/api/v1/field/day", params={"date": DAY.isoformat()}, headers=staff.headers).status_code == 403
    assert _outcome(client, staff, day.bookings[0], outcome_body("recorded")).status_code == 403


# ---------------------------------------------------------------- outcomes and their next steps


def test_recorded_completes_the_request_and_refines_the_home_location(client, day) -> None:
    staff = officer_of(client, day.team_id)
    set_clock(client, at(9, 40))
    body = outcome_body("recorded", arrived=at(9, 10), lat=-7.4701, lon=112.4322, note="lancar")
    r = _outcome(client, staff, day.bookings[0], body)
    assert r.status_code == 200, r.text
    assert r.json() == {"visit_id": day.bookings[0], "outcome": "recorded", "next_step": "completed", "replayed": False}
    with session_scope() as session:
        booking = session.get(Booking, day.bookings[0])
        req = request_row(day.requests[0])
        resident = session.get(Resident, req.resident_id)
        visit = session.exec(select(Visit).where(Visit.booking_id == day.bookings[0])).one()
    assert booking.status == BookingStatus.DONE and req.status == RequestStatus.VISITED
    assert (resident.lat, resident.lon, resident.location_source) == (-7.4701, 112.4322, LocationSource.OFFICER_GPS)
    assert resident.ektp_recorded_at is not None
    assert visit.officer_id == staff.user_id and visit.arrived_at == at(9, 10) and (visit.gps_lat, visit.gps_lon) == (-7.4701, 112.4322)
    stops = _day(client, staff).json()["stops"]
    assert [(s["visit_id"], s["state"], s["outcome"]) for s in stops][0] == (day.bookings[0], "done", "recorded")
    assert [s["state"] for s in stops] == ["done", "planned", "planned"]


@pytest.mark.parametrize("outcome", ["not_home", "companion_absent", "unwell"])
def test_a_failed_visit_goes_back_to_the_family_with_new_offers(client, day, outcome: str) -> None:
    staff = officer_of(client, day.team_id)
    r = _outcome(client, staff, day.bookings[0], outcome_body(outcome))
    assert r.status_code == 200, r.text
    assert r.json()["next_step"] == "reoffered"
    req = request_row(day.requests[0])
    assert req.status == RequestStatus.OFFERED
    with session_scope() as session:
        messages = session.exec(select(Notification).where(Notification.request_id == req.id).order_by(col(Notification.id))).all()
        holds = session.exec(select(SlotHold).where(SlotHold.request_id == req.id, SlotHold.status == "held")).all()
        booking = session.get(Booking, day.bookings[0])
    assert [m.template for m in messages] == ["field_missed", "booking_offers"]
    assert holds and all(h.team_day_id != day.team_day_id for h in holds)  # new days, not today's
    assert booking.status == BookingStatus.DONE
    stops = _day(client, staff).json()["stops"]
    assert (stops[0]["visit_id"], stops[0]["state"], stops[0]["outcome"]) == (day.bookings[0], "failed", outcome)
    # the operator's chase list shows the family
    desk = login_as(client, "operator")
    page = client.get("/operator/chase", headers=desk.headers)
    assert page.status_code == 200 and req.reference in page.text


@pytest.mark.parametrize("outcome", ["refused", "wrong_address", "moved", "deceased", "already_recorded"])
def test_a_closing_outcome_closes_the_request_with_that_reason(client, day, outcome: str) -> None:
    staff = officer_of(client, day.team_id)
    r = _outcome(client, staff, day.bookings[1], outcome_body(outcome, arrived=at(10, 5)))
    assert r.status_code == 200, r.text
    assert r.json()["next_step"] == "closed"
    assert request_row(day.requests[1]).status == RequestStatus.CLOSED
    with session_scope() as session:
        assert session.exec(select(Visit.outcome).where(Visit.request_id == day.requests[1])).all() == [outcome]
        assert session.exec(select(SlotHold).where(SlotHold.request_id == day.requests[1])).all() == []


def test_an_unknown_outcome_or_a_finish_before_arrival_is_refused(client, day) -> None:
    staff = officer_of(client, day.team_id)
    assert _outcome(client, staff, day.bookings[0], outcome_body("unfit")).status_code == 422  # a legacy code
    bad = outcome_body("recorded", minutes=-5)
    r = _outcome(client, staff, day.bookings[0], bad)
    assert r.status_code == 422 and r.json()["field"] == "finished_at"
    assert request_row(day.requests[0]).status == RequestStatus.BOOKED


# ---------------------------------------------------------------- exactly once


def test_a_replayed_outcome_is_stored_once_and_a_changed_body_is_refused(client, day) -> None:
    staff = officer_of(client, day.team_id)
    body = outcome_body("not_home")
    first = _outcome(client, staff, day.bookings[0], body)
    again = _outcome(client, staff, day.bookings[0], body)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json() | {"replayed": True}
    changed = _outcome(client, staff, day.bookings[0], body | {"outcome": "refused"})
    assert changed.status_code == 422 and changed.json()["code"] == "client_id_reused"
    elsewhere = _outcome(client, staff, day.bookings[1], body)  # the same id for another visit
    assert elsewhere.status_code == 422 and elsewhere.json()["code"] == "client_id_reused"
    with session_scope() as session:
        assert len(session.exec(select(Visit)).all()) == 1
        offers = session.exec(select(Notification).where(Notification.request_id == day.requests[0], Notification.template == "booking_offers")).all()
    assert len(offers) == 1
    assert request_row(day.requests[1]).status == RequestStatus.BOOKED


def test_an_outcome_for_a_visit_cancelled_meanwhile_is_a_conflict(client, day) -> None:
    staff = officer_of(client, day.team_id)
    with session_scope() as session:
        slots.cancel(session, day.requests[2], at(8, 0), staff=True)
    r = _outcome(client, staff, day.bookings[2], outcome_body("recorded", arrived=at(13, 5)))
    assert r.status_code == 409 and r.json()["code"] == "visit_conflict"
    assert "dibatalkan" in r.json()["detail"]
    english = client.post(f"/api/v1/field/visits/{day.bookings[2]}/outcome", json=outcome_body("recorded"), headers=staff.headers | {"Accept-Language": "en"})
    assert english.status_code == 409 and "cancelled" in english.json()["detail"]
    with session_scope() as session:
        assert session.exec(select(Visit)).all() == []
    assert _day(client, staff).json()["stops"][-1]["state"] == "cancelled"


def test_a_second_outcome_for_the_same_visit_is_a_conflict(client, day) -> None:
    staff = officer_of(client, day.team_id)
    assert _outcome(client, staff, day.bookings[0], outcome_body("recorded")).status_code == 200
    r = _outcome(client, staff, day.bookings[0], outcome_body("not_home"))  # another tablet, another client id
    assert r.status_code == 409 and r.json()["code"] == "visit_conflict"


# ---------------------------------------------------------------- on our way


def test_on_our_way_is_sent_once_unless_sent_again(client, day) -> None:
    staff = officer_of(client, day.team_id)
    set_clock(client, at(8, 40))
    url = f"/api/v1/field/visits/{day.bookings[0]}/on-our-way"
    first = client.post(url, json={"lat": -7.4722, "lon": 112.4336}, headers=staff.headers)
    assert first.status_code == 200, first.text
    assert first.json()["sent"] is True and "08:40" <= first.json()["eta"] <= "09:10"
    second = client.post(url, json={}, headers=staff.headers)
    assert second.json()["sent"] is False
    third = client.post(url, json={"again": True}, headers=staff.headers)
    assert third.json()["sent"] is True
    with session_scope() as session:
        sent = session.exec(select(Notification).where(Notification.request_id == day.requests[0], Notification.template == "field_on_our_way")).all()
    assert len(sent) == 2 and first.json()["eta"] in sent[0].body


def test_on_our_way_without_a_position_uses_the_planned_arrival(client, day) -> None:
    staff = officer_of(client, day.team_id)
    set_clock(client, at(8, 0))
    stops = _day(client, staff).json()["stops"]
    r = client.post(f"/api/v1/field/visits/{day.bookings[2]}/on-our-way", json={}, headers=staff.headers)
    assert r.status_code == 200 and r.json() == {"sent": True, "eta": stops[2]["planned_arrival"]}


# ---------------------------------------------------------------- proof of visit


def test_the_case_page_shows_the_proof_of_visit(client, day) -> None:
    staff = officer_of(client, day.team_id)
    _outcome(client, staff, day.bookings[0], outcome_body("not_home", arrived=at(9, 12), lat=-7.47012, lon=112.43221))
    desk = login_as(client, "operator")
    page = client.get(f"/operator/requests/{day.requests[0]}", headers=desk.headers)
    assert page.status_code == 200
    assert "Bukti kunjungan" in page.text and "Tidak ada di rumah" in page.text
    assert "24-11-2026 09:12" in page.text and "-7.47012, 112.43221" in page.text and "Uji officer" in page.text


def test_kit_failure_puts_the_kit_out_of_service_and_moves_the_teams_bookings(client, day) -> None:
    staff = officer_of(client, day.team_id)
    r = _outcome(client, staff, day.bookings[0], outcome_body("kit_failure"))
    assert r.status_code == 200 and r.json()["next_step"] == "kit_out_of_service"
    with session_scope() as session:
        left = session.exec(select(Booking).where(Booking.team_day_id == day.team_day_id, Booking.status == BookingStatus.CONFIRMED)).all()
    assert left == []
    assert request_row(day.requests[0]).status == RequestStatus.OFFERED


def test_times_without_an_offset_are_the_offices_wall_clock_and_the_outcome_is_audited(client, day) -> None:
    staff = officer_of(client, day.team_id)
    body = outcome_body("recorded") | {"arrived_at": "2026-11-24T09:05:00", "finished_at": "2026-11-24T09:25:00"}
    r = _outcome(client, staff, day.bookings[0], body)
    assert r.status_code == 200, r.text
    with session_scope() as session:
        visit = session.exec(select(Visit)).one()
        audited = session.exec(select(AuditLog).where(AuditLog.user_id == staff.user_id, AuditLog.action == "visit_outcome")).all()
    assert visit.arrived_at == at(9, 5) and visit.finished_at == at(9, 25)
    assert [(a.entity_id, a.route) for a in audited] == [(day.requests[0], "/api/v1/field/visits/{visit_id}/outcome")]


def test_on_our_way_for_a_cancelled_visit_is_a_conflict_and_sends_nothing(client, day) -> None:
    staff = officer_of(client, day.team_id)
    with session_scope() as session:
        slots.cancel(session, day.requests[1], at(8, 0), staff=True)
    r = client.post(f"/api/v1/field/visits/{day.bookings[1]}/on-our-way", json={}, headers=staff.headers)
    assert r.status_code == 409 and r.json()["code"] == "visit_conflict"
    with session_scope() as session:
        assert session.exec(select(Notification).where(Notification.template == "field_on_our_way")).all() == []


def test_yesterdays_and_tomorrows_routes_are_one_request_away(client, day) -> None:
    staff = officer_of(client, day.team_id)
    set_clock(client, at(9, 0, day=DAY.replace(day=25)))  # the next day: Tuesday's visits are yesterday's
    yesterday = _day(client, staff, DAY).json()
    assert [s["state"] for s in yesterday["stops"]] == ["planned"] * 3  # unfinished: outcomes may still be synced
    assert _outcome(client, staff, day.bookings[0], outcome_body("recorded")).status_code == 200
    tomorrow = _day(client, staff, DAY.replace(day=26)).json()
    assert tomorrow["stops"] == [] and tomorrow["breaks"]


def test_the_openapi_lists_the_field_api_and_every_outcome(client) -> None:
    from visits.field.service import FIELD_OUTCOMES

    schema = client.get("/openapi.json").json()
    assert {"/api/v1/field/day", "/api/v1/field/visits/{visit_id}/outcome", "/api/v1/field/visits/{visit_id}/on-our-way", "/api/v1/field/late"} <= set(schema["paths"])
    assert set(schema["components"]["schemas"]["OutcomeIn"]["properties"]["outcome"]["enum"]) == set(FIELD_OUTCOMES)
