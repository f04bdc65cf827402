"""Screen queries of administration: teams, kits, shifts, closures, rules, the audit log and a
team's calendar over the planning horizon."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import Session, col, select

from visits.booking.slots import SlotPolicy, horizon_days
from visits.clock import collective_leave_days, collective_leave_enabled, public_holiday_names
from visits.models import (
    AuditLog,
    Booking,
    BookingStatus,
    CalendarOverride,
    KitState,
    Office,
    OfficeClosure,
    RecordingKit,
    Role,
    ServiceRule,
    ShiftPattern,
    Team,
    TeamDay,
    TeamMember,
    TeamSkill,
    User,
)
from visits.planning.calendar import team_off_reason


@dataclass(frozen=True)
class TeamRow:
    team: Team
    kit: RecordingKit | None
    members: list[TeamMember]
    skills: list[str]


def teams(session: Session) -> list[TeamRow]:
    kits = {k.team_id: k for k in session.exec(select(RecordingKit).where(RecordingKit.retired_at.is_(None))).all()}  # type: ignore[union-attr]
    members: dict[int, list[TeamMember]] = {}
    for m in session.exec(select(TeamMember).order_by(TeamMember.name)).all():
        members.setdefault(m.team_id, []).append(m)
    skills: dict[int, list[str]] = {}
    for s in session.exec(select(TeamSkill).order_by(TeamSkill.skill)).all():
        skills.setdefault(s.team_id, []).append(s.skill)
    return [TeamRow(t, kits.get(t.id), members.get(t.id, []), skills.get(t.id, [])) for t in session.exec(select(Team).order_by(Team.name)).all()]  # type: ignore[arg-type]


def team_row(session: Session, team_id: int) -> TeamRow | None:
    return next((r for r in teams(session) if r.team.id == team_id), None)


def officers(session: Session) -> list[User]:
    return list(session.exec(select(User).where(User.role == Role.OFFICER, User.active == True).order_by(User.username)).all())  # noqa: E712


def kits(session: Session) -> list[RecordingKit]:
    return list(session.exec(select(RecordingKit).order_by(RecordingKit.retired_at.is_not(None), RecordingKit.code)).all())  # type: ignore[union-attr]


def shift_patterns(session: Session) -> list[ShiftPattern]:
    return list(session.exec(select(ShiftPattern).order_by(col(ShiftPattern.team_id).is_not(None), col(ShiftPattern.team_id), col(ShiftPattern.weekday))).all())


def closures(session: Session, now: datetime, tz: str) -> list[OfficeClosure]:
    today = now.astimezone(ZoneInfo(tz)).date()
    return list(session.exec(select(OfficeClosure).where(OfficeClosure.day >= today).order_by(col(OfficeClosure.day), col(OfficeClosure.team_id))).all())


def service_rules(session: Session) -> dict[str, ServiceRule]:
    return {r.served_group: r for r in session.exec(select(ServiceRule)).all()}


def office(session: Session) -> Office | None:
    return session.exec(select(Office)).first()


# ---------------------------------------------------------------- the audit log


@dataclass(frozen=True)
class AuditFilter:
    user_id: int | None = None
    entity: str | None = None
    action: str | None = None
    resident_id: int | None = None
    since: date | None = None
    until: date | None = None


def audit_rows(session: Session, flt: AuditFilter, tz: str, limit: int = 200) -> list[tuple[AuditLog, str | None]]:
    """The newest audit rows matching ``flt`` with the acting user's name."""
    q = select(AuditLog, User.username).join(User, AuditLog.user_id == User.id, isouter=True)  # type: ignore[arg-type]
    if flt.user_id is not None:
        q = q.where(AuditLog.user_id == flt.user_id)
    if flt.entity:
        q = q.where(AuditLog.entity == flt.entity)
    if flt.action:
        q = q.where(AuditLog.action == flt.action)
    if flt.resident_id is not None:
        q = q.where(AuditLog.resident_id == flt.resident_id)
    zone = ZoneInfo(tz)
    if flt.since is not None:
        q = q.where(AuditLog.at >= datetime.combine(flt.since, time(0), tzinfo=zone))
    if flt.until is not None:
        q = q.where(AuditLog.at < datetime.combine(flt.until + timedelta(days=1), time(0), tzinfo=zone))
    return [(row, name) for row, name in session.exec(q.order_by(col(AuditLog.at).desc(), col(AuditLog.id).desc()).limit(limit)).all()]


