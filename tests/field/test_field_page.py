"""The field officer's tablet page ``/field``: the day from the same domain query as the API, the
no-JavaScript outcome form, the service worker and Leaflet served locally."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from sqlmodel import select

from app.auth import SESSION_COOKIE
from app.db import session_scope
from app.deps import get_now
from tests.app.helpers import Staff, make_user
from tests.field.support import DAY, TUESDAY_MORNING, book_day
from visits.field.models import Visit
from visits.field.queries import day_route
from visits.models import AuditLog, Booking, BookingStatus
from visits.planning.travel import TravelService
from visits.staff.users import start_session


def officer_of(client, team_id: int) -> Staff:
    """Log ``client`` in as an officer of ``team_id``."""
    user = make_user("officer", team_id=team_id)
    with session_scope() as s:
        cookie, csrf = start_session(s, s.get(type(user), user.id), lifetime=timedelta(hours=1))
    client.cookies.set(SESSION_COOKIE, cookie)
    return Staff(user.id, user.username, "officer", team_id, cookie, csrf)


@pytest.fixture
def day(session):
    return book_day(session)


def _stop_ids(html: str) -> list[int]:
    return [int(x) for x in re.findall(r'<li class="stop [^"]*" id="visit-(\d+)"', html)]


def test_the_page_lists_the_day_in_the_order_of_the_domain_query(client, session, day) -> None:
    officer = officer_of(client, day.team_id)
    r = client.get("/field", params={"date": DAY.isoformat()})
    assert r.status_code == 200
    html = r.text
    expected = day_route(session, day.team_id, DAY, client.app.dependency_overrides[get_now](), TravelService())
    assert [s["visit_id"] for s in expected["stops"]] == _stop_ids(html) and len(expected["stops"]) == 4
    first = expected["stops"][0]
    for text in (first["resident_name"], "Ketuk pintu samping", f"RT {first['address']['rt']}/RW {first['address']['rw']}",
                 first["address"]["kelurahan"], first["companion"]["name"], "(anak)", first["window_start"] + "–" + first["window_end"], "Lansia"):
        assert text in html, text
    assert 'href="tel:+6281234567890"' in html and 'href="https://wa.me/6281234567890"' in html
    assert f'href="geo:{first["lat"]},{first["lon"]}?q={first["lat"]},{first["lon"]}"' in html and "openstreetmap.org/?mlat=" in html
    assert "4 kunjungan" in html and "istirahat 11:30–12:00" in html and "0 menunggu" in html
    assert f'href="/field?date={(DAY - timedelta(days=1)).isoformat()}"' in html and f'href="/field?date={(DAY + timedelta(days=1)).isoformat()}"' in html
    assert html.count('class="outcome-form"') == 4
    assert r.headers["cache-control"] == "private, no-cache"
    audited = session.exec(select(AuditLog).where(AuditLog.user_id == officer.user_id, AuditLog.route == "/field")).all()
    assert sorted(a.entity_id for a in audited) == sorted(day.booking_ids)


def test_the_page_speaks_english_when_asked(client, day) -> None:
    officer_of(client, day.team_id)
    client.cookies.set("lang", "en")
    html = client.get("/field", params={"date": DAY.isoformat()}).text
    assert "0 waiting" in html and "4 visits" in html and ">Call<" in html and "Record the outcome" in html and "Elderly" in html
    assert "menunggu" not in html


def test_the_default_day_is_today_by_the_app_clock(client, day) -> None:
    officer_of(client, day.team_id)
    assert _stop_ids(client.get("/field").text) == []  # the app's clock says Monday: nothing booked
    client.app.dependency_overrides[get_now] = lambda: TUESDAY_MORNING
    html = client.get("/field").text
    assert len(_stop_ids(html)) == 4 and '"date": "2026-11-24"' in html


def test_an_officer_sees_only_their_own_team(client, day) -> None:
    other = officer_of(client, make_user("officer").team_id)  # an officer of another (new) team
    html = client.get("/field", params={"date": DAY.isoformat()}).text
    assert _stop_ids(html) == [] and "Ibu Sumiati" not in html
    r = client.post(f"/field/visits/{day.booking_ids[0]}/outcome", data={"csrf_token": other.csrf_token, "client_id": str(uuid.uuid4()), "date": DAY.isoformat(), "outcome": "recorded"}, follow_redirects=False)
    assert r.status_code == 404


def test_the_outcome_form_works_without_javascript_and_once_per_client_id(client, session, day) -> None:
    officer = officer_of(client, day.team_id)
    target = day.booking_ids[1]
    form = {"csrf_token": officer.csrf_token, "client_id": str(uuid.uuid4()), "date": DAY.isoformat(), "outcome": "not_home",
            "arrived_at": "10:05", "finished_at": "10:15", "note": "Rumah kosong", "lat": "-7.47", "lon": "112.43"}
    r = client.post(f"/field/visits/{target}/outcome", data=form, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/field?date={DAY.isoformat()}&saved={target}#visit-{target}"
    again = client.post(f"/field/visits/{target}/outcome", data=form, follow_redirects=False)  # a double tap: the same rendered form
    assert again.status_code == 303
    visits = session.exec(select(Visit).where(Visit.booking_id == target)).all()
    assert len(visits) == 1
    v = visits[0]
    assert (v.notes, v.gps_lat, v.gps_lon, v.officer_id) == ("Rumah kosong", -7.47, 112.43, officer.user_id)
    assert v.arrived_at is not None and v.arrived_at.astimezone().utcoffset() is not None
    assert (v.arrived_at.hour, v.arrived_at.minute) == (3, 5)  # 10:05 WIB stored as UTC
    html = client.get(r.headers["location"]).text
    assert "Hasil kunjungan tersimpan" in html
    ids = _stop_ids(html)
    assert ids[0] == target and sorted(ids) == sorted(day.booking_ids)  # done first, then the planned ones
    assert html.count('class="outcome-form"') == 3 and "Tidak berhasil" in html


def test_the_form_refuses_a_missing_outcome_and_shows_a_conflict(client, session, day) -> None:
    officer = officer_of(client, day.team_id)
    target = day.booking_ids[0]
    base = {"csrf_token": officer.csrf_token, "client_id": str(uuid.uuid4()), "date": DAY.isoformat()}
    assert client.post(f"/field/visits/{target}/outcome", data=base).status_code == 422
    booking = session.get(Booking, target)
    booking.status = BookingStatus.CANCELLED
    session.add(booking)
    session.commit()
    r = client.post(f"/field/visits/{target}/outcome", data=base | {"outcome": "recorded"})
    assert r.status_code == 409 and "sudah dibatalkan atau dipindahkan" in r.text
    assert session.exec(select(Visit)).all() == []


def test_the_service_worker_and_leaflet_are_served_locally(client, day) -> None:
    sw = client.get("/field/sw.js")
    assert sw.status_code == 200 and sw.headers["service-worker-allowed"] == "/field" and "javascript" in sw.headers["content-type"]
    assert "Sumiati" not in sw.text
    for path in ("/static/vendor/leaflet/leaflet.js", "/static/vendor/leaflet/leaflet.css", "/static/field/field.js", "/static/field/field.css"):
        assert client.get(path).status_code == 200, path
    officer_of(client, day.team_id)
    html = client.get("/field", params={"date": DAY.isoformat()}).text
    loaded = re.findall(r'<(?:script|link|img)[^>]+(?:src|href)="([^"]+)"', html)
    assert loaded and all(u.startswith("/") for u in loaded), loaded


def test_the_map_uses_the_tile_setting(client, day, monkeypatch) -> None:
    from app.settings import get_settings

    officer_of(client, day.team_id)
    assert '"tile_url": ""' in client.get("/field", params={"date": DAY.isoformat()}).text
    monkeypatch.setenv("JEMPUT_MAP_TILE_URL", "http://127.0.0.1:9/tiles/{z}/{x}/{y}.png")
    get_settings.cache_clear()
    try:
        assert '"tile_url": "http://127.0.0.1:9/tiles/{z}/{x}/{y}.png"' in client.get("/field", params={"date": DAY.isoformat()}).text
    finally:
        monkeypatch.delenv("JEMPUT_MAP_TILE_URL")
        get_settings.cache_clear()


def test_today_links_yesterdays_unfinished_visits(client, day) -> None:
    officer_of(client, day.team_id)
    client.app.dependency_overrides[get_now] = lambda: TUESDAY_MORNING + timedelta(days=1)  # Wednesday: Tuesday's four are still open
    html = client.get("/field").text
    assert re.search(r'href="/field\?date=2026-11-24" id="link-yesterday">‹ Kemarin <span class="badge overdue">4 belum selesai</span>', html)
    assert _stop_ids(html) == []
    assert "belum selesai" not in client.get("/field", params={"date": "2026-11-26"}).text  # only today's page counts them
