"""The response clock across a weekend and a public holiday, the pipeline and the four criteria, hand-computed."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from tests.reporting.support import NOW, TZ, WIB, area, baseline, booking, request, visit
from visits.clock import add_working_days
from visits.models import OfficeClosure
from visits.reporting.clock_report import clock_report, percentile
from visits.reporting.coverage import coverage_report
from visits.reporting.criteria import criteria_report
from visits.reporting.pipeline import pipeline_report

MENTIKAN, KAUMAN, PULOREJO = "35.76.01.1003", "35.76.01.1004", "35.76.01.1005"


def at(y: int, m: int, d: int, hh: int, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=WIB)


def test_within_one_working_day_across_a_weekend_and_independence_day(session) -> None:
    """Fri 14 Aug 2026, the weekend and Monday 17 Aug (a public holiday): the next working day is Tuesday 18 Aug."""
    area(session)
    cases = [
        (at(2026, 8, 14, 10), at(2026, 8, 18, 9), True),  # Fri 10:00 -> Tue 09:00: 14 h + 9 h = 23 working hours
        (at(2026, 8, 14, 10), at(2026, 8, 18, 11), False),  # 25 working hours
        (at(2026, 8, 15, 12), at(2026, 8, 18, 23), True),  # Saturday: the clock starts Tuesday 00:00, 23 h
        (at(2026, 8, 13, 16), at(2026, 8, 14, 15), True),  # Thu 16:00 -> Fri 15:00: 23 h
        (at(2026, 8, 13, 10), None, False),  # never answered
    ]
    for received, answered, on_time in cases:
        request(session, MENTIKAN, received, answered_at=answered)
        if answered:  # the same rule as the due time the intake computes
            assert (answered <= add_working_days(received, 1, TZ)) is on_time
    r = clock_report(session, date(2026, 8, 10), date(2026, 8, 16), NOW, TZ)
    assert (r.received, r.answered, r.within, r.not_yet_due) == (5, 4, 3, 0)
    assert r.within_share == 3 / 5
    assert r.median_hours == 23.0
    assert abs(r.p90_hours - 24.4) < 1e-9  # sorted 23, 23, 23, 25: rank 2.7
    assert [(w.week_start, w.received, w.within) for w in r.weeks] == [(date(2026, 8, 10), 5, 3)]
    assert r.overdue_now == 1


def test_an_office_closure_stops_the_clock(session) -> None:
    area(session)
    session.add(OfficeClosure(day=date(2026, 11, 20), reason="cuti bersama"))  # Friday
    session.flush()
    request(session, MENTIKAN, at(2026, 11, 19, 10), answered_at=at(2026, 11, 23, 9))  # Thu 10:00 -> Mon 09:00: 14 h + 9 h
    r = clock_report(session, date(2026, 11, 16), date(2026, 11, 22), NOW, TZ)
    assert (r.within, r.median_hours) == (1, 23.0)


def test_a_request_inside_its_working_day_is_not_yet_counted(session) -> None:
    area(session)
    request(session, MENTIKAN, NOW - timedelta(hours=2))
    r = clock_report(session, date(2026, 11, 23), date(2026, 11, 23), NOW, TZ)
    assert (r.received, r.not_yet_due, r.within_share) == (1, 1, None)


def test_percentile() -> None:
    assert percentile([], 0.5) is None
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert abs(percentile(list(map(float, range(1, 11))), 0.9) - 9.1) < 1e-9


def _pipeline_data(session) -> None:
    day = NOW - timedelta(days=7)
    request(session, MENTIKAN, day, status="ineligible", reasons=["NOT_IN_GROUP"], groups=())
    request(session, None, day, status="ineligible", reasons=["OUTSIDE_SERVICE_AREA", "NOT_IN_GROUP"], channel="phone")
    request(session, KAUMAN, day, status="needs_review")
    request(session, KAUMAN, day, status="cancelled")
    offered = request(session, KAUMAN, day, status="offered", channel="phone", groups=("elderly", "disabled"))
    from datetime import time

    from visits.models import SlotHold

    booked_td = booking(session, request(session, MENTIKAN, day, status="booked", letter=True), date(2026, 11, 25))
    session.add(SlotHold(offer_id="o1", request_id=offered.id, team_day_id=booked_td.team_day_id, window_start=time(9), window_end=time(10), expires_at=NOW))
    recorded = request(session, MENTIKAN, day, status="visited", letter=False)
    visit(session, recorded, "recorded", NOW - timedelta(days=2))
    failed = request(session, PULOREJO, day, status="failed", channel="phone", letter=True, groups=("mental",))
    visit(session, failed, "not_home", NOW - timedelta(days=3))
    visit(session, failed, "refused", NOW - timedelta(days=1))  # a second visit: the first failure was followed up
    wrong = request(session, PULOREJO, day, status="visited", letter=False)
    visit(session, wrong, "already_recorded", NOW - timedelta(days=1))
    request(session, MENTIKAN, NOW - timedelta(days=200), status="visited")  # outside the period
    session.flush()


def test_pipeline_counts_each_stage_reached(session) -> None:
    area(session)
    _pipeline_data(session)
    r = pipeline_report(session, date(2026, 11, 1), date(2026, 11, 23), TZ, "channel")
    t = r.total.counts
    assert [t[s] for s in ("received", "ineligible", "awaiting", "withdrawn", "eligible", "offered", "booked", "visited", "recorded")] == [9, 2, 1, 1, 5, 1, 4, 3, 1]
    assert dict(r.total.reasons) == {"NOT_IN_GROUP": 2, "OUTSIDE_SERVICE_AREA": 1}
    assert dict(r.total.failed) == {"not_home": 1, "refused": 1, "already_recorded": 1}
    by = {row.key: row.counts for row in r.rows}
    assert (by["web"]["received"], by["phone"]["received"]) == (6, 3)
    groups = {row.key: row.counts["received"] for row in pipeline_report(session, date(2026, 11, 1), date(2026, 11, 23), TZ, "group").rows}
    assert groups == {"elderly": 7, "disabled": 1, "mental": 1}  # one request in no group
    kel = {row.label: row.counts["received"] for row in pipeline_report(session, date(2026, 11, 1), date(2026, 11, 23), TZ, "kelurahan").rows}
    assert kel == {"Mentikan": 3, "Kauman": 3, "Pulorejo": 2, "outside": 1}


def test_the_undivided_pipeline_counts_reason_codes(session) -> None:
    """With no dimension the reason rows hold only the code lists: each code counts once, not each letter."""
    area(session)
    _pipeline_data(session)
    r = pipeline_report(session, date(2026, 11, 1), date(2026, 11, 23), TZ, "total")
    assert dict(r.total.reasons) == {"NOT_IN_GROUP": 2, "OUTSIDE_SERVICE_AREA": 1}
    assert r.total.as_dict()["ineligible_by_reason"] == {"NOT_IN_GROUP": 2, "OUTSIDE_SERVICE_AREA": 1}


def test_the_four_criteria(session) -> None:
    area(session)
    baseline(session, date(2026, 10, 31), {MENTIKAN: (1000, 995), KAUMAN: (3000, 2900)})
    _pipeline_data(session)
    cov = coverage_report(session, NOW, TZ, 0.995)
    c = criteria_report(session, date(2026, 11, 1), date(2026, 11, 23), TZ, cov)
    # target accuracy: 3 requests visited, all in a served group and not ineligible; 1 of 4 visits "already recorded"
    assert (c.visited, c.visited_on_target, c.target_accuracy) == (3, 3, 1.0)
    assert (c.visits, dict(c.mistargeted_visits), c.mistarget_share) == (4, {"already_recorded": 1}, 0.25)
    # socialisation: 4 requests answered the letter question, 2 still brought it; channel mix 6 web / 3 phone
    assert (c.letter_answered, c.letter_yes, c.letter_share) == (4, 2, 0.5)
    assert c.letter_by_month == [("2026-11", 4, 2)]
    assert (c.channel_share("web"), c.channel_share("phone")) == (6 / 9, 3 / 9)
    assert len(c.silent_kelurahan) == 18 - 3 and c.kelurahan_total == 18
    # goal attainment: (995 + 1) + 2900 of 4000 (the recorded visit is in Mentikan, after the baseline)
    assert c.coverage == 3896 / 4000 and (c.kelurahan_at_target, c.kelurahan_with_baseline) == (1, 2)
    # monitoring: 3 failed visits (not_home, refused, already_recorded); only not_home was followed by another visit
    assert (c.failed_visits, c.followed_up) == (3, 1)
    assert c.follow_up_share == 1 / 3