def audit_choices(session: Session) -> tuple[list[str], list[str], list[User]]:
    entities = sorted(session.exec(select(AuditLog.entity).distinct()).all())
    actions = sorted(session.exec(select(AuditLog.action).distinct()).all())
    users = list(session.exec(select(User).order_by(User.username)).all())
    return entities, actions, users


# ---------------------------------------------------------------- a team's calendar


@dataclass(frozen=True)
class CalendarDay:
    day: date
    works: bool
    weekend: bool
    holiday: str | None  # a public holiday's name
    collective_leave: str | None  # a collective-leave day's name (cuti bersama)
    override_id: int | None  # the office works on that collective-leave day after all
    office_closed: str | None  # an office closure's reason
    team_closed: str | None  # a closure of this team
    kit_out: bool
    crew_short: bool
    start: time | None
    end: time | None
    break_earliest: time | None
    break_latest: time | None
    break_minutes: int
    booked: int
    booked_minutes: int
    max_visits: int | None


def team_calendar(session: Session, team_id: int, now: datetime, policy: SlotPolicy) -> list[CalendarDay]:
    """Every calendar day from tomorrow through the planning horizon's last working day."""
    team = session.get(Team, team_id)
    if team is None:
        return []
    horizon = horizon_days(session, now, policy, staff=True)
    first = now.astimezone(ZoneInfo(policy.timezone)).date() + timedelta(days=1)
    last = max(horizon[-1] if horizon else first, first + timedelta(days=13))
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    holidays = public_holiday_names(first, last)
    leave = collective_leave_days(first, last) if collective_leave_enabled() else {}
    overrides = {o.day: o.id for o in session.exec(select(CalendarOverride).where(CalendarOverride.day >= first, CalendarOverride.day <= last)).all()}
    closed = session.exec(select(OfficeClosure).where(OfficeClosure.day >= first, OfficeClosure.day <= last)).all()
    office_closed = {c.day: c.reason for c in closed if c.team_id is None}
    team_closed = {c.day: c.reason for c in closed if c.team_id == team_id}
    kit = session.exec(select(RecordingKit).where(RecordingKit.team_id == team_id, RecordingKit.retired_at.is_(None))).first()  # type: ignore[union-attr]
    members = list(session.exec(select(TeamMember).where(TeamMember.team_id == team_id)).all())
    patterns = {(p.team_id, p.weekday): p for p in session.exec(select(ShiftPattern)).all()}
    load = {
        d: (n, m or 0)
        for d, n, m in session.exec(
            select(col(TeamDay.day), func.count(col(Booking.id)), func.sum(Booking.service_minutes))
            .join(Booking, Booking.team_day_id == TeamDay.id)  # type: ignore[arg-type]
            .where(TeamDay.team_id == team_id, TeamDay.day >= first, TeamDay.day <= last, Booking.status == BookingStatus.CONFIRMED)
            .group_by(col(TeamDay.day))
        ).all()
    }
    out = []
    for d in days:
        pattern = patterns.get((team_id, d.weekday())) or patterns.get((None, d.weekday()))
        off = team_off_reason(team, kit, members, d)
        leave_name = leave.get(d)
        leave_closes = leave_name is not None and d not in overrides
        works = d.weekday() < 5 and d not in holidays and not leave_closes and d not in office_closed and d not in team_closed and off is None and pattern is not None
        n, minutes = load.get(d, (0, 0))
        out.append(
            CalendarDay(
                day=d,
                works=works,
                weekend=d.weekday() >= 5,
                holiday=holidays.get(d),
                collective_leave=leave_name,
                override_id=overrides.get(d),
                office_closed=office_closed.get(d),
                team_closed=team_closed.get(d),
                kit_out=off in ("kit_out", "no_kit"),
                crew_short=off == "crew",
                start=pattern.start_time if pattern else None,
                end=pattern.end_time if pattern else None,
                break_earliest=pattern.break_earliest if pattern else None,
                break_latest=pattern.break_latest if pattern else None,
                break_minutes=pattern.break_minutes if pattern else 0,
                booked=n,
                booked_minutes=minutes,
                max_visits=team.max_visits_per_day,
            )
        )
    return out


KIT_STATES = tuple(k.value for k in KitState)
