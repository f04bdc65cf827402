"""GET /api/v1/plans through the real app: the day's routes, current, references only."""

from __future__ import annotations

import re

from sqlmodel import select

from app.db import get_engine, session_scope
from tests.app.helpers import bearer_headers, login_as, make_user
from tests.booking.slot_support import NOW, make_request, setup_area
from visits.booking import slots
from visits.models import Booking, BookingStatus, Resident, Team, TeamDay, VisitRequest
from visits.planning import replan
from visits.planning.travel import TravelService

TRAVEL = TravelService()
URL = "/api/v1/plans?date=2026-11-25"
HHMM = re.compile(r"^\d\d:\d\d$")


def book_wednesday(windows: list[tuple[str, str]]) -> None:
    with session_scope(write=True) as session:
        setup_area(session)
        for n, (start, end) in enumerate(windows):
            req = make_request(session, [{"weekday": 2, "start": start, "end": end}], offset=(0.002 * n, 0.001 * n))
            offers = slots.make_offers(session, req.id, NOW, TRAVEL)
            slots.confirm(session, req.id, offers.offers[0].offer_id, NOW, TRAVEL)


def booked() -> list[tuple[Booking, TeamDay, VisitRequest, Resident]]:
    with session_scope() as session:
        return list(
            session.exec(
                select(Booking, TeamDay, VisitRequest, Resident)
                .join(TeamDay, Booking.team_day_id == TeamDay.id)
                .join(VisitRequest, Booking.request_id == VisitRequest.id)
                .join(Resident, VisitRequest.resident_id == Resident.id)
                .where(Booking.status == BookingStatus.CONFIRMED)
            ).all()
        )


def check_shape(body: dict) -> None:
    assert set(body) == {"date", "version", "routes"}
    assert body["date"] == "2026-11-25" and isinstance(body["version"], int)
    for route in body["routes"]:
        assert {"team_id", "team_name", "stops"} <= set(route)
        for stop in route["stops"]:
            assert set(stop) == {"reference", "window_start", "window_end", "arrival", "start", "end"}
            for key in ("window_start", "window_end", "arrival", "start", "end"):
                assert HHMM.match(stop[key]), (key, stop[key])
            assert stop["window_start"] <= stop["start"] <= stop["window_end"]  # the promise is kept
            assert stop["arrival"] <= stop["start"] < stop["end"]


def test_the_days_routes_are_current_and_carry_references_only(client) -> None:
    book_wednesday([("08:00", "10:00"), ("10:00", "12:00"), ("12:00", "14:00")])
    login_as(client, "operator")
    r = client.get(URL)
    assert r.status_code == 200, r.text
    body = r.json()
    check_shape(body)
    rows = booked()
    assert sorted(s["reference"] for route in body["routes"] for s in route["stops"]) == sorted(req.reference for _, _, req, _ in rows)
    assert body["version"] == max(td.version for _, td, _, _ in rows)
    with session_scope() as session:
        working = {t.name for t in session.exec(select(Team)).all() if t.name.startswith("Tim ")}
    assert {route["team_name"] for route in body["routes"]} <= working
    for _, _, _req, resident in rows:  # no personal data
        assert resident.full_name not in r.text and resident.nik not in r.text and resident.street not in r.text
    assert all(route.get("source") == "computed" for route in body["routes"] if route["stops"])  # no plan stored yet

    # after a re-plan the stored plan is served, with the same promises
    team_days = {td.id for _, td, _, _ in rows}
    for tid in team_days:
        assert replan.replan_team_day(get_engine(), tid, TRAVEL, NOW, time_limit=0.5).written
    again = client.get(URL).json()
    check_shape(again)
    assert all(route.get("source") == "plan" for route in again["routes"] if route["stops"])
    assert sorted(s["reference"] for route in again["routes"] for s in route["stops"]) == sorted(req.reference for _, _, req, _ in rows)

    # a booking change makes the stored plan stale: the answer is computed again, never stale
    with session_scope(write=True) as session:
        first = session.exec(select(Booking).where(Booking.status == BookingStatus.CONFIRMED)).first()
        slots.cancel(session, first.request_id, NOW, staff=True)
    latest = client.get(URL).json()
    check_shape(latest)
    assert latest["version"] > again["version"]
    assert sum(len(route["stops"]) for route in latest["routes"]) == len(rows) - 1


def test_an_officer_sees_only_their_own_team(client) -> None:
    book_wednesday([("08:00", "10:00"), ("09:00", "11:00"), ("10:00", "12:00"), ("08:00", "12:00")])
    rows = booked()
    team_id = rows[0][1].team_id
    officer = make_user("officer", team_id=team_id)
    r = client.get(URL, headers=bearer_headers(user=officer))
    assert r.status_code == 200, r.text
    body = r.json()
    check_shape(body)
    assert [route["team_id"] for route in body["routes"]] == [team_id]
    mine = sorted(req.reference for _, td, req, _ in rows if td.team_id == team_id)
    assert sorted(s["reference"] for s in body["routes"][0]["stops"]) == mine
    head = client.get(URL, headers=bearer_headers("head")).json()
    assert len(head["routes"]) > 1 and len({r["team_id"] for r in head["routes"]}) == len(head["routes"])


def test_a_bad_date_is_refused_naming_the_field(client) -> None:
    login_as(client, "head")
    for url in ("/api/v1/plans?date=2026-13-45", "/api/v1/plans?date=besok", "/api/v1/plans"):
        r = client.get(url)
        assert r.status_code == 422, (url, r.text)
        assert [e["field"] for e in r.json()["detail"]] == ["date"]


def test_anonymous_callers_are_refused(client) -> None:
    r = client.get(URL)
    assert r.status_code == 401


def test_a_visit_confirmed_through_the_api_is_in_that_days_plan(client) -> None:
    """POST .../confirm, let the background re-plan land, GET /api/v1/plans: the stored plan has it."""
    from visits.intake.tracking import hash_token, new_token

    token = new_token()
    with session_scope(write=True) as session:
        setup_area(session)
        row = make_request(session, [{"weekday": d, "start": "08:00", "end": "14:00"} for d in range(5)])
        row.tracking_token_hash = hash_token(token)
        reference = row.reference
    offer = client.post(f"/api/v1/track/{token}/offers").json()["offers"][0]
    assert client.post(f"/api/v1/track/{token}/confirm", json={"offer_id": offer["offer_id"]}).status_code == 200
    assert replan.wait_idle(60)
    r = client.get(f"/api/v1/plans?date={offer['date']}", headers=bearer_headers("operator"))
    assert r.status_code == 200
    stops = [(route, stop) for route in r.json()["routes"] for stop in route["stops"] if stop["reference"] == reference]
    assert len(stops) == 1
    route, stop = stops[0]
    assert route["source"] == "plan"  # written by the background re-plan, not computed on the fly
    assert (stop["window_start"], stop["window_end"]) == (offer["start"], offer["end"])
    assert offer["start"] <= stop["start"] <= offer["end"] and stop["arrival"] <= stop["start"] < stop["end"]
