"""The follow-up survey: sent a day after a recorded visit, the link works once and shows nothing personal,
and the monitoring criterion counts it."""

from __future__ import annotations

import re
from datetime import date, timedelta

from sqlmodel import select

from app.cli import main as jemput
from app.db import session_scope
from tests.reporting.support import NOW, PLANTED_KK, PLANTED_NIK, PLANTED_PHONE, PLANTED_STREET, TZ, area, request, visit
from visits.models import FollowUpSurvey, Notification
from visits.reporting.coverage import coverage_report
from visits.reporting.criteria import criteria_report
from visits.reporting.followup import send_surveys


def _setup(s) -> None:
    area(s)
    old = request(s, "35.76.01.1003", NOW - timedelta(days=5), nik=PLANTED_NIK, kk=PLANTED_KK, phone=PLANTED_PHONE, street=PLANTED_STREET)
    visit(s, old, "recorded", NOW - timedelta(days=2))
    fresh = request(s, "35.76.01.1003", NOW - timedelta(days=5))
    visit(s, fresh, "recorded", NOW - timedelta(hours=5))  # less than a day ago: not yet
    failed = request(s, "35.76.01.1004", NOW - timedelta(days=5))
    visit(s, failed, "not_home", NOW - timedelta(days=2))  # only recorded visits get the survey


def test_sent_once_a_day_after_a_recorded_visit(session) -> None:
    _setup(session)
    assert send_surveys(session, NOW, office="Dispendukcapil", base_url="https://jemput.example") == 1
    assert send_surveys(session, NOW, office="Dispendukcapil", base_url="https://jemput.example") == 0
    (note,) = session.exec(select(Notification)).all()
    assert note.recipient == PLANTED_PHONE and note.template == "follow_up_survey"
    assert re.search(r"https://jemput.example/survey/[\w-]{20,}", note.body)
    assert send_surveys(session, NOW + timedelta(days=1), office="D", base_url="https://jemput.example") == 1  # the fresh one, a day later


def test_the_link_works_once_and_shows_nothing_personal(client, db) -> None:
    with session_scope(write=True) as s:
        _setup(s)
        send_surveys(s, NOW, office="Dispendukcapil", base_url="http://testserver")
        body = s.exec(select(Notification.body)).one()
    path = re.search(r"/survey/[\w-]+", body).group(0)  # type: ignore[union-attr]
    page = client.get(path)
    assert page.status_code == 200 and 'name="satisfaction"' in page.text
    assert page.headers["referrer-policy"] == "no-referrer"
    for value in (PLANTED_NIK, PLANTED_KK, PLANTED_PHONE, PLANTED_PHONE.lstrip("+"), PLANTED_STREET, "Warga "):
        assert value not in page.text
    assert client.post(path, data={"satisfaction": "9"}).status_code == 422
    done = client.post(path, data={"satisfaction": "4", "comment": "Petugas ramah"})
    assert done.status_code == 200 and "Terima kasih" in done.text
    again = client.post(path, data={"satisfaction": "1", "comment": "ganti"})
    assert again.status_code == 409
    assert 'name="satisfaction"' not in client.get(path).text
    with session_scope() as s:
        (survey,) = s.exec(select(FollowUpSurvey)).all()
        assert (survey.satisfaction, survey.comment) == (4, "Petugas ramah")
    assert client.get("/survey/not-a-token").status_code == 404


def test_monitoring_counts_the_surveys(session) -> None:
    _setup(session)
    send_surveys(session, NOW + timedelta(days=1), office="D", base_url="http://x")
    first = session.exec(select(FollowUpSurvey).order_by(FollowUpSurvey.id)).first()
    first.satisfaction, first.answered_at = 5, NOW  # type: ignore[union-attr]
    session.add(first)
    session.flush()
    c = criteria_report(session, date(2026, 11, 1), date(2026, 11, 23), TZ, coverage_report(session, NOW, TZ, 0.995))
    assert (c.surveys.sent, c.surveys.answered, c.surveys.mean_satisfaction, c.surveys.satisfied) == (2, 1, 5.0, 1)
    assert c.surveys.answer_share == 0.5


def test_the_cli_queues_surveys(db, capsys) -> None:
    assert jemput(["send-surveys"]) == 0
    assert "follow-up surveys queued: 0" in capsys.readouterr().out
