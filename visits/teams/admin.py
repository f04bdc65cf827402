"""Administration use cases: teams, members, skills, kits, shift patterns, closures, service rules,
collective-leave overrides and the office's address.

Each ``*_change`` function validates a submitted form (strings, as typed) and returns a
:class:`Change`, or raises :class:`FieldErrors` naming every bad field (message keys, so the page
answers in the user's language). :func:`run` then either shows what the change would break
(``capacity.preview``: the affected bookings, before anything is saved) or, once confirmed (or
when nothing breaks), applies it, audits it with before/after values, rehomes the bookings it
made infeasible and bumps every team-day it touched so the after-commit hook re-plans them.
Services only flush.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from visits.booking import slots
from visits.booking.notices import Office as OfficeNotice
from visits.clock import collective_leave_days
from visits.errors import InvalidInput, NotFound
from visits.models import (
    Booking,
    BookingStatus,
    CalendarOverride,
    Group,
    KitState,
    Office,
    OfficeClosure,
    RecordingKit,
    Resident,
    Role,
    ServiceRule,
    ShiftPattern,
    Team,
    TeamDay,
    TeamMember,
    TeamSkill,
    User,
    VisitRequest,
)
from visits.planning.translate import service_needs
from visits.planning.travel import TravelService
from visits.staff import audit
from visits.teams import capacity

SKILL_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,29}")
MAX_CLOSURE_DAYS = 62


class FieldErrors(InvalidInput):
    """Several fields of one form are wrong: ``errors`` maps each to a message key."""

    def __init__(self, errors: dict[str, str]) -> None:
        first = next(iter(errors))
        super().__init__(errors[first], field=first)
        self.errors = errors


class _Form:
    """Reads one submitted form, collecting an error per bad field."""

    def __init__(self, data: dict[str, str]) -> None:
        self.data = {k: (v or "").strip() for k, v in data.items()}
        self.errors: dict[str, str] = {}

    def fail(self, name: str, key: str) -> None:
        self.errors.setdefault(name, key)

    def text(self, name: str, max_length: int, *, required: bool = True) -> str:
        value = self.data.get(name, "")
        if required and not value:
            self.fail(name, "admin.error.required")
        elif len(value) > max_length:
            self.fail(name, "admin.error.too_long")
        return value

    def integer(self, name: str, lo: int, hi: int, *, required: bool = False) -> int | None:
        raw = self.data.get(name, "")
        if not raw:
            if required:
                self.fail(name, "admin.error.required")
            return None
        try:
            value = int(raw)
        except ValueError:
            self.fail(name, "admin.error.not_a_number")
            return None
        if not lo <= value <= hi:
            self.fail(name, "admin.error.out_of_range")
            return None
        return value

    def number(self, name: str, lo: float, hi: float) -> float | None:
        raw = self.data.get(name, "").replace(",", ".")
        if not raw:
            self.fail(name, "admin.error.required")
            return None
        try:
            value = float(raw)
        except ValueError:
            self.fail(name, "admin.error.not_a_number")
            return None
        if not lo <= value <= hi:
            self.fail(name, "admin.error.out_of_range")
            return None
        return value

    def day(self, name: str, *, required: bool = True) -> date | None:
        raw = self.data.get(name, "")
        if not raw:
            if required:
                self.fail(name, "admin.error.required")
            return None
        try:
            return date.fromisoformat(raw)
        except ValueError:
            self.fail(name, "admin.error.bad_date")
            return None

    def clock(self, name: str, *, required: bool = True) -> time | None:
        raw = self.data.get(name, "")
        if not raw:
            if required:
                self.fail(name, "admin.error.required")
            return None
        try:
            return time.fromisoformat(raw).replace(second=0, microsecond=0)
        except ValueError:
            self.fail(name, "admin.error.bad_time")
            return None

    def done(self) -> None:
        if self.errors:
            raise FieldErrors(self.errors)


def _values(row: Any, fields: Iterable[str]) -> dict[str, Any]:
    return {f: _plain(getattr(row, f)) for f in fields}


def _plain(value: Any) -> Any:
    if isinstance(value, (date, time, datetime)):
        return value.isoformat()
    return value


@dataclass
class Change:
    """A validated admin change, not applied yet. ``apply`` returns (entity id, before, after)."""

    action: str
    entity: str
    apply: Callable[[Session], tuple[int | None, dict | None, dict | None]]
    team_ids: list[int] | None = None  # the teams whose capacity it may change (None: every team)
    days: list[date] | None = None  # the days it may change (None: every day)
    extra_audit: list[tuple[str, str, int | None, dict | None, dict | None]] = field(default_factory=list)


@dataclass(frozen=True)
class Outcome:
    pending: list[capacity.AffectedBooking] | None  # not applied: these bookings would break (confirm first)
    entity_id: int | None = None
    rehomed: list[capacity.Rehomed] = field(default_factory=list)


def run(session: Session, change: Change, *, user_id: int | None, route: str, confirmed: bool, now: datetime, travel: TravelService, policy: slots.SlotPolicy, office: OfficeNotice) -> Outcome:
    """Show the bookings ``change`` would break, or (confirmed, or nothing breaks) apply it."""
    scope: dict[str, Any] = {"tz": policy.timezone}
    if change.team_ids is not None:
        scope["team_ids"] = change.team_ids
    if change.days is not None:
        scope["days"] = change.days
    if not confirmed:
        affected = capacity.preview(session, lambda s: change.apply(s), now, travel, **scope)
        if affected:
            return Outcome(pending=affected)
    entity_id, before, after = change.apply(session)
    session.flush()
    audit.record_change(session, user_id=user_id, action=change.action, entity=change.entity, entity_id=entity_id, before=before, after=after, route=route)
    affected = capacity.affected_bookings(session, now, travel, **scope)
    rehomed = capacity.rehome(session, affected, now, travel, policy, office)
    for r in rehomed:
        request = session.get(VisitRequest, r.request_id)
        audit.record_change(
            session,
            user_id=user_id,
            action=f"rehome_{r.outcome}",
            entity="booking",
            entity_id=r.booking_id,
            resident_id=request.resident_id if request else None,
            route=route,
            before={"team_id": r.from_team_id, "day": r.day.isoformat(), "window": f"{r.start:%H:%M}-{r.end:%H:%M}"},
            after={"team_id": r.to_team_id, "booking_id": r.new_booking_id, "offers": r.offers},
        )
    touch_team_days(session, now, policy.timezone, team_ids=change.team_ids, days=change.days)
    session.flush()
    return Outcome(pending=None, entity_id=entity_id, rehomed=rehomed)


def touch_team_days(session: Session, now: datetime, tz: str, *, team_ids: list[int] | None, days: list[date] | None) -> list[int]:
    """Bump every coming team-day with bookings in the change's scope: re-planned after the commit
    (a longer day or one more team may give better routes)."""
    today = now.astimezone(ZoneInfo(tz)).date()
    q = select(TeamDay.id).join(Booking, Booking.team_day_id == TeamDay.id).where(Booking.status == BookingStatus.CONFIRMED, TeamDay.day >= today)  # type: ignore[arg-type]
    if team_ids is not None:
        q = q.where(TeamDay.team_id.in_(team_ids))  # type: ignore[attr-defined]
    if days is not None:
        q = q.where(TeamDay.day.in_(days))  # type: ignore[attr-defined]
    ids: list[int] = sorted(set(session.exec(q).all()))  # type: ignore[arg-type]
    for td_id in ids:
        slots.bump(session, td_id)
    return ids


# ---------------------------------------------------------------- teams, members, skills

TEAM_FIELDS = ("name", "active", "max_visits_per_day", "min_members")


def _team(session: Session, team_id: int) -> Team:
    team = session.get(Team, team_id)
    if team is None:
        raise NotFound()
    return team


def skills_of(session: Session, team_id: int) -> list[str]:
    return sorted(s.skill for s in session.exec(select(TeamSkill).where(TeamSkill.team_id == team_id)).all())


def team_change(session: Session, data: dict[str, str], team_id: int | None = None) -> Change:
    """Create (``team_id`` None) or edit a team: name, maximum visits a day, minimum crew, skills."""
    f = _Form(data)
    name = f.text("name", 100)
    max_visits = f.integer("max_visits_per_day", 1, 50)
    min_members = f.integer("min_members", 0, 10)
    skills = sorted({s.strip().lower() for s in f.data.get("skills", "").replace(";", ",").split(",") if s.strip()})
    if any(not SKILL_PATTERN.fullmatch(s) for s in skills):
        f.fail("skills", "admin.error.bad_skill")
    if name and session.exec(select(Team.id).where(Team.name == name, Team.id != (team_id or 0))).first() is not None:
        f.fail("name", "admin.error.name_taken")
    team = _team(session, team_id) if team_id is not None else None
    f.done()

    def apply(s: Session) -> tuple[int | None, dict | None, dict | None]:
        row = team or Team(name=name)
        before = {**_values(row, TEAM_FIELDS), "skills": skills_of(s, row.id)} if team else None  # type: ignore[arg-type]
        row.name, row.max_visits_per_day, row.min_members = name, max_visits, min_members
        s.add(row)
        s.flush()
        current = {t.skill: t for t in s.exec(select(TeamSkill).where(TeamSkill.team_id == row.id)).all()}
        for skill, ts in current.items():
            if skill not in skills:
                s.delete(ts)
        for skill in skills:
            if skill not in current:
                s.add(TeamSkill(team_id=row.id, skill=skill))  # type: ignore[arg-type]
        s.flush()
        return row.id, before, {**_values(row, TEAM_FIELDS), "skills": skills}

    return Change("update" if team else "create", "team", apply, team_ids=[team_id] if team_id else [])


def team_active_change(session: Session, team_id: int, active: bool) -> Change:
    team = _team(session, team_id)

    def apply(s: Session) -> tuple[int | None, dict | None, dict | None]:
        before = _values(team, TEAM_FIELDS)
        team.active = active
        s.add(team)
        return team.id, before, _values(team, TEAM_FIELDS)

    return Change("activate" if active else "deactivate", "team", apply, team_ids=[team_id])


MEMBER_FIELDS = ("team_id", "name", "user_id", "left_on")


def member_change(session: Session, team_id: int, data: dict[str, str]) -> Change:
    """Add a member to a team: a name, optionally an officer's account (which joins the team)."""
    team = _team(session, team_id)
    f = _Form(data)
    name = f.text("name", 200, required=False)
    user_id = f.integer("user_id", 1, 2**31 - 1)
    user = session.get(User, user_id) if user_id else None
    if user_id and (user is None or user.role != Role.OFFICER or not user.active):
        f.fail("user_id", "admin.error.not_an_officer")
    if not name and user is None:
        f.fail("name", "admin.error.required")
    f.done()

    def apply(s: Session) -> tuple[int | None, dict | None, dict | None]:
        member = TeamMember(team_id=team.id, name=name or (user.full_name or user.username if user else ""), user_id=user.id if user else None)  # type: ignore[arg-type]
        s.add(member)
        if user is not None and user.team_id != team.id:
            user.team_id = team.id
            s.add(user)
        s.flush()
        return member.id, None, _values(member, MEMBER_FIELDS)

    return Change("create", "team_member", apply, team_ids=[team_id])


