"""The field officer's tablet page ``/field``: the day from the same domain query as the API, the
no-JavaScript outcome form, the service worker and Leaflet served locally; then in a real browser
(Debian Chromium via Playwright): offline outcomes, a reload without a connection, the sync exactly
once, the re-planned order, conflicts, logout and the end of the day clearing the device, nothing
leaving 127.0.0.1. Screenshots go to ``$JEMPUT_SCREENSHOT_DIR`` (default /tmp/jemput-screenshots)."""

from __future__ import annotations

import json
import os
import re
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from app.auth import SESSION_COOKIE
from app.db import session_scope
from app.deps import get_now
from tests.app.helpers import PASSWORD, Staff, make_user
from tests.browser import document_fits
from tests.field.page_support import DAY, TUESDAY_MORNING, book_day
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
    expected = day_route(session, day.team_id, DAY, client.app.dependency_overrides[get_now](), TravelService()).as_dict()
    assert [s["visit_id"] for s in expected["stops"]] == _stop_ids(html) and len(expected["stops"]) == 4
    first = expected["stops"][0]
    for text in (
        first["resident_name"],
        "Ketuk pintu samping",
        f"RT {first['address']['rt']}/RW {first['address']['rw']}",
        first["address"]["kelurahan"],
        first["companion"]["name"],
        "(anak)",
        first["window_start"] + "–" + first["window_end"],
        "Lansia",
    ):
        assert text in html, text
    assert 'href="tel:+6281234567890"' in html and 'href="https://wa.me/6281234567890"' in html
    geo = f"geo:{first['lat']:.6f},{first['lon']:.6f}?q={first['lat']:.6f},{first['lon']:.6f}"  # the field API's link: six decimals
    assert first["links"]["geo"] == geo and f'href="{geo}"' in html and f"openstreetmap.org/?mlat={first['lat']:.6f}&amp;mlon={first['lon']:.6f}" in html
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
    r = client.post(
        f"/field/visits/{day.booking_ids[0]}/outcome", data={"csrf_token": other.csrf_token, "client_id": str(uuid.uuid4()), "date": DAY.isoformat(), "outcome": "recorded"}, follow_redirects=False
    )
    assert r.status_code == 404


def test_the_outcome_form_works_without_javascript_and_once_per_client_id(client, session, day) -> None:
    officer = officer_of(client, day.team_id)
    target = day.booking_ids[1]
    form = {
        "csrf_token": officer.csrf_token,
        "client_id": str(uuid.uuid4()),
        "date": DAY.isoformat(),
        "outcome": "not_home",
        "arrived_at": "10:05",
        "finished_at": "10:15",
        "note": "Rumah kosong",
        "lat": "-7.47",
        "lon": "112.43",
    }
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
    assert r.status_code == 409 and "Kunjungan ini sudah dibatalkan. Hasil kunjungan tidak disimpan" in r.text  # the field service's conflict
    assert session.exec(select(Visit)).all() == []
    html = client.get("/field", params={"date": DAY.isoformat()}).text  # the day lists it last as cancelled, without personal data
    assert _stop_ids(html)[-1] == target and html.count('class="stop state-cancelled"') == 1 and html.count('class="outcome-form"') == 3
    assert day.names[0] not in html and 'href="None"' not in html


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


# ---------------------------------------------------------------- in a real browser

UUID4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
SHOTS = Path(os.environ.get("JEMPUT_SCREENSHOT_DIR", "/tmp/jemput-screenshots"))


def _dom_order(page) -> list[int]:  # noqa: ANN001
    return page.eval_on_selector_all("li.stop", "els => els.map(e => Number(e.dataset.visitId))")


def _login(page, url: str, username: str) -> None:  # noqa: ANN001
    page.goto(url + "/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/staff")


