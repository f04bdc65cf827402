"""The officer's day: visit outcomes synced from the tablet (idempotent), "on our way", running
late, and the rest of the day kept feasible from where the team stands.

Every use case takes ``now``, the travel times, the slot policy and the office; each only
flushes. A team-day whose bookings change is bumped (``visits.booking.slots.bump``) and so
re-planned after the commit, from where the team stands (``visits.planning.rest_of_day``).

``visit_id`` in the API is the id of a booking on the officer's team: a booking of another team
is not found (404); a booking of this team that is no longer confirmed (cancelled, moved to
another team, already recorded) is a :class:`VisitConflict` (409).

Next steps of an outcome (the booking becomes DONE in every case: the team went there):

- ``recorded``: the request is VISITED (counts toward coverage), the resident's E-KTP recorded
  at the finish time;
- ``not_home`` / ``companion_absent`` / ``unwell``: the request goes back to the family: a
  message, then new offers (``visits.booking.service.offer``); offered requests are on the
  operator's chase list;
- ``refused`` / ``wrong_address`` / ``moved`` / ``deceased`` / ``already_recorded``: the request is
  CLOSED; the visit's outcome is the reason (shown on the case page);
- ``kit_failure``: ``visits.teams.kits.report_kit_failure`` puts the team's kit out of service
  and moves or re-offers the team's remaining bookings; this visit's request is re-offered.

The officer's GPS position refines the resident's location (``LocationSource.OFFICER_GPS``) when
the officer stood at the right home: recorded and the three re-offered outcomes.

After an outcome or a "running late" report on today's team-day, the team stands somewhere new
(:class:`~visits.models.TeamStand`); when the remaining booked windows can no longer all be kept
from there (current order, else cheapest insertion in window order), the ones that cannot are
released: the family is told and gets new offers (the operator's chase list shows them).
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

import routing
from routing.insertion import CommittedRoutes
from visits.booking import groups, slots
from visits.booking.notices import Office
from visits.booking.service import offer
from visits.errors import Conflict, InvalidInput, NotFound
from visits.field.models import NextStep, OnOurWay, TeamStand, Visit, VisitOutcome
from visits.field.notices import tell_family
from visits.models import Booking, BookingStatus, LocationSource, Plan, PlanStatus, PlanStop, RequestStatus, Resident, TeamDay, VisitRequest
from visits.planning.replan import load_team_day
from visits.planning.travel import TravelService

# the outcomes the field API takes (VisitOutcome also keeps two codes of the first schema)
FIELD_OUTCOMES: tuple[str, ...] = (
    VisitOutcome.RECORDED,
    VisitOutcome.NOT_HOME,
    VisitOutcome.COMPANION_ABSENT,
    VisitOutcome.UNWELL,
    VisitOutcome.REFUSED,
    VisitOutcome.WRONG_ADDRESS,
    VisitOutcome.MOVED,
    VisitOutcome.DECEASED,
    VisitOutcome.ALREADY_RECORDED,
    VisitOutcome.KIT_FAILURE,
)
REOFFER = frozenset({VisitOutcome.NOT_HOME, VisitOutcome.COMPANION_ABSENT, VisitOutcome.UNWELL})
CLOSE = frozenset({VisitOutcome.REFUSED, VisitOutcome.WRONG_ADDRESS, VisitOutcome.MOVED, VisitOutcome.DECEASED, VisitOutcome.ALREADY_RECORDED})
AT_THE_HOME = frozenset({VisitOutcome.RECORDED}) | REOFFER  # the GPS position is the resident's home


def next_step_of(outcome: str) -> NextStep:
    if outcome == VisitOutcome.RECORDED:
        return NextStep.COMPLETED
    if outcome in REOFFER:
        return NextStep.REOFFERED
    if outcome == VisitOutcome.KIT_FAILURE:
        return NextStep.KIT_OUT_OF_SERVICE
    return NextStep.CLOSED


class VisitConflict(Conflict):
    """The visit is no longer a confirmed booking of this team (cancelled, moved, recorded)."""

    code = "visit_conflict"


class ClientIdReused(InvalidInput):
    """The same client id came back with a different body."""

    code = "client_id_reused"


@dataclass(frozen=True)
class OutcomeInput:
    client_id: str
    outcome: str
    arrived_at: datetime
    finished_at: datetime
    note: str | None = None
    lat: float | None = None
    lon: float | None = None
    request_id: int | None = None  # a group visit's member (None: the booking's own request)

    def body_hash(self, booking_id: int) -> str:
        """What makes a replay "the same": every field of the body, and the visit it is for."""
        body = {
            "visit_id": booking_id,
            "client_id": self.client_id,
            "outcome": self.outcome,
            "arrived_at": self.arrived_at.astimezone(ZoneInfo("UTC")).isoformat(),
            "finished_at": self.finished_at.astimezone(ZoneInfo("UTC")).isoformat(),
            "note": self.note or None,
            "lat": self.lat,
            "lon": self.lon,
        }
        if self.request_id is not None:
            body["request_id"] = self.request_id
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class OutcomeResult:
    visit_id: int
    outcome: str
    next_step: str
    replayed: bool
    released: list[int] = field(default_factory=list)  # bookings of the rest of the day that could not be kept
    request_id: int | None = None
    resident_id: int | None = None

    def as_dict(self) -> dict:
        return {"visit_id": self.visit_id, "outcome": self.outcome, "next_step": self.next_step, "replayed": self.replayed}


# ---------------------------------------------------------------- the officer's booking


def team_booking(session: Session, team_id: int | None, booking_id: int, *, lock: bool = False) -> tuple[Booking, TeamDay]:
    """The booking when it lies on ``team_id``'s days (whatever its status), else NotFound."""
    booking = session.get(Booking, booking_id)
    if booking is None or team_id is None:
        raise NotFound("field.not_found")
    q = select(TeamDay).where(TeamDay.id == booking.team_day_id)
    td = session.exec(q.with_for_update() if lock else q).first()
    if td is None or td.team_id != team_id:
        raise NotFound("field.not_found")
    if lock:
        session.refresh(booking)  # read again under the team-day lock
    return booking, td


