"""The optional "how did you hear of the service" question: asked on the web form and the phone intake,
stored on the request, counted by the socialisation criterion."""

from __future__ import annotations

from datetime import date, timedelta

from sqlmodel import select

from app.db import session_scope
from tests.app.helpers import login_as
from tests.app.intake_support import post_request
from tests.intake.intake_fixtures import area, form, kk, nik
from tests.reporting.support import NOW, TZ, request
from visits.models import VisitRequest
from visits.reporting.coverage import coverage_report
from visits.reporting.criteria import criteria_report


def test_the_answer_is_stored_and_a_bad_one_is_named(client, session) -> None:
    area(session)
    r = post_request(client, form(heard_via="health_post"))
    assert r.status_code == 201, r.text
    bad = post_request(client, form(nik=nik(date(1948, 5, 2), serial=2), kk_number=kk(serial=8), heard_via="radio"))
    assert bad.status_code == 422 and "heard_via" in bad.text
    silent = post_request(client, form(nik=nik(date(1947, 5, 2), serial=3), kk_number=kk(serial=9)))
    assert silent.status_code == 201
    with session_scope() as s:
        assert [r.heard_via for r in s.exec(select(VisitRequest).order_by(VisitRequest.id)).all()] == ["health_post", None]


def test_both_forms_ask_it(client, session) -> None:
    area(session)
    assert 'name="heard_via" value="health_post"' in client.get("/request").text
    login_as(client, "operator")
    assert 'name="heard_via" value="neighbour_family"' in client.get("/operator/intake").text


def test_the_socialisation_criterion_counts_the_answers(session) -> None:
    area(session)
    for source in ("flyer", "flyer", "health_post", None):
        r = request(session, "35.76.01.1003", NOW - timedelta(days=3))
        r.heard_via = source
        session.add(r)
    session.flush()
    c = criteria_report(session, date(2026, 11, 1), date(2026, 11, 23), TZ, coverage_report(session, NOW, TZ, 0.995))
    assert dict(c.heard_via) == {"flyer": 2, "health_post": 1}
    assert (c.heard_share("flyer"), c.heard_share("health_post"), c.heard_share("other")) == (2 / 3, 1 / 3, 0.0)