def _record(page, visit_id: int, outcome: str, arrived: str, finished: str, shot: Path | None = None) -> None:  # noqa: ANN001
    stop = page.locator(f"#visit-{visit_id}")
    select = stop.locator("select[name=outcome]")
    for _ in range(3):  # a tap can land during a layout shift (the previous stop folding away): tap again
        if select.is_visible():
            break
        stop.locator("details.outcome summary").click()
        try:
            select.wait_for(state="visible", timeout=3000)
        except Exception:  # noqa: BLE001 - retried
            continue
    stop.locator("select[name=outcome]").select_option(outcome)
    stop.locator("input[name=arrived_at]").fill(arrived)
    stop.locator("input[name=finished_at]").fill(finished)
    stop.locator("input[name=use_gps]").uncheck()  # no position: the permission is not granted in the test
    if shot:
        stop.screenshot(path=str(shot))
    stop.locator("button[type=submit]").click()
    stop.locator(".badge.queued:not([hidden])").wait_for()


@pytest.mark.slow
def test_offline_outcomes_survive_a_reload_and_sync_once(live, session) -> None:
    day = book_day(session)
    user = make_user("officer", team_id=day.team_id)
    live.app.dependency_overrides[get_now] = lambda: TUESDAY_MORNING  # the officer's Tuesday morning
    SHOTS.mkdir(parents=True, exist_ok=True)

    page = live.new_page(768, 1024, offline_capable=True)
    _login(page, live.url, user.username)
    page.click("a[href='/field']")  # the staff home links today's route
    page.wait_for_url("**/field")
    page.wait_for_selector("html[data-offline-ready='1']", timeout=15000)  # the service worker holds today and tomorrow
    before = _dom_order(page)
    assert sorted(before) == sorted(day.booking_ids)
    assert page.locator("#pending").inner_text() == "0 menunggu"
    assert page.locator(".leaflet-marker-icon.pin-stop").count() == 4 and page.locator(".leaflet-marker-icon.office").count() == 1
    assert page.locator("path.leaflet-interactive").count() == 1  # the route line, without tiles
    assert document_fits(page)
    page.screenshot(path=str(SHOTS / "field-768x1024.png"), full_page=False)

    page.context.set_offline(True)
    chosen = [(before[1], "recorded", "10:05", "10:30"), (before[2], "not_home", "13:05", "13:10"), (before[3], "refused", "14:02", "14:10")]
    for i, (visit_id, outcome, arrived, finished) in enumerate(chosen):
        _record(page, visit_id, outcome, arrived, finished, SHOTS / "field-outcome-form.png" if i == 0 else None)
    assert page.locator("#pending").inner_text() == "3 menunggu"
    assert page.locator("#net").inner_text() == "Luring"
    with session_scope() as s:
        assert s.exec(select(Visit)).all() == []  # nothing reached the server

    page.reload()  # still offline: the service worker answers
    page.wait_for_selector("#pending:has-text('3 menunggu')")
    assert sorted(_dom_order(page)) == sorted(day.booking_ids)
    assert page.locator("text=Ibu Sumiati 1").count() == 1
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(SHOTS / "field-768x1024-offline.png"))

    page.context.set_offline(False)
    page.wait_for_selector("#pending:has-text('0 menunggu')", timeout=15000)
    with session_scope() as s:
        stored = s.exec(select(Visit)).all()
        assert sorted(v.booking_id for v in stored) == sorted(v for v, *_ in chosen)
        assert len({v.client_uuid for v in stored}) == 3 and all(UUID4.fullmatch(v.client_uuid) for v in stored)  # made on the tablet
        recorded = next(v for v in stored if v.booking_id == before[1])
        assert (recorded.arrived_at.hour, recorded.arrived_at.minute, recorded.finished_at.hour, recorded.finished_at.minute) == (3, 5, 3, 30)  # 10:05-10:30 WIB
        assert {v.booking_id: v.outcome for v in stored} == {before[1]: "recorded", before[2]: "not_home", before[3]: "refused"}
        expected = [s_["visit_id"] for s_ in day_route(s, day.team_id, DAY, TUESDAY_MORNING, TravelService()).as_dict()["stops"]]
    assert expected != before
    page.wait_for_function("ids => JSON.stringify([...document.querySelectorAll('li.stop')].map(e => Number(e.dataset.visitId))) === JSON.stringify(ids)", arg=expected, timeout=15000)
    assert page.locator("li.stop.state-planned").count() == 1 and page.locator("form.outcome-form").count() == 1

    page.set_viewport_size({"width": 1024, "height": 768})
    page.evaluate("window.scrollTo(0, 0)")
    page.wait_for_timeout(500)  # the map redraws for the new size
    assert document_fits(page)
    page.screenshot(path=str(SHOTS / "field-1024x768.png"))

    # a visit cancelled by the office while the tablet was offline: the officer sees the conflict
    page.context.set_offline(True)
    _record(page, before[0], "recorded", "09:05", "09:30")
    with session_scope() as s:
        booking = s.get(Booking, before[0])
        booking.status = BookingStatus.CANCELLED
        s.add(booking)
    page.context.set_offline(False)
    page.wait_for_selector("#conflicts li.conflict", timeout=15000)
    assert "Kunjungan ini sudah dibatalkan. Hasil kunjungan tidak disimpan" in page.locator("#conflicts").inner_text()  # the API's 409 detail
    assert page.locator("#pending").inner_text() == "0 menunggu"
    # the cancelled visit left the route: the field API lists it last as cancelled, without personal data, pin or form
    page.wait_for_function(f"() => document.querySelectorAll('li.stop:not(.state-cancelled)').length === 3 && document.querySelector('li.stop.state-cancelled#visit-{before[0]}') !== null")
    gone = page.locator(f"#visit-{before[0]}")
    assert _dom_order(page)[-1] == before[0] and page.locator("li.stop").count() == 4
    assert "Sumiati" not in gone.inner_text() and "Budi" not in gone.inner_text() and gone.locator("form, a").count() == 0
    assert page.locator("form.outcome-form").count() == 0
    assert page.locator(".leaflet-marker-icon.pin-stop").count() == 3
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(SHOTS / "field-1024x768-conflict.png"))
    with session_scope() as s:
        assert len(s.exec(select(Visit)).all()) == 3

    # logging out clears the route copies and the IndexedDB of this device
    assert page.evaluate("caches.keys()") != []
    page.click("header form[action='/logout'] button")
    page.wait_for_url("**/login")
    assert [n for n in page.evaluate("caches.keys()") if "data" in n] == []
    assert page.evaluate("indexedDB.databases().then(ds => ds.map(d => d.name))") == []
    page.context.set_offline(True)
    page.goto(live.url + f"/field?date={DAY.isoformat()}")  # nothing personal is served from the device any more
    assert "Ibu Sumiati" not in page.content()
    assert live.outside == []


