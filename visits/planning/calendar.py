"""Team shifts on working days (``visits.clock``: weekends, public holidays, office closures),
plus weekday shift patterns (Friday shorter), breaks, kits out of service."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time, timedelta

from sqlmodel import Session, col, select

from visits.clock import is_working_day, office_closures
from visits.models import OfficeClosure, RecordingKit, ShiftPattern, Team, TeamMember, TeamSkill


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


def team_off_reason(team: Team, kit: RecordingKit | None, members: list[TeamMember], day: date) -> str | None:
    """Why this team cannot work ``day`` whatever its shift says (None: it can): no kit, the kit
    out of service or under repair, fewer members present than the team's minimum."""
    if not team.active:
        return "inactive"
    if kit is None:
        return "no_kit"
    if not kit.in_service_on(day):
        return "kit_out"
    if team.min_members is not None:
        present = sum(1 for m in members if m.left_on is None or m.left_on > day)
        if present < team.min_members:
            return "crew"
    return None


def team_shifts(session: Session, days: list[date]) -> list[TeamShift]:
    """Every team-day on the given days: active teams with a kit in service and enough members,
    no closure (office-wide closures include collective-leave days, see ``visits.clock``)."""
    if not days:
        return []
    teams = session.exec(select(Team).where(Team.active == True).order_by(col(Team.id))).all()  # noqa: E712
    kits = {k.team_id: k for k in session.exec(select(RecordingKit).where(RecordingKit.team_id.is_not(None), RecordingKit.retired_at.is_(None))).all()}  # type: ignore[union-attr]
    members: dict[int, list[TeamMember]] = {}
    for m in session.exec(select(TeamMember)).all():
        members.setdefault(m.team_id, []).append(m)
    skills: dict[int, set[str]] = {}
    for ts in session.exec(select(TeamSkill)).all():
        skills.setdefault(ts.team_id, set()).add(ts.skill)
    patterns = {(p.team_id, p.weekday): p for p in session.exec(select(ShiftPattern)).all()}
    closures = {(c.day, c.team_id) for c in session.exec(select(OfficeClosure).where(OfficeClosure.day >= min(days), OfficeClosure.day <= max(days))).all()}
    office_closed = office_closures(session, min(days), max(days))
    shifts: list[TeamShift] = []
    for day in sorted(days):
        if not is_working_day(day, office_closed):
            continue
        for team in teams:
            assert team.id is not None
            if (day, team.id) in closures or team_off_reason(team, kits.get(team.id), members.get(team.id, []), day) is not None:
                continue
            pattern = patterns.get((team.id, day.weekday())) or patterns.get((None, day.weekday()))
            if pattern is None:
                continue
            shifts.append(
                TeamShift(
                    team_id=team.id,
                    team_name=team.name,
                    day=day,
                    start=pattern.start_time,
                    end=pattern.end_time,
                    break_earliest=pattern.break_earliest,
                    break_latest=pattern.break_latest,
                    break_minutes=pattern.break_minutes,
                    skills=frozenset(skills.get(team.id, ())),
                    max_visits=team.max_visits_per_day,
                )
            )
    return shifts
