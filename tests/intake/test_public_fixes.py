"""The family's and the desk's pages as people use them (issue 12), without a browser: the
tracking budget counts only failed lookups, unknown addresses answer a page in the user's
language, the icon exists, the docs use local assets, the staff home's buttons are labelled,
the chase list has someone to call and the bookings page shows where to go."""

from __future__ import annotations

import re

from sqlmodel import select

from app.db import session_scope
from app.settings import get_settings
from tests.app.helpers import login_as
from tests.conftest import NOW
from visits.intake.tracking import hash_token, new_reference, new_token
from visits.models import AuditLog, Channel, Notification, RequestStatus, SlotHold, VisitRequest

WEEKDAYS = [{"weekday": d, "start": "08:00", "end": "14:00"} for d in range(5)]


def _request(channel: str = Channel.WEB) -> tuple[int, str, str]:
    from tests.booking.slot_support import make_request, setup_area

    token = new_token()
    with session_scope(write=True) as s:
        setup_area(s)
        row = make_request(s, WEEKDAYS, channel=channel)
        row.tracking_token_hash = hash_token(token)
        row.reference = new_reference()
        s.flush()
        return row.id, token, row.reference  # type: ignore[return-value]


def _services():  # noqa: ANN202
    from app.deps import office_info, slot_policy, travel_times

    return travel_times(), slot_policy(), office_info()


# ---------------------------------------------------------------- (7) the tracking budget


def _one_window(monkeypatch) -> None:
    """Every hit in the same rate-limit window (the test must not straddle a minute boundary)."""
    import visits.staff.ratelimit as ratelimit

    monkeypatch.setattr(ratelimit, "utcnow", lambda: NOW)


def test_valid_token_views_never_hit_the_limit_unknown_tokens_do(client, monkeypatch) -> None:
    """60 views in a minute from one address with a valid token: never 429 (the budget is 20);
    30 unknown tokens from that address: 429 once the budget is spent."""
    _one_window(monkeypatch)
    _id, token, _ref = _request()
    assert get_settings().track_rate_limit == 20 and get_settings().track_rate_window_seconds == 60
    views = [client.get(f"/track/{token}").status_code for _ in range(60)]
    assert views == [200] * 60
    assert [client.get(f"/api/v1/track/{token}").status_code for _ in range(5)] == [200] * 5
    unknown = [client.get(f"/track/{new_token()}").status_code for _ in range(30)]
    assert unknown[:20] == [404] * 20 and set(unknown[20:]) == {429}
    # the family's own page still opens (and acts) for the valid token: their budget was not shared
    assert client.get(f"/track/{token}").status_code == 200
    assert client.post(f"/track/{token}/offers").status_code == 200


def test_reference_lookups_count_failures_and_stop_once_spent(client, monkeypatch) -> None:
    _one_window(monkeypatch)
    _id, _token, reference = _request()
    monkeypatch.setattr(get_settings(), "track_rate_limit", 3)
    for _ in range(4):  # successes are not counted
        assert client.post("/api/v1/track", data={"reference": reference, "phone": "0812 3456 7890"}).status_code == 200
    wrong = [client.post("/api/v1/track", data={"reference": reference, "phone": "0812 0000 0000"}).status_code for _ in range(3)]
    assert wrong == [404, 404, 404]
    # the budget is spent: even the right phone is refused now (no guessing past the limit)
    assert client.post("/api/v1/track", data={"reference": reference, "phone": "0812 3456 7890"}).status_code == 429