@pytest.mark.slow
def test_the_end_of_the_day_clears_the_route_from_the_device(live, session) -> None:
    day = book_day(session)
    user = make_user("officer", team_id=day.team_id)
    live.app.dependency_overrides[get_now] = lambda: TUESDAY_MORNING
    page = live.new_page(1024, 768, offline_capable=True)
    _login(page, live.url, user.username)
    page.goto(live.url + "/field")
    page.wait_for_selector("html[data-offline-ready='1']", timeout=15000)
    cached = page.evaluate("caches.open('jemput-field-data').then(c => c.keys()).then(ks => ks.map(k => new URL(k.url).pathname + new URL(k.url).search))")
    assert "/field" in cached and "/field?date=2026-11-25" in cached  # today (this page) and tomorrow
    assert "/api/v1/field/day?date=2026-11-24" in cached and "/api/v1/field/day?date=2026-11-25" in cached  # and their JSON from the field API
    # the device's clock passes the office's midnight (the worker's record of when today ends)
    page.evaluate("""caches.open('jemput-field-data').then(c => c.match('/field/__meta').then(r => r.json()).then(m =>
        c.put('/field/__meta', new Response(JSON.stringify(Object.assign(m, {ends_at: Date.now() - 1000}))))))""")
    page.context.set_offline(True)
    page.reload()
    html = page.content()
    assert "Ibu Sumiati" not in html  # Tuesday's residents are gone from the device
    assert "Rute · 25-11-2026" in html  # "today" is now Wednesday: its route, cached yesterday as tomorrow's, is what opens
    left = page.evaluate("caches.open('jemput-field-data').then(c => c.keys()).then(ks => ks.map(k => new URL(k.url).pathname + new URL(k.url).search))")
    assert sorted(left) == ["/api/v1/field/day?date=2026-11-25", "/field/__meta", "/field?date=2026-11-25"]  # only the new today's (Wednesday's) route and its JSON stay
    assert live.outside == []