def _ensure_confirmed(booking: Booking) -> None:
    if booking.status == BookingStatus.CONFIRMED:
        return
    key = {BookingStatus.CANCELLED: "field.conflict.cancelled", BookingStatus.RESCHEDULED: "field.conflict.moved", BookingStatus.DONE: "field.conflict.done"}.get(
        booking.status, "field.conflict.cancelled"
    )  # type: ignore[call-overload]
    raise VisitConflict(key)


def _local(moment: datetime, tz: str) -> datetime:
    return moment.astimezone(ZoneInfo(tz))


def _valid_position(lat: float | None, lon: float | None) -> tuple[float, float] | None:
    if lat is None or lon is None:
        return None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or math.isnan(lat) or math.isnan(lon):
        raise InvalidInput("field.bad_position", field="lat")
    return (lat, lon)


# ---------------------------------------------------------------- outcomes


def record_outcome(
    session: Session, *, team_id: int | None, officer_id: int, booking_id: int, data: OutcomeInput, now: datetime, travel: TravelService, policy: slots.SlotPolicy, office: Office
) -> OutcomeResult:
    """Store the outcome of one visit (once per client id) and take its next step."""
    digest = data.body_hash(booking_id)
    replay = _replay(session, data.client_id, digest)
    if replay is not None:
        team_booking(session, team_id, replay.visit_id)  # another team's officer learns nothing
        return replay
    if data.outcome not in FIELD_OUTCOMES:
        raise InvalidInput("field.bad_outcome", field="outcome")
    if data.finished_at < data.arrived_at:
        raise InvalidInput("field.finished_before_arrival", field="finished_at")
    position = _valid_position(data.lat, data.lon)
    booking, td = team_booking(session, team_id, booking_id, lock=True)
    replay = _replay(session, data.client_id, digest)  # a concurrent sync of the same outcome won the lock
    if replay is not None:
        return replay
    _ensure_confirmed(booking)
    request_id = data.request_id or booking.request_id
    if request_id not in groups.residents_of_booking(session, booking):
        raise NotFound("field.not_found")  # not a resident of this visit
    if session.exec(select(Visit.id).where(Visit.booking_id == booking.id, Visit.request_id == request_id)).first() is not None:
        raise VisitConflict("field.conflict.done")  # this resident of a group visit has an outcome already
    request = session.get(VisitRequest, request_id)
    resident = session.get(Resident, request.resident_id) if request else None
    assert request is not None and resident is not None
    step = next_step_of(data.outcome)
    visit = Visit(
        client_uuid=data.client_id,
        body_hash=digest,
        booking_id=booking.id,  # type: ignore[arg-type]
        request_id=request.id,  # type: ignore[arg-type]
        officer_id=officer_id,
        outcome=data.outcome,
        next_step=step,
        notes=(data.note or None),
        arrived_at=data.arrived_at,
        finished_at=data.finished_at,
        recorded_on_device_at=data.finished_at,
        received_at=now,
        gps_lat=position[0] if position else None,
        gps_lon=position[1] if position else None,
    )
    session.add(visit)
    if request_id != booking.request_id:
        groups.leave(session, request_id)  # a member's part of the group visit is done
    session.flush()
    finished = groups.all_visited(session, booking)  # every resident of the visit has an outcome
    if finished:
        booking.status = BookingStatus.DONE
        slots.bump(session, td.id)  # type: ignore[arg-type]
    request.updated_at = now
    if position is not None and data.outcome in AT_THE_HOME:
        resident.lat, resident.lon = position
        resident.location_source = LocationSource.OFFICER_GPS
        resident.updated_at = now
    session.flush()

    if step == NextStep.COMPLETED:
        request.status = RequestStatus.VISITED
        resident.ektp_recorded_at = data.finished_at
    elif step == NextStep.CLOSED:
        request.status = RequestStatus.CLOSED
    elif step == NextStep.REOFFERED:
        tell_family(session, request, "missed", office=office.name)
        _back_to_family(session, request, now, travel, policy, office)
    elif step == NextStep.KIT_OUT_OF_SERVICE:
        from visits.teams.kits import report_kit_failure  # the administration domain

        report_kit_failure(session, team_id=td.team_id, since=now, now=now, travel=travel, policy=policy, office=office)
        tell_family(session, request, "missed", office=office.name)
        _back_to_family(session, request, now, travel, policy, office)
    session.flush()

    released: list[int] = []
    if finished and td.day == _local(now, policy.timezone).date():
        _stand_after_visit(session, td, booking, resident, visit, now, policy.timezone)
        released = keep_rest_of_day(session, td, now, travel, policy, office)
    return OutcomeResult(booking.id, data.outcome, step, False, released, request.id, resident.id)  # type: ignore[arg-type]