def member_leave_change(session: Session, member_id: int, data: dict[str, str], now: datetime, tz: str) -> Change:
    """A member leaves the team from a day (the first day without them)."""
    member = session.get(TeamMember, member_id)
    if member is None:
        raise NotFound()
    f = _Form(data)
    left_on = f.day("left_on")
    today = now.astimezone(ZoneInfo(tz)).date()
    if left_on is not None and left_on < today:
        f.fail("left_on", "admin.error.in_the_past")
    f.done()

    def apply(s: Session) -> tuple[int | None, dict | None, dict | None]:
        before = _values(member, MEMBER_FIELDS)
        member.left_on = left_on
        s.add(member)
        return member.id, before, _values(member, MEMBER_FIELDS)

    return Change("deactivate", "team_member", apply, team_ids=[member.team_id])


# ---------------------------------------------------------------- recording kits

KIT_FIELDS = ("code", "team_id", "state", "out_from", "out_until", "notes", "retired_at")


def kit_change(session: Session, data: dict[str, str], now: datetime, kit_id: int | None = None) -> Change:
    """Create or edit a kit: code, holder team, state with dates (in service; out of service
    from-to; under repair), notes."""
    kit = session.get(RecordingKit, kit_id) if kit_id is not None else None
    if kit_id is not None and kit is None:
        raise NotFound()
    f = _Form(data)
    code = f.text("code", 30)
    team_id = f.integer("team_id", 1, 2**31 - 1)
    state = f.data.get("state") or KitState.OK
    if state not in {k.value for k in KitState}:
        f.fail("state", "admin.error.bad_choice")
    out_from = f.day("out_from", required=False)
    out_until = f.day("out_until", required=False)
    notes = f.text("notes", 1000, required=False)
    if state == KitState.OUT_OF_SERVICE and out_from and out_until and out_until < out_from:
        f.fail("out_until", "admin.error.until_before_from")
    if team_id is not None and session.get(Team, team_id) is None:
        f.fail("team_id", "admin.error.bad_choice")
    if team_id is not None and session.exec(select(RecordingKit.id).where(RecordingKit.team_id == team_id, RecordingKit.id != (kit_id or 0))).first() is not None:
        f.fail("team_id", "admin.error.team_has_kit")
    if code and session.exec(select(RecordingKit.id).where(RecordingKit.code == code, RecordingKit.id != (kit_id or 0))).first() is not None:
        f.fail("code", "admin.error.name_taken")
    f.done()
    teams = sorted({t for t in (team_id, kit.team_id if kit else None) if t is not None})

    def apply(s: Session) -> tuple[int | None, dict | None, dict | None]:
        row = kit or RecordingKit(code=code)
        before = _values(row, KIT_FIELDS) if kit else None
        row.code, row.team_id, row.state, row.notes, row.updated_at = code, team_id, state, notes or None, now
        row.out_from = out_from if state == KitState.OUT_OF_SERVICE else None
        row.out_until = out_until if state == KitState.OUT_OF_SERVICE else None
        s.add(row)
        s.flush()
        return row.id, before, _values(row, KIT_FIELDS)

    return Change("update" if kit else "create", "recording_kit", apply, team_ids=teams)