@pytest.mark.slow
def test_on_our_way_and_running_late_use_the_field_api(live, session) -> None:
    """The buttons speak the field API contract (answered here by stand-ins: the API is the field-API branch's)."""
    day = book_day(session)
    user = make_user("officer", team_id=day.team_id)
    live.app.dependency_overrides[get_now] = lambda: TUESDAY_MORNING
    page = live.new_page(768, 1024)
    sent: list[tuple[str, dict]] = []
    answers = iter([{"sent": True, "eta": "09:20"}, {"sent": False, "eta": "09:20"}, {"sent": True, "eta": "09:25"}])

    def on_way(route) -> None:  # noqa: ANN001
        sent.append((route.request.url, json.loads(route.request.post_data or "{}")))
        route.fulfill(status=200, content_type="application/json", body=json.dumps(next(answers)))

    def late(route) -> None:  # noqa: ANN001
        sent.append((route.request.url, json.loads(route.request.post_data or "{}")))
        route.fulfill(status=200, content_type="application/json", body=json.dumps({"queued": True}))

    page.route("**/api/v1/field/visits/*/on-our-way", on_way)
    page.route("**/api/v1/field/late", late)
    _login(page, live.url, user.username)
    page.goto(live.url + "/field")
    first = _dom_order(page)[0]
    button = page.locator(f"#visit-{first} button.onway")
    note = page.locator(f"#visit-{first} .onway-note")
    button.click()
    note.filter(has_text="perkiraan tiba 09:20").wait_for()
    button.click()
    note.filter(has_text="sudah dikirim").wait_for()
    assert button.inner_text() == "Kirim lagi"
    button.click()
    note.filter(has_text="09:25").wait_for()
    assert [(u.rsplit("/", 2)[-2], b["again"]) for u, b in sent] == [(str(first), False), (str(first), False), (str(first), True)]
    page.select_option("#late-minutes", "30")
    page.click("#late-form button")
    page.locator("#late-note").filter(has_text="Terlambat 30 menit dilaporkan").wait_for()
    assert sent[-1][0].endswith("/api/v1/field/late") and sent[-1][1] == {"minutes": 30, "lat": None, "lon": None}
    page.screenshot(path=str(SHOTS / "field-768x1024-onway.png"))
    assert live.outside == []


@pytest.mark.slow
def test_an_outcome_queued_when_the_session_lapses_is_sent_after_the_next_login(live, session) -> None:
    from app.auth import SESSION_COOKIE
    from visits.staff.users import end_session

    day = book_day(session)
    user = make_user("officer", team_id=day.team_id)
    live.app.dependency_overrides[get_now] = lambda: TUESDAY_MORNING
    page = live.new_page(768, 1024, offline_capable=True)
    _login(page, live.url, user.username)
    page.goto(live.url + "/field")
    page.wait_for_selector("html[data-offline-ready='1']", timeout=15000)
    target = _dom_order(page)[0]
    page.context.set_offline(True)
    _record(page, target, "recorded", "09:05", "09:35")
    cookie = next(c["value"] for c in page.context.cookies() if c["name"] == SESSION_COOKIE)
    with session_scope() as s:
        end_session(s, cookie)  # the session ends on the server meanwhile (timeout, or an administrator)
    page.context.set_offline(False)
    page.locator("#sync-note").filter(has_text="masuk lagi").wait_for(timeout=15000)
    assert page.locator("#pending").inner_text() == "1 menunggu"
    with session_scope() as s:
        assert s.exec(select(Visit)).all() == []
    _login(page, live.url, user.username)
    page.goto(live.url + "/field")
    page.wait_for_selector("#pending:has-text('0 menunggu')", timeout=15000)
    with session_scope() as s:
        assert [v.booking_id for v in s.exec(select(Visit)).all()] == [target]
    assert live.outside == []