def _replay(session: Session, client_id: str, digest: str) -> OutcomeResult | None:
    visit = session.exec(select(Visit).where(Visit.client_uuid == client_id)).first()
    if visit is None:
        return None
    if visit.body_hash != digest:
        raise ClientIdReused("field.client_id_reused", field="client_id")
    return OutcomeResult(visit.booking_id, visit.outcome, visit.next_step, True, request_id=visit.request_id)


def _back_to_family(session: Session, request: VisitRequest, now: datetime, travel: TravelService, policy: slots.SlotPolicy, office: Office) -> None:
    """The request is open again: new offers go to the family (the chase list shows it)."""
    request.status = RequestStatus.ELIGIBLE
    session.flush()
    offer(session, request, now, travel, policy, office)


# ---------------------------------------------------------------- where the team stands


def _stand(session: Session, td: TeamDay, now: datetime) -> TeamStand:
    row = session.exec(select(TeamStand).where(TeamStand.team_day_id == td.id)).first()
    if row is None:
        row = TeamStand(team_day_id=td.id, free_from=time(0, 0), done=[], updated_at=now)  # type: ignore[arg-type]
        session.add(row)
    return row


def _wall_clock(day: date, moment: datetime, tz: str) -> time:
    """``moment`` as a time of ``day`` in the office's timezone (clamped to that day)."""
    local = _local(moment, tz)
    if local.date() < day:
        return time(0, 0)
    if local.date() > day:
        return time(23, 59)
    return time(local.hour, local.minute)