def kit_retire_change(session: Session, kit_id: int, now: datetime) -> Change:
    kit = session.get(RecordingKit, kit_id)
    if kit is None:
        raise NotFound()
    teams = [kit.team_id] if kit.team_id else []

    def apply(s: Session) -> tuple[int | None, dict | None, dict | None]:
        before = _values(kit, KIT_FIELDS)
        kit.retired_at, kit.team_id, kit.updated_at = now, None, now
        s.add(kit)
        return kit.id, before, _values(kit, KIT_FIELDS)

    return Change("deactivate", "recording_kit", apply, team_ids=teams)


# ---------------------------------------------------------------- shift patterns

SHIFT_FIELDS = ("team_id", "weekday", "start_time", "end_time", "break_earliest", "break_latest", "break_minutes")


def shift_change(session: Session, data: dict[str, str]) -> Change:
    """Set the hours of a team (or the office default) on one weekday: start, end, break window
    and length. Replaces that weekday's pattern."""
    f = _Form(data)
    team_id = f.integer("team_id", 1, 2**31 - 1)
    weekday = f.integer("weekday", 0, 6, required=True)
    start = f.clock("start_time")
    end = f.clock("end_time")
    minutes = f.integer("break_minutes", 0, 180) or 0
    earliest = f.clock("break_earliest", required=bool(minutes))
    latest = f.clock("break_latest", required=bool(minutes))
    if start and end and end <= start:
        f.fail("end_time", "admin.error.end_before_start")
    if minutes and earliest and latest:
        if latest < earliest:
            f.fail("break_latest", "admin.error.end_before_start")
        elif start and end and not (start <= earliest and latest <= end):
            f.fail("break_earliest", "admin.error.break_outside_shift")
    if team_id is not None and session.get(Team, team_id) is None:
        f.fail("team_id", "admin.error.bad_choice")
    f.done()
    existing = session.exec(select(ShiftPattern).where(ShiftPattern.team_id == team_id if team_id else ShiftPattern.team_id.is_(None), ShiftPattern.weekday == weekday)).first()  # type: ignore[union-attr]

    def apply(s: Session) -> tuple[int | None, dict | None, dict | None]:
        row = existing or ShiftPattern(team_id=team_id, weekday=weekday, start_time=start, end_time=end)  # type: ignore[arg-type]
        before = _values(row, SHIFT_FIELDS) if existing else None
        row.start_time, row.end_time = start, end  # type: ignore[assignment]
        row.break_minutes = minutes
        row.break_earliest, row.break_latest = (earliest, latest) if minutes else (None, None)
        s.add(row)
        s.flush()
        return row.id, before, _values(row, SHIFT_FIELDS)

    return Change("update" if existing else "create", "shift_pattern", apply, team_ids=[team_id] if team_id else None)


