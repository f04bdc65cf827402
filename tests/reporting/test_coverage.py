"""Coverage, still to record and the projection, on hand-computed figures (to the person)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from tests.reporting.support import NOW, TZ, WIB, area, baseline, request, visit
from visits.reporting.coverage import Projection, coverage_report, project, target_count

MENTIKAN, KAUMAN, PULOREJO = "35.76.01.1003", "35.76.01.1004", "35.76.01.1005"
MAGERSARI = "35.76.02.1003"


def test_target_count_is_exact() -> None:
    assert target_count(1000, 0.995) == 995  # not 996 from 994.99999...
    assert target_count(1001, 0.995) == 996  # 995.995 -> 996
    assert target_count(1001, 0.995) == -(-1001 * 995 // 1000)


def test_coverage_and_still_to_record_per_kelurahan_kecamatan_and_city(session) -> None:
    area(session)
    baseline(session, date(2026, 10, 31), {MENTIKAN: (1000, 980), KAUMAN: (2000, 1995), MAGERSARI: (400, 390)})
    # Mentikan: 3 residents recorded after the baseline (one of them twice: counted once), 1 on the baseline day (not counted)
    for days_ago in (1, 2):
        visit(session, request(session, MENTIKAN, NOW - timedelta(days=30)), "recorded", NOW - timedelta(days=days_ago))
    twice = request(session, MENTIKAN, NOW - timedelta(days=30))
    visit(session, twice, "recorded", NOW - timedelta(days=3))
    visit(session, twice, "recorded", NOW - timedelta(days=2))
    visit(session, request(session, MENTIKAN, NOW - timedelta(days=40)), "recorded", datetime(2026, 10, 31, 23, 30, tzinfo=WIB))
    visit(session, request(session, MENTIKAN, NOW - timedelta(days=40)), "not_home", NOW - timedelta(days=1))
    # Kauman: one recorded just after midnight following the baseline date
    visit(session, request(session, KAUMAN, NOW - timedelta(days=40)), "recorded", datetime(2026, 11, 1, 0, 5, tzinfo=WIB))
    report = coverage_report(session, NOW, TZ, 0.995)
    by = {a.code: a for a in report.kelurahan}
    m, k, g = by[MENTIKAN], by[KAUMAN], by[MAGERSARI]
    assert (m.required, m.baseline_recorded, m.jemput_recorded, m.recorded) == (1000, 980, 3, 983)
    assert m.coverage == 0.983 and m.still_to_record == 995 - 983 == 12
    assert (k.recorded, k.still_to_record) == (1996, 0)  # 1990 needed
    assert (g.recorded, g.still_to_record) == (390, 8)  # ceil(398.0) = 398
    assert not by[PULOREJO].has_baseline and by[PULOREJO].status == Projection.NO_BASELINE
    prajurit = next(a for a in report.kecamatan if a.code == "35.76.01")
    assert (prajurit.required, prajurit.recorded, prajurit.still_to_record) == (3000, 2979, 2985 - 2979)
    city = report.city
    assert (city.required, city.recorded, city.jemput_recorded) == (3400, 3369, 4)
    assert city.still_to_record == 3383 - 3369 == 14  # ceil(0.995 * 3400) = 3383
    assert abs(city.coverage - 3369 / 3400) < 1e-12
    # furthest behind first: Mentikan 98.3 %, Magersari 97.5 %, Kauman 99.8 %; no baseline last
    assert [a.code for a in report.kelurahan[:3]] == [MAGERSARI, MENTIKAN, KAUMAN]
    assert not report.kelurahan[-1].has_baseline


def test_projection_on_a_constructed_pace(session) -> None:
    area(session)
    baseline(session, date(2026, 10, 1), {MENTIKAN: (1000, 970), KAUMAN: (100, 90)})
    # 14 residents recorded in Mentikan in the last 28 days, 2 more before that window (after the baseline)
    for i in range(14):
        visit(session, request(session, MENTIKAN, NOW - timedelta(days=40)), "recorded", NOW - timedelta(days=1 + i))
    for i in range(2):
        visit(session, request(session, MENTIKAN, NOW - timedelta(days=50)), "recorded", NOW - timedelta(days=35 + i))
    report = coverage_report(session, NOW, TZ, 0.995)
    m = next(a for a in report.kelurahan if a.code == MENTIKAN)
    assert (m.recorded, m.still_to_record, m.recorded_last_4_weeks) == (986, 9, 14)
    # 14 per 28 days = 0.5 a day: 9 more residents take ceil(9 / 0.5) = 18 days from Monday 23 Nov
    assert (m.status, m.reaches_on) == (Projection.ON_PACE, date(2026, 12, 11))
    k = next(a for a in report.kelurahan if a.code == KAUMAN)
    assert (k.still_to_record, k.status, k.reaches_on) == (10, Projection.NOT_AT_PACE, None)


def test_project_rules() -> None:
    today = date(2026, 11, 23)
    assert project(0, 0, today) == (Projection.REACHED, None)
    assert project(5, 0, today) == (Projection.NOT_AT_PACE, None)
    assert project(28, 28, today) == (Projection.ON_PACE, date(2026, 12, 21))
    assert project(10_000, 1, today) == (Projection.NOT_AT_PACE, None)  # 770 years: beyond the 5-year horizon
    assert project(5, 5, today, has_baseline=False) == (Projection.NO_BASELINE, None)


def test_a_recorded_resident_counts_where_they_lived_when_visited(session) -> None:
    """The visit keeps the resident's kelurahan of the day: a later move (a new request from
    another kelurahan) does not take the recorded resident out of the kelurahan visited."""
    kel = area(session)
    baseline(session, date(2026, 10, 31), {MENTIKAN: (1000, 980), KAUMAN: (2000, 1990)})
    req = request(session, MENTIKAN, NOW - timedelta(days=30))
    v = visit(session, req, "recorded", NOW - timedelta(days=2))
    assert (v.resident_id, v.kelurahan_id) == (req.resident_id, kel[MENTIKAN].id)  # filled on insert
    from visits.models import Resident

    resident = session.get(Resident, req.resident_id)
    resident.kelurahan_id = kel[KAUMAN].id  # moved since
    session.flush()
    by = {a.code: a for a in coverage_report(session, NOW, TZ, 0.995).kelurahan}
    assert (by[MENTIKAN].jemput_recorded, by[KAUMAN].jemput_recorded) == (1, 0)


def test_the_migration_fills_the_visits_already_recorded(fresh_db_url: str) -> None:
    """0005_visit_area gives the visits stored before it their resident and kelurahan."""
    from sqlalchemy import create_engine, text
    from sqlmodel import Session

    from app.migrate import downgrade, upgrade

    upgrade(fresh_db_url)
    engine = create_engine(fresh_db_url)
    try:
        with Session(engine) as s:
            kel = area(s)
            req = request(s, PULOREJO, NOW - timedelta(days=5))
            visit(s, req, "recorded", NOW - timedelta(days=1))
            resident_id, kelurahan_id = req.resident_id, kel[PULOREJO].id
            s.commit()
        downgrade(fresh_db_url, "0004_outreach")  # the columns go, as before the migration
        upgrade(fresh_db_url)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT resident_id, kelurahan_id FROM visit")).one() == (resident_id, kelurahan_id)
    finally:
        engine.dispose()