def _stand_after_visit(session: Session, td: TeamDay, booking: Booking, resident: Resident, visit: Visit, now: datetime, tz: str) -> None:
    """The team stood at this home when it finished this visit. Outcomes synced late (queued
    offline) say where the team was then, not now: the stand only moves forward (the visit that
    finished last), so a backlog arriving at noon never makes the morning look missed."""
    stand = _stand(session, td, now)
    point = (visit.gps_lat, visit.gps_lon) if visit.gps_lat is not None else (resident.lat, resident.lon)
    finished = _wall_clock(td.day, visit.finished_at or now, tz)
    if finished >= stand.free_from:
        stand.free_from = finished
        stand.lat, stand.lon = point
        stand.late_minutes, stand.live = 0, False
    start = _wall_clock(td.day, visit.arrived_at or now, tz)
    stand.done = [*stand.done, {"booking_id": booking.id, "lat": point[0], "lon": point[1], "start": start.strftime("%H:%M"), "service": booking.service_minutes}]
    stand.updated_at = now
    session.flush()


def report_late(
    session: Session, *, team_id: int | None, minutes: int, lat: float | None, lon: float | None, now: datetime, travel: TravelService, policy: slots.SlotPolicy, office: Office
) -> list[int]:
    """The team runs ``minutes`` late: the rest of today starts here, at now + minutes, and is
    re-planned after the commit. Returns the bookings that could no longer be kept."""
    if team_id is None:
        raise NotFound("field.no_team")
    if not 0 <= minutes <= 600:
        raise InvalidInput("field.bad_minutes", field="minutes")
    position = _valid_position(lat, lon)
    today = _local(now, policy.timezone).date()
    td = slots.team_day_for(session, team_id, today)
    td = session.exec(select(TeamDay).where(TeamDay.id == td.id).with_for_update()).one()
    stand = _stand(session, td, now)
    stand.free_from = _wall_clock(today, now + timedelta(minutes=minutes), policy.timezone)
    if position is not None:
        stand.lat, stand.lon = position
    stand.late_minutes, stand.live = minutes, True
    stand.updated_at = now
    session.flush()
    slots.bump(session, td.id)  # type: ignore[arg-type]
    return keep_rest_of_day(session, td, now, travel, policy, office)


def keep_rest_of_day(session: Session, td: TeamDay, now: datetime, travel: TravelService, policy: slots.SlotPolicy, office: Office) -> list[int]:
    """Release the booked visits the team can no longer reach in their windows from where it
    stands (the others in the current order when it still works, else by cheapest insertion in
    window order); each family is told and gets new offers. Returns the released booking ids."""
    session.flush()
    loaded = load_team_day(session, td.id, travel, now)  # type: ignore[arg-type]
    if loaded is None or loaded.shift is None or loaded.problem is None or not loaded.stops or loaded.initial_order:
        return []  # nothing left, the team is off (kit: handled there), or the current order still works
    kept = CommittedRoutes(loaded.problem.durations, [(loaded.shift, [])])
    unkept: list[routing.Stop] = []
    for stop in sorted(loaded.stops, key=lambda s: (s.windows[0].start, s.id)):
        found = kept.recommend(stop, list(stop.windows), k=1)
        if found:
            kept.commit(found[0], stop)
        else:
            unkept.append(stop)
    released: list[int] = []
    for stop in unkept:
        booking = session.get(Booking, int(stop.id[1:]))
        request = session.get(VisitRequest, booking.request_id) if booking else None
        if booking is None or request is None or booking.status != BookingStatus.CONFIRMED:
            continue
        booking.status = BookingStatus.CANCELLED
        booking.cancelled_at = now
        slots.bump(session, td.id)  # type: ignore[arg-type]
        tell_family(session, request, "cannot_keep", office=office.name, slot=(td.day, booking.window_start, booking.window_end))
        _back_to_family(session, request, now, travel, policy, office)
        released.append(booking.id)  # type: ignore[arg-type]
    session.flush()
    return released