def shift_delete_change(session: Session, shift_id: int) -> Change:
    """Remove a pattern: a team's own falls back to the office default; without one, no work that weekday."""
    row = session.get(ShiftPattern, shift_id)
    if row is None:
        raise NotFound()

    def apply(s: Session) -> tuple[int | None, dict | None, dict | None]:
        before = _values(row, SHIFT_FIELDS)
        s.delete(row)
        return shift_id, before, None

    return Change("delete", "shift_pattern", apply, team_ids=[row.team_id] if row.team_id else None)


# ---------------------------------------------------------------- closures, collective leave

CLOSURE_FIELDS = ("day", "team_id", "reason")


def closure_change(session: Session, data: dict[str, str], now: datetime, tz: str) -> Change:
    """Close the office (or one team) for a day or a range of days."""
    f = _Form(data)
    team_id = f.integer("team_id", 1, 2**31 - 1)
    start = f.day("start")
    end = f.day("end", required=False) or start
    reason = f.text("reason", 200)
    today = now.astimezone(ZoneInfo(tz)).date()
    if start and start < today:
        f.fail("start", "admin.error.in_the_past")
    if start and end and end < start:
        f.fail("end", "admin.error.until_before_from")
    elif start and end and (end - start).days >= MAX_CLOSURE_DAYS:
        f.fail("end", "admin.error.range_too_long")
    if team_id is not None and session.get(Team, team_id) is None:
        f.fail("team_id", "admin.error.bad_choice")
    f.done()
    assert start is not None and end is not None
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    taken = set(session.exec(select(col(OfficeClosure.day)).where(col(OfficeClosure.day).in_(days), col(OfficeClosure.team_id) == team_id if team_id else col(OfficeClosure.team_id).is_(None))).all())
    new_days = [d for d in days if d not in taken]
    if not new_days:
        raise FieldErrors({"start": "admin.error.already_closed"})

    def apply(s: Session) -> tuple[int | None, dict | None, dict | None]:
        rows = [OfficeClosure(day=d, team_id=team_id, reason=reason) for d in new_days]
        s.add_all(rows)
        s.flush()
        return rows[0].id, None, {"team_id": team_id, "from": new_days[0].isoformat(), "to": new_days[-1].isoformat(), "days": len(new_days), "reason": reason}

    return Change("create", "office_closure", apply, team_ids=[team_id] if team_id else None, days=new_days)


