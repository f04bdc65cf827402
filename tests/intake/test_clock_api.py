"""The response clock through the real app: the first answer is the eligibility decision AND slot offers.

An ineligible request is answered by its decision at submission. An eligible one is answered when
slots are offered (``visits.booking.slots.make_offers``), one under review when an operator decides; until
then the clock runs and the operator inbox flags it once it is past due (1 working day, skipping
weekends and Indonesian public holidays).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from app.db import session_scope
from tests.app.helpers import login_as, set_clock
from tests.app.intake_support import post_request
from tests.intake.intake_fixtures import area, form, kk, nik
from visits.models import VisitRequest

WIB = ZoneInfo("Asia/Jakarta")


@pytest.fixture
def api(client, session):
    area(session)
    return client


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(WIB)


@pytest.mark.parametrize(
    ("received", "due"),
    [
        (datetime(2026, 11, 27, 14, 30, tzinfo=WIB), datetime(2026, 11, 30, 14, 30, tzinfo=WIB)),  # Friday -> Monday
        (datetime(2026, 8, 14, 14, 30, tzinfo=WIB), datetime(2026, 8, 18, 14, 30, tzinfo=WIB)),  # Monday 17 August is Independence Day
        (datetime(2026, 11, 28, 9, 0, tzinfo=WIB), datetime(2026, 12, 1, 0, 0, tzinfo=WIB)),  # Saturday: by the end of Monday
    ],
)
def test_due_time_through_the_api(api, monkeypatch, received, due) -> None:
    set_clock(api, received)
    r = post_request(api, form())
    assert r.status_code == 201
    assert _parse(r.json()["first_answer_due"]) == due
    assert _parse(api.get(f"/api/v1/track/{r.json()['tracking_token']}").json()["first_answer_due"]) == due


def test_eligible_is_overdue_until_offered_ineligible_is_answered_at_once(api, session, monkeypatch) -> None:
    friday = datetime(2026, 11, 27, 10, 0, tzinfo=WIB)
    set_clock(api, friday)
    eligible = post_request(api, form()).json()
    ineligible = post_request(api, form(nik=nik(datetime(1950, 3, 14).date(), female=True, serial=2), kk_number=kk(region="351601"))).json()
    review = post_request(api, form(nik=nik(datetime(1950, 3, 14).date(), female=True, serial=3), kk_check_at_visit="true"), file=None).json()
    assert [x["status"] for x in (eligible, ineligible, review)] == ["eligible", "ineligible", "needs_review"]
    with session_scope() as s:
        rows = {r.reference: r for r in s.exec(select(VisitRequest)).all()}
    assert rows[eligible["reference"]].first_answer_at is None  # the decision alone is not the answer
    assert rows[review["reference"]].first_answer_at is None
    assert rows[ineligible["reference"]].first_answer_at == rows[ineligible["reference"]].received_at

    login_as(api, "operator")
    set_clock(api, datetime(2026, 11, 30, 9, 59, tzinfo=WIB))  # Monday, a minute before due
    assert 'class="badge overdue"' not in api.get("/operator/requests").text
    set_clock(api, datetime(2026, 11, 30, 10, 1, tzinfo=WIB))  # a minute past due
    overdue = api.get("/operator/requests?view=overdue").text
    assert eligible["reference"] in overdue and review["reference"] in overdue and ineligible["reference"] not in overdue
    assert api.get("/operator/requests").text.count('class="badge overdue"') == 2

    # offering slots answers the eligible request (visits.booking.slots sets first_answer_at)
    from tests.booking.slot_support import setup_area
    from visits.booking.slots import make_offers
    from visits.planning.travel import TravelService

    setup_area(session)
    session.commit()
    offered_at = datetime(2026, 11, 27, 13, 0, tzinfo=WIB)
    with session_scope() as s:
        result = make_offers(s, rows[eligible["reference"]].id, offered_at, TravelService())
        assert result.offers, result.reason
    with session_scope() as s:
        row = s.get(VisitRequest, rows[eligible["reference"]].id)
    assert row.status == "offered" and row.first_answer_at == offered_at
    overdue = api.get("/operator/requests?view=overdue").text
    assert eligible["reference"] not in overdue and review["reference"] in overdue