# ---------------------------------------------------------------- on our way


@dataclass(frozen=True)
class OnOurWayResult:
    sent: bool
    eta: time


def on_our_way(
    session: Session, *, team_id: int | None, booking_id: int, lat: float | None, lon: float | None, again: bool, now: datetime, travel: TravelService, policy: slots.SlotPolicy, office: Office
) -> OnOurWayResult:
    """Tell the companion the team is on its way, with the expected arrival: from the officer's
    position when given (travel time from there), else from the plan. Once per visit unless
    ``again``."""
    position = _valid_position(lat, lon)
    booking, td = team_booking(session, team_id, booking_id, lock=True)
    _ensure_confirmed(booking)
    request = session.get(VisitRequest, booking.request_id)
    resident = session.get(Resident, request.resident_id) if request else None
    assert request is not None and resident is not None
    eta = _eta(session, td, booking, resident, position, now, travel, policy.timezone)
    row = session.exec(select(OnOurWay).where(OnOurWay.booking_id == booking.id)).first()
    if row is not None and not again:
        return OnOurWayResult(False, eta)
    tell_family(session, request, "on_our_way", office=office.name, eta=eta)
    if row is None:
        session.add(OnOurWay(booking_id=booking.id, eta=eta, times_sent=1, first_sent_at=now, last_sent_at=now))  # type: ignore[arg-type]
    else:
        row.eta, row.times_sent, row.last_sent_at = eta, row.times_sent + 1, now
    session.flush()
    return OnOurWayResult(True, eta)


def _eta(session: Session, td: TeamDay, booking: Booking, resident: Resident, position: tuple[float, float] | None, now: datetime, travel: TravelService, tz: str) -> time:
    local_now = _local(now, tz)
    if position is not None:
        located = travel.locate([position, (resident.lat, resident.lon)])  # type: ignore[list-item]
        minutes = located.matrix[located.indices[0]][located.indices[1]]
        arrival = local_now + timedelta(minutes=minutes)
        return _not_before(arrival, local_now).time().replace(second=0, microsecond=0)
    planned = planned_arrival(session, td, booking.id, now, travel)  # type: ignore[arg-type]
    if planned is None:
        planned = booking.window_start
    if td.day == local_now.date() and planned < local_now.time().replace(second=0, microsecond=0):
        return local_now.time().replace(second=0, microsecond=0)  # late already: "now" is the best estimate
    return planned


def _not_before(arrival: datetime, earliest: datetime) -> datetime:
    arrival = arrival + timedelta(seconds=59)  # round up to the minute
    return max(arrival, earliest)


def planned_arrival(session: Session, td: TeamDay, booking_id: int, now: datetime, travel: TravelService) -> time | None:
    """The arrival at this booking: the current plan's when it holds the booking and is of the
    team-day's version, else the rest of the day scheduled on the fly."""
    plan = session.exec(select(Plan).where(Plan.team_day_id == td.id, Plan.status == PlanStatus.CURRENT, Plan.version == td.version)).first()
    if plan is not None:
        arrival = session.exec(select(col(PlanStop.arrival)).where(PlanStop.plan_id == plan.id, PlanStop.booking_id == booking_id)).first()
        if arrival is not None:
            return arrival
    from visits.field.queries import rest_of_day_schedule

    schedule = rest_of_day_schedule(session, td, now, travel)
    return schedule.arrivals.get(booking_id) if schedule else None