def closure_delete_change(session: Session, closure_id: int) -> Change:
    row = session.get(OfficeClosure, closure_id)
    if row is None:
        raise NotFound()

    def apply(s: Session) -> tuple[int | None, dict | None, dict | None]:
        before = _values(row, CLOSURE_FIELDS)
        s.delete(row)
        return closure_id, before, None

    return Change("delete", "office_closure", apply, team_ids=[row.team_id] if row.team_id else None, days=[row.day])


def override_change(session: Session, data: dict[str, str]) -> Change:
    """The office works on a collective-leave day after all."""
    f = _Form(data)
    day = f.day("day")
    reason = f.text("reason", 200, required=False)
    if day is not None and day not in collective_leave_days(day, day):
        f.fail("day", "admin.error.not_collective_leave")
    if day is not None and session.exec(select(CalendarOverride.id).where(CalendarOverride.day == day)).first() is not None:
        f.fail("day", "admin.error.already_overridden")
    f.done()

    def apply(s: Session) -> tuple[int | None, dict | None, dict | None]:
        row = CalendarOverride(day=day, reason=reason)  # type: ignore[arg-type]
        s.add(row)
        s.flush()
        return row.id, None, {"day": day.isoformat(), "reason": reason}  # type: ignore[union-attr]

    return Change("create", "calendar_override", apply, days=[day])  # type: ignore[list-item]