def test_reference_link_fills_the_form_and_a_match_opens_a_fresh_tracking_link(client) -> None:
    request_id, _token, reference = _request()
    page = client.get(f"/track?ref={reference}")
    assert f'value="{reference}"' in page.text
    assert 'value="<script>"' not in client.get("/track?ref=<script>").text
    r = client.post("/track", data={"reference": reference, "phone": "0812 3456 7890"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/track/")
    fresh = r.headers["location"].removeprefix("/track/")
    page = client.get(f"/track/{fresh}")
    assert page.status_code == 200 and reference in page.text and f'action="/track/{fresh}/offers"' in page.text
    assert f'href="/track/{fresh}/cancel"' in page.text


# ---------------------------------------------------------------- (2, 9) messages of operator-made offers


def test_an_operator_offer_texts_a_working_link_and_no_choose_later_for_a_short_hold(client) -> None:
    request_id, _token, _ref = _request(channel=Channel.PHONE)
    staff = login_as(client, "operator")
    client.post(f"/operator/requests/{request_id}/offers", data={"csrf_token": staff.csrf_token})
    with session_scope() as s:
        note = s.exec(select(Notification).where(Notification.request_id == request_id)).one()
        holds = s.exec(select(SlotHold).where(SlotHold.request_id == request_id)).all()
    assert note.template == "booking_offers_short" and "15 menit" in note.body and "Pilih salah satu di" not in note.body
    link = re.search(r"/track/([A-Za-z0-9_-]{40,})", note.body)
    assert link and "?ref=" not in note.body
    client.cookies.clear()
    page = client.get(f"/track/{link.group(1)}")
    assert page.status_code == 200
    for hold in holds:
        assert f'value="{hold.offer_id}"' in page.text  # the family can choose from the SMS link
    assert "Pilih jadwal ini" in page.text


def test_web_offers_still_invite_choosing_later(client) -> None:
    from visits.booking import service as booking

    request_id, token, _ref = _request()
    with session_scope(write=True) as s:
        booking.offer(s, s.get(VisitRequest, request_id), NOW, *_services(), link_token=token)  # type: ignore[arg-type]
        note = s.exec(select(Notification).where(Notification.request_id == request_id)).one()
    assert note.template == "booking_offers" and f"/track/{token}" in note.body


# ---------------------------------------------------------------- (9) chase list and bookings page


def test_chase_list_has_who_to_call_and_is_audited(client) -> None:
    from visits.booking import service as booking

    request_id, token, reference = _request()
    with session_scope(write=True) as s:
        booking.offer(s, s.get(VisitRequest, request_id), NOW, *_services(), link_token=token)  # type: ignore[arg-type]
    staff = login_as(client, "operator")
    page = client.get("/operator/chase").text
    assert reference in page and "Anak (anak)" in page and 'href="tel:+6281234567890"' in page
    with session_scope() as s:
        assert s.exec(select(AuditLog).where(AuditLog.user_id == staff.user_id, AuditLog.entity_id == request_id)).first() is not None


def test_bookings_page_opens_on_the_next_booked_day_with_addresses(client) -> None:
    from visits.booking import service as booking

    request_id, token, reference = _request()
    with session_scope(write=True) as s:
        booking.offer(s, s.get(VisitRequest, request_id), NOW, *_services(), link_token=token)  # type: ignore[arg-type]
        hold = s.exec(select(SlotHold).where(SlotHold.request_id == request_id)).first()
        booked = booking.confirm(s, s.get(VisitRequest, request_id), hold.offer_id, NOW, *_services(), link_token=token)  # type: ignore[arg-type, union-attr]
        day = booked.team_day.day
    login_as(client, "operator")
    page = client.get("/operator/bookings").text  # no date: today has nothing, so the next day with visits
    assert day.strftime("%d-%m-%Y") in page and reference in page and "Jl. Contoh, RT 001/RW 002" in page


# ---------------------------------------------------------------- (8) the desk's words


def test_staff_home_buttons_have_labels_not_paths(client) -> None:
    for role in ("operator", "admin", "head"):
        login_as(client, role)
        page = client.get("/staff").text
        labels = re.findall(r'<a class="button" href="(/[^"]*)">([^<]*)</a>', page)
        assert labels, role
        assert all(label.strip() and not label.startswith("/") for _path, label in labels), (role, labels)


def test_decline_reasons_are_translated(client) -> None:
    from visits.intake.eligibility import REASONS

    request_id, _token, _ref = _request()
    with session_scope(write=True) as s:
        s.get(VisitRequest, request_id).status = RequestStatus.NEEDS_REVIEW  # type: ignore[union-attr]
    login_as(client, "operator")
    page = client.get(f"/operator/requests/{request_id}").text
    assert '<option value="KK_MISSING">' + REASONS["KK_MISSING"].message("id").replace("'", "&#39;") in page
    assert ">KK_MISSING<" not in page


# ---------------------------------------------------------------- (10) not found, icon, docs


def test_unknown_address_answers_a_page_in_the_users_language(client) -> None:
    r = client.get("/tidak-ada")
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html") and "Halaman tidak ditemukan" in r.text
    client.cookies.set("lang", "en")
    r = client.get("/no-such-page")
    assert r.status_code == 404 and "Page not found" in r.text and '<html lang="en">' in r.text
    api = client.get("/api/v1/no-such-thing")
    assert api.status_code == 404 and api.json() == {"detail": "Not Found"}


def test_favicon_exists(client) -> None:
    r = client.get("/favicon.ico")
    assert r.status_code == 200 and r.headers["content-type"] == "image/x-icon" and r.content[:4] == b"\x00\x00\x01\x00"
    assert 'rel="icon" href="/favicon.ico"' in client.get("/").text


def test_docs_use_local_assets_only(client) -> None:
    for path in ("/docs", "/redoc"):
        page = client.get(path)
        assert page.status_code == 200
        urls = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        assert urls and all(u.startswith("/") for u in urls), urls
        assert "default-src 'self'" in page.headers["content-security-policy"]
    assert client.get("/static-offline-docs/swagger-ui-bundle.js").status_code == 200


def test_flyer_qr_svg_scales(client) -> None:
    svg = client.get("/info/qr.svg").text
    assert re.search(r'<svg [^>]*viewBox="0 0 \d+ \d+"', svg) and not re.search(r"<svg [^>]*\bwidth=", svg)
