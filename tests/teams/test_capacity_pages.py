"""Capacity changes through the admin pages: the admin sees the affected bookings first, confirms,
and each one is moved or re-offered; added capacity is offerable at once; collective leave."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlmodel import select

from app.db import session_scope
from tests.app.helpers import login_as, set_clock
from tests.booking.invariants import assert_routes_keep_promises
from tests.booking.slot_support import NOW, make_request, setup_area
from visits.booking import slots
from visits.models import Booking, BookingStatus, CalendarOverride, OfficeClosure, RecordingKit, RequestStatus, Team, TeamDay, TeamMember, VisitRequest

from .support import POLICY, TRAVEL, WEDNESDAY, book_on, confirmed


@pytest.fixture
def admin(client):  # noqa: ANN001, ANN201
    with session_scope() as s:
        setup_area(s)
    return login_as(client, "admin")


def _post(client, admin, url, **data):  # noqa: ANN001, ANN003, ANN202
    return client.post(url, data={"csrf_token": admin.csrf_token, **data}, follow_redirects=False)


def _booked(team_name: str, hours=("08:00", "09:00", "10:00", "13:00", "14:00")) -> tuple[int, list[int], list[str]]:  # noqa: ANN001
    with session_scope() as s:
        bookings = book_on(s, team_name, WEDNESDAY, hours)
        team = s.exec(select(Team).where(Team.name == team_name)).one()
        refs = [s.get(VisitRequest, b.request_id).reference for b in bookings]
        return team.id, [b.id for b in bookings], refs


def test_a_team_closure_over_five_bookings_is_confirmed_then_moved(client, admin) -> None:
    team_id, booking_ids, refs = _booked("Tim 1")
    form = {"team_id": str(team_id), "start": WEDNESDAY.isoformat(), "end": "", "reason": "Rapat dinas"}
    shown = _post(client, admin, "/admin/closures", **form)
    assert shown.status_code == 200 and "5 kunjungan terjadwal" in shown.text
    assert all(ref in shown.text for ref in refs)
    with session_scope() as s:
        assert s.exec(select(OfficeClosure)).all() == []  # nothing saved before the confirmation
        assert len(confirmed(s)) == 5

    done = _post(client, admin, "/admin/closures", **form, confirm="1")
    assert done.status_code == 200 and all(ref in done.text for ref in refs) and "Dipindahkan ke Tim" in done.text
    with session_scope() as s:
        assert len(s.exec(select(OfficeClosure)).all()) == 1
        now_booked = confirmed(s)
        assert len(now_booked) == 5 and all(s.get(TeamDay, b.team_day_id).team_id != team_id for b in now_booked)
        assert {s.get(Booking, i).status for i in booking_ids} == {BookingStatus.RESCHEDULED}
        assert_routes_keep_promises(s, NOW, TRAVEL)
    day = client.get(f"/operator/bookings?date={WEDNESDAY.isoformat()}")
    assert all(ref in day.text for ref in refs) and "Tim 1" not in day.text
    rehomed = client.get("/admin/audit", params={"entity": "booking"}).text
    assert rehomed.count("<td>rehome_moved</td>") == 5


def test_an_office_closure_reoffers_and_the_chase_list_shows_them(client, admin) -> None:
    _, _, refs = _booked("Tim 1")
    form = {"team_id": "", "start": WEDNESDAY.isoformat(), "reason": "Kegiatan kantor"}
    assert "5 kunjungan" in _post(client, admin, "/admin/closures", **form).text
    client.cookies.set("lang", "en")
    assert "5 booked visits can no longer take place." in _post(client, admin, "/admin/closures", **form).text
    client.cookies.delete("lang")
    done = _post(client, admin, "/admin/closures", **form, confirm="1")
    assert done.status_code == 200 and done.text.count("keluarga ditawari") == 5
    with session_scope() as s:
        assert confirmed(s) == []
        assert {r.status for r in s.exec(select(VisitRequest)).all()} == {RequestStatus.OFFERED}
    chase = client.get("/operator/chase").text
    assert all(ref in chase for ref in refs)


def test_a_kit_outage_on_the_page_is_confirmed_then_rehomed(client, admin) -> None:
    team_id, _, refs = _booked("Tim 2", ("09:00", "10:00", "13:00"))
    with session_scope() as s:
        kit = s.exec(select(RecordingKit).where(RecordingKit.team_id == team_id)).one()
    form = {"code": kit.code, "team_id": str(team_id), "state": "out_of_service", "out_from": WEDNESDAY.isoformat(), "out_until": WEDNESDAY.isoformat(), "notes": ""}
    shown = _post(client, admin, f"/admin/kits/{kit.id}", **form)
    assert shown.status_code == 200 and all(ref in shown.text for ref in refs)
    done = _post(client, admin, f"/admin/kits/{kit.id}", **form, confirm="1")
    assert done.status_code == 200
    with session_scope() as s:
        assert len(confirmed(s)) == 3 and all(s.get(TeamDay, b.team_day_id).team_id != team_id for b in confirmed(s))
        assert_routes_keep_promises(s, NOW, TRAVEL)


def test_a_member_leaving_on_the_page_is_confirmed_then_rehomed(client, admin) -> None:
    team_id, _, refs = _booked("Tim 1", ("09:00", "13:00"))
    with session_scope() as s:
        s.get(Team, team_id).min_members = 2
        s.add(TeamMember(team_id=team_id, name="Petugas A"))
        leaving = TeamMember(team_id=team_id, name="Petugas B")
        s.add(leaving)
        s.flush()
        member_id = leaving.id
    shown = _post(client, admin, f"/admin/teams/{team_id}/members/{member_id}/leave", left_on=WEDNESDAY.isoformat())
    assert shown.status_code == 200 and all(ref in shown.text for ref in refs)
    with session_scope() as s:
        assert s.get(TeamMember, member_id).left_on is None
    _post(client, admin, f"/admin/teams/{team_id}/members/{member_id}/leave", left_on=WEDNESDAY.isoformat(), confirm="1")
    with session_scope() as s:
        assert s.get(TeamMember, member_id).left_on == WEDNESDAY
        assert len(confirmed(s)) == 2 and all(s.get(TeamDay, b.team_day_id).team_id != team_id for b in confirmed(s))
        assert_routes_keep_promises(s, NOW, TRAVEL)


def test_a_longer_shift_makes_a_new_slot_offerable_at_once(client, admin) -> None:
    late = [{"date": WEDNESDAY.isoformat(), "start": "15:00", "end": "17:00"}]
    with session_scope() as s:
        before = slots.make_offers(s, make_request(s, late).id, NOW, TRAVEL, POLICY)
        tim1 = s.exec(select(Team).where(Team.name == "Tim 1")).one()
    assert before.reason == "OUTSIDE_AVAILABILITY"
    r = _post(
        client, admin, "/admin/shifts", team_id=str(tim1.id), weekday=str(WEDNESDAY.weekday()), start_time="08:00", end_time="17:00", break_minutes="30", break_earliest="11:30", break_latest="12:30"
    )
    assert r.status_code == 303
    with session_scope() as s:
        after = slots.make_offers(s, make_request(s, late).id, NOW, TRAVEL, POLICY)
    assert after.reason is None and after.offers and all(o.day == WEDNESDAY and o.start.hour >= 15 for o in after.offers)


# ---------------------------------------------------------------- collective leave (cuti bersama)

CHRISTMAS_EVE = date(2026, 12, 24)  # a Thursday: "Christmas Joint Holiday" in the package's government category
MONDAY_BEFORE = datetime(2026, 12, 21, 9, 0, tzinfo=NOW.tzinfo)


def _offer_days(s, availability) -> set[date]:  # noqa: ANN001
    result = slots.make_offers(s, make_request(s, availability).id, MONDAY_BEFORE, TRAVEL, POLICY)
    return {o.day for o in result.offers}


def test_collective_leave_days_stop_offers_unless_the_office_overrides(client, admin) -> None:
    import holidays

    assert CHRISTMAS_EVE in holidays.country_holidays("ID", years=2026, categories=("government",))
    assert CHRISTMAS_EVE not in holidays.country_holidays("ID", years=2026)  # not a public holiday
    eve = [{"date": CHRISTMAS_EVE.isoformat(), "start": "08:00", "end": "12:00"}]
    with session_scope() as s:
        assert CHRISTMAS_EVE not in _offer_days(s, eve)
    set_clock(client, MONDAY_BEFORE)
    page = client.get("/admin/calendar")
    assert "Cuti bersama: Christmas Joint Holiday" in page.text
    r = _post(client, admin, "/admin/calendar/overrides", day=CHRISTMAS_EVE.isoformat(), reason="Layanan tetap buka")
    assert r.status_code == 303
    with session_scope() as s:
        assert s.exec(select(CalendarOverride)).one().day == CHRISTMAS_EVE
        assert CHRISTMAS_EVE in _offer_days(s, eve)
    assert "kantor tetap buka" in client.get("/admin/calendar").text
    bad = _post(client, admin, "/admin/calendar/overrides", day="2026-12-23")
    assert bad.status_code == 422 and "bukan cuti bersama" in bad.text


def test_without_the_setting_collective_leave_days_are_working_days(admin, monkeypatch) -> None:
    monkeypatch.setattr("visits.clock._collective_leave", False)
    with session_scope() as s:
        assert CHRISTMAS_EVE in _offer_days(s, [{"date": CHRISTMAS_EVE.isoformat(), "start": "08:00", "end": "12:00"}])


def test_the_setting_is_read_at_start_up(monkeypatch, db) -> None:
    from fastapi.testclient import TestClient

    from app.main import create_app
    from app.settings import get_settings
    from visits import clock

    monkeypatch.setenv("JEMPUT_COLLECTIVE_LEAVE", "false")
    get_settings.cache_clear()
    try:
        with TestClient(create_app()):
            assert clock.collective_leave_enabled() is False
    finally:
        get_settings.cache_clear()
        clock.set_collective_leave(True)


def test_deactivating_a_booked_team_is_confirmed_then_its_visits_move(client, admin) -> None:
    team_id, _, refs = _booked("Tim 2", ("09:00", "13:00"))
    shown = _post(client, admin, f"/admin/teams/{team_id}/deactivate")
    assert shown.status_code == 200 and all(ref in shown.text for ref in refs)
    with session_scope() as s:
        assert s.get(Team, team_id).active is True
    _post(client, admin, f"/admin/teams/{team_id}/deactivate", confirm="1")
    with session_scope() as s:
        assert s.get(Team, team_id).active is False
        assert len(confirmed(s)) == 2 and all(s.get(TeamDay, b.team_day_id).team_id != team_id for b in confirmed(s))
        assert_routes_keep_promises(s, NOW, TRAVEL)


def test_a_longer_service_time_rehomes_what_no_longer_fits(client, admin) -> None:
    _booked("Tim 1")
    form = {"minutes": "100", "required_skill": ""}
    shown = _post(client, admin, "/admin/rules/elderly", **form)
    assert shown.status_code == 200 and "Jam kerja tidak cukup" in shown.text
    done = _post(client, admin, "/admin/rules/elderly", **form, confirm="1")
    assert done.status_code == 200
    assert "Dipindahkan ke Tim" in done.text or "keluarga ditawari" in done.text
    with session_scope() as s:
        assert {b.service_minutes for b in confirmed(s)} == {100}  # the booked visits now plan with the new time
        assert 0 < len(confirmed(s)) and len(s.exec(select(Booking)).all()) > 5
        assert_routes_keep_promises(s, NOW, TRAVEL)