def override_delete_change(session: Session, override_id: int) -> Change:
    row = session.get(CalendarOverride, override_id)
    if row is None:
        raise NotFound()

    def apply(s: Session) -> tuple[int | None, dict | None, dict | None]:
        before = {"day": row.day.isoformat(), "reason": row.reason}
        s.delete(row)
        return override_id, before, None

    return Change("delete", "calendar_override", apply, days=[row.day])


# ---------------------------------------------------------------- service rules, the office

RULE_FIELDS = ("served_group", "minutes", "required_skill")


def rule_change(session: Session, group: str, data: dict[str, str]) -> Change:
    """The service time of a served group and the skill its visits need."""
    if group not in {g.value for g in Group}:
        raise NotFound()
    f = _Form(data)
    minutes = f.integer("minutes", 5, 480, required=True)
    skill = f.data.get("required_skill", "").lower()
    if skill and not SKILL_PATTERN.fullmatch(skill):
        f.fail("required_skill", "admin.error.bad_skill")
    f.done()
    existing = session.exec(select(ServiceRule).where(ServiceRule.served_group == group)).first()

    def apply(s: Session) -> tuple[int | None, dict | None, dict | None]:
        row = existing or ServiceRule(served_group=group, minutes=minutes)  # type: ignore[arg-type]
        before = _values(row, RULE_FIELDS) if existing else None
        row.minutes, row.required_skill = minutes, skill or None  # type: ignore[assignment]
        s.add(row)
        s.flush()
        restamp_service_minutes(s)
        return row.id, before, _values(row, RULE_FIELDS)

    return Change("update" if existing else "create", "service_rule", apply)


def restamp_service_minutes(session: Session) -> int:
    """Confirmed bookings take the service time the rules now give their resident's groups (the
    routes plan with the booking's minutes); returns how many changed."""
    rows = session.exec(
        select(Booking, Resident)
        .join(VisitRequest, Booking.request_id == VisitRequest.id)  # type: ignore[arg-type]
        .join(Resident, VisitRequest.resident_id == Resident.id)  # type: ignore[arg-type]
        .where(Booking.status == BookingStatus.CONFIRMED)
    ).all()
    changed = 0
    for booking, resident in rows:
        minutes = service_needs(session, resident).minutes
        if booking.service_minutes != minutes:
            booking.service_minutes = minutes
            session.add(booking)
            changed += 1
    session.flush()
    return changed


OFFICE_FIELDS = ("name", "address", "lat", "lon")


def office_change(session: Session, data: dict[str, str]) -> Change:
    """The office's name, address and location (the teams' start and end point)."""
    f = _Form(data)
    name = f.text("name", 200)
    address = f.text("address", 300)
    lat = f.number("lat", -11.5, 6.5)  # Indonesia
    lon = f.number("lon", 94.5, 141.5)
    f.done()
    existing = session.exec(select(Office)).first()

    def apply(s: Session) -> tuple[int | None, dict | None, dict | None]:
        row = existing or Office(name=name, address=address, lat=lat, lon=lon)  # type: ignore[arg-type]
        before = _values(row, OFFICE_FIELDS) if existing else None
        row.name, row.address, row.lat, row.lon = name, address, lat, lon  # type: ignore[assignment]
        s.add(row)
        s.flush()
        return row.id, before, _values(row, OFFICE_FIELDS)

    return Change("update" if existing else "create", "office", apply)
