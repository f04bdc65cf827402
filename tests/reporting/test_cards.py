"""The E-KTP card after a recorded visit: the operator records printed then handed over; a card past the
delivery target (14 days by default) is flagged; the head sees the figures, not the button."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
from argon2 import PasswordHasher

import visits.staff.users
from app.db import session_scope
from tests.app.helpers import login_as
from tests.reporting.support import NOW, TZ, area, request, visit
from visits.errors import InvalidInput
from visits.reporting.cards import card_figures, card_state, mark_card
from visits.reporting.clock_report import local_bounds


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch) -> None:
    monkeypatch.setattr(visits.staff.users, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


def _recorded(s, days_ago: float):  # noqa: ANN001, ANN202
    r = request(s, "35.76.01.1003", NOW - timedelta(days=days_ago + 3))
    visit(s, r, "recorded", NOW - timedelta(days=days_ago))
    return r


def test_a_delivery_past_the_target_is_flagged(session) -> None:
    area(session)
    on_time, late, waiting, overdue = _recorded(session, 20), _recorded(session, 30), _recorded(session, 5), _recorded(session, 15)
    mark_card(session, on_time.id, "printed", NOW - timedelta(days=15), None)
    mark_card(session, on_time.id, "delivered", NOW - timedelta(days=7), None)  # 13 days after the recording
    mark_card(session, late.id, "printed", NOW - timedelta(days=20), None)
    mark_card(session, late.id, "delivered", NOW - timedelta(days=15), None)  # 15 days after
    assert card_state(session, on_time.id, NOW, 14).late is False
    assert card_state(session, late.id, NOW, 14).late is True
    assert card_state(session, waiting.id, NOW, 14).late is False  # 5 days: still inside the target
    assert card_state(session, overdue.id, NOW, 14).late is True  # 15 days, not handed over
    lo, hi = local_bounds(date(2026, 9, 1), date(2026, 11, 23), ZoneInfo(TZ))
    f = card_figures(session, lo, hi, NOW, 14)
    assert (f.recorded, f.delivered_in_time, f.delivered_late, f.overdue) == (4, 1, 1, 1)
    assert f.in_time_share == 1 / 3
    assert [rid for rid, _ref, _at in f.overdue_list] == [overdue.id]


def test_delivery_needs_a_recording_and_a_print(session) -> None:
    area(session)
    unrecorded = request(session, "35.76.01.1003", NOW - timedelta(days=3))
    with pytest.raises(InvalidInput):
        mark_card(session, unrecorded.id, "printed", NOW, None)
    r = _recorded(session, 2)
    with pytest.raises(InvalidInput):
        mark_card(session, r.id, "delivered", NOW, None)


def test_the_operator_records_it_and_the_head_may_not(client, db) -> None:
    with session_scope(write=True) as s:
        area(s)
        rid = _recorded(s, 20).id
    op = login_as(client, "operator")
    page = client.get(f"/operator/requests/{rid}").text
    assert 'name="stage" value="printed"' in page and "Lewat target" in page
    r = client.post(f"/operator/requests/{rid}/card", data={"stage": "printed", "csrf_token": op.csrf_token}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].endswith("note=card_printed#card")
    assert 'name="stage" value="delivered"' in client.get(f"/operator/requests/{rid}").text
    client.cookies.clear()
    head = login_as(client, "head")
    assert client.post(f"/operator/requests/{rid}/card", data={"stage": "delivered", "csrf_token": head.csrf_token}).status_code == 403
    assert 'name="stage"' not in client.get(f"/operator/requests/{rid}").text
    crit = client.get("/head/criteria").text
    assert 'id="overdue-cards"' in crit and f"/operator/requests/{rid}#card" in crit
    assert client.get("/api/v1/reports/criteria").json()["monitoring"]["cards"]["overdue"] == 1
