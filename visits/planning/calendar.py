"""Team shifts on working days (``visits.clock``: weekends, public holidays, office closures),
plus weekday shift patterns (Friday shorter), breaks, kits out of service."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time, timedelta

from sqlmodel import Session, col, select

from visits.clock import is_working_day, office_closures
from visits.models import KitState, OfficeClosure, RecordingKit, ShiftPattern, Team, TeamSkill


def working_days(session: Session, start: date, count: int) -> list[date]:
    """The next ``count`` working days from ``start`` (inclusive)."""
    closed = office_closures(session, start, start + timedelta(days=count * 3 + 30))
    days: list[date] = []
    day = start
    while len(days) < count:
        if is_working_day(day, closed):
            days.append(day)
        day += timedelta(days=1)
    return days


@dataclass(frozen=True)
class TeamShift:
    """One team working one day: the planner's vehicle, before translation to minutes."""

    team_id: int
    team_name: str
    day: date
    start: time
    end: time
    break_earliest: time | None
    break_latest: time | None
    break_minutes: int
    skills: frozenset[str]
    max_visits: int | None


def team_shifts(session: Session, days: list[date]) -> list[TeamShift]:
    """Every team-day on the given days: active teams with a working kit, no closure."""
    if not days:
        return []
    teams = session.exec(select(Team).where(Team.active == True).order_by(col(Team.id))).all()  # noqa: E712
    kit_ok = {k.team_id for k in session.exec(select(RecordingKit).where(RecordingKit.state == KitState.OK)).all()}
    skills: dict[int, set[str]] = {}
    for ts in session.exec(select(TeamSkill)).all():
        skills.setdefault(ts.team_id, set()).add(ts.skill)
    patterns = {(p.team_id, p.weekday): p for p in session.exec(select(ShiftPattern)).all()}
    closures = {(c.day, c.team_id) for c in session.exec(select(OfficeClosure).where(OfficeClosure.day >= min(days), OfficeClosure.day <= max(days))).all()}
    shifts: list[TeamShift] = []
    for day in sorted(days):
        if not is_working_day(day) or (day, None) in closures:
            continue
        for team in teams:
            assert team.id is not None
            if team.id not in kit_ok or (day, team.id) in closures:
                continue
            pattern = patterns.get((team.id, day.weekday())) or patterns.get((None, day.weekday()))
            if pattern is None:
                continue
            shifts.append(TeamShift(
                team_id=team.id, team_name=team.name, day=day, start=pattern.start_time, end=pattern.end_time,
                break_earliest=pattern.break_earliest, break_latest=pattern.break_latest, break_minutes=pattern.break_minutes,
                skills=frozenset(skills.get(team.id, ())), max_visits=team.max_visits_per_day,
            ))
    return shifts
