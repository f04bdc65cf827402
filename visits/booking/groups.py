"""Group visits: one booking at one address for several residents (a care home, a family with two
elderly members).

Design (the smallest that keeps every other rule): each resident keeps their own request; a
``group_member`` row ties a member's request to the group's *lead* request. The lead's booking is
the group's one stop: its service time is the sum of every resident's service time
(:func:`group_needs`, used by the offers and the confirmation), so the planner, the slot offers
and the route check see one longer visit without knowing about groups. Members are ``booked``
while the lead is; each member gets their own outcome on the lead's booking
(``visits.field.service.record_outcome(..., request_id=member)``), so each counts toward coverage;
the booking is done once every resident of it has an outcome. A member whose visit did not record
(not home, unwell ...) leaves the group and is offered slots alone.

Rules: the members live at the lead's address (same kelurahan, RT, RW and street); a member may
not need a skill the lead's visit does not already need (make the resident who needs the ODGJ
companion the lead); a booked group only grows when the longer visit still fits its team-day.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, delete, select

from visits.booking.models import Booking, GroupMember
from visits.errors import Conflict, InvalidInput, NotFound
from visits.intake.models import RequestStatus, Resident, VisitRequest
from visits.planning.translate import ServiceNeeds, service_needs
from visits.planning.travel import TravelService

JOINABLE = (RequestStatus.ELIGIBLE, RequestStatus.OFFERED)  # a member joins before it has a booking of its own


def members(session: Session, lead_request_id: int) -> list[VisitRequest]:
    return list(
        session.exec(
            select(VisitRequest).join(GroupMember, col(GroupMember.member_request_id) == col(VisitRequest.id)).where(GroupMember.lead_request_id == lead_request_id).order_by(col(GroupMember.id))
        ).all()
    )


def lead_of(session: Session, request_id: int) -> int | None:
    """The lead request of the group ``request_id`` is a member of (None: not a member)."""
    return session.exec(select(GroupMember.lead_request_id).where(GroupMember.member_request_id == request_id)).first()


def group_needs(session: Session, request: VisitRequest, resident: Resident) -> ServiceNeeds:
    """The visit's needs: the lead's, plus every member's service time (one stop, summed)."""
    needs = service_needs(session, resident)
    assert request.id is not None
    minutes, skills = needs.minutes, set(needs.skills)
    for member in members(session, request.id):
        other = session.get(Resident, member.resident_id)
        assert other is not None
        extra = service_needs(session, other)
        minutes += extra.minutes
        skills |= extra.skills
    return ServiceNeeds(minutes=minutes, skills=frozenset(skills))


def _same_address(a: Resident, b: Resident) -> bool:
    def street(r: Resident) -> str:
        return " ".join(r.street.lower().replace(".", " ").split())

    return (a.kelurahan_id, a.rt, a.rw, street(a)) == (b.kelurahan_id, b.rt, b.rw, street(b))


def add_member(session: Session, lead_request_id: int, member_request_id: int, now: datetime, travel: TravelService) -> Booking | None:
    """Add a resident's request to the lead's visit; returns the group's booking (None before it is booked)."""
    from visits.booking import slots  # slots uses group_needs

    if lead_request_id == member_request_id:
        raise InvalidInput("booking.group.self", field="member_request_id")
    lead = session.exec(select(VisitRequest).where(VisitRequest.id == lead_request_id).with_for_update()).first()
    member = session.get(VisitRequest, member_request_id)
    if lead is None or member is None:
        raise NotFound()
    if lead_of(session, lead_request_id) is not None or members(session, member_request_id) or lead_of(session, member_request_id) is not None:
        raise Conflict("booking.group.already")
    if member.status not in JOINABLE:
        raise Conflict("booking.group.member_status")
    if lead.status not in (*JOINABLE, RequestStatus.BOOKED):
        raise Conflict("booking.group.lead_status")
    lead_res, member_res = session.get(Resident, lead.resident_id), session.get(Resident, member.resident_id)
    assert lead_res is not None and member_res is not None
    if not _same_address(lead_res, member_res):
        raise InvalidInput("booking.group.address", field="member_request_id")
    if not service_needs(session, member_res).skills <= service_needs(session, lead_res).skills:
        raise InvalidInput("booking.group.skill", field="member_request_id")
    current = slots.booking_of(session, lead_request_id)
    if current is not None:  # a booked group only grows when the longer visit still fits its team-day
        booking, td = current
        now_needs = group_needs(session, lead, lead_res)
        needs = ServiceNeeds(now_needs.minutes + service_needs(session, member_res).minutes, now_needs.skills)
        assert lead_res.lat is not None and lead_res.lon is not None
        if not slots.fits_team_day(session, td, (lead_res.lat, lead_res.lon), needs, booking.window_start, booking.window_end, now, travel, lead_request_id):
            raise Conflict("booking.group.no_room")
    session.add(GroupMember(lead_request_id=lead_request_id, member_request_id=member_request_id, created_at=now))
    session.flush()
    slots.release_holds(session, member_request_id)
    if current is None:
        member.status, member.updated_at = RequestStatus.ELIGIBLE, now
        if lead.status == RequestStatus.OFFERED:  # the lead's offers were for a shorter visit
            slots.release_holds(session, lead_request_id)
            lead.status = RequestStatus.ELIGIBLE
        session.flush()
        return None
    booking.service_minutes = needs.minutes
    member.status, member.updated_at = RequestStatus.BOOKED, now
    slots.bump(session, td.id)  # type: ignore[arg-type]
    session.flush()
    return booking


def leave(session: Session, member_request_id: int) -> None:
    """The member leaves its group (its part of the visit is done, or it was cancelled)."""
    session.exec(delete(GroupMember).where(col(GroupMember.member_request_id) == member_request_id))


def member_cancelled(session: Session, member_request_id: int, now: datetime) -> int | None:
    """A member's request was cancelled: it leaves the group, whose booked visit gets shorter (the team-day id)."""
    from visits.booking import slots

    lead_id = lead_of(session, member_request_id)
    if lead_id is None:
        return None
    leave(session, member_request_id)
    session.flush()
    current = slots.booking_of(session, lead_id)
    lead = session.get(VisitRequest, lead_id)
    if current is None or lead is None:
        return None
    booking, td = current
    resident = session.get(Resident, lead.resident_id)
    assert resident is not None
    booking.service_minutes = group_needs(session, lead, resident).minutes
    slots.bump(session, td.id)  # type: ignore[arg-type]
    session.flush()
    return td.id


def release_members(session: Session, lead_request_id: int, now: datetime) -> list[int]:
    """The lead's visit was cancelled: its members are eligible on their own again (ids)."""
    released = []
    for member in members(session, lead_request_id):
        assert member.id is not None
        leave(session, member.id)
        if member.status == RequestStatus.BOOKED:
            member.status, member.updated_at = RequestStatus.ELIGIBLE, now
        released.append(member.id)
    session.flush()
    return released


def members_booked(session: Session, lead_request_id: int, now: datetime) -> None:
    """The lead's visit was booked: so are its members (they are visited in it)."""
    for member in members(session, lead_request_id):
        if member.status in JOINABLE:
            member.status, member.updated_at = RequestStatus.BOOKED, now
            session.add(member)


def residents_of_booking(session: Session, booking: Booking) -> list[int]:
    """The requests one booking visits: the lead's, then its members'."""
    return [booking.request_id, *(m.id for m in members(session, booking.request_id) if m.id is not None)]


def all_visited(session: Session, booking: Booking) -> bool:
    """Has every resident of this booking an outcome on it?"""
    from visits.field.models import Visit

    done = set(session.exec(select(Visit.request_id).where(Visit.booking_id == booking.id)).all())
    return set(residents_of_booking(session, booking)) <= done


def visit_minutes(session: Session, lead_request_id: int) -> int:
    """The group's visit length: the booked one, else every resident's service time summed."""
    from visits.booking import slots

    current = slots.booking_of(session, lead_request_id)
    if current is not None:
        return current[0].service_minutes
    lead = session.get(VisitRequest, lead_request_id)
    if lead is None:
        raise NotFound()
    resident = session.get(Resident, lead.resident_id)
    assert resident is not None
    return group_needs(session, lead, resident).minutes


def joinable_at_address(session: Session, lead_request_id: int) -> list[tuple[VisitRequest, Resident]]:
    """Other residents at the lead's address whose request could join its visit (eligible or offered, in no group)."""
    lead = session.get(VisitRequest, lead_request_id)
    if lead is None:
        raise NotFound()
    home = session.get(Resident, lead.resident_id)
    assert home is not None
    rows = session.exec(
        select(VisitRequest, Resident)
        .join(Resident, col(Resident.id) == col(VisitRequest.resident_id))
        .where(col(VisitRequest.status).in_(JOINABLE), VisitRequest.id != lead_request_id, Resident.kelurahan_id == home.kelurahan_id, Resident.rt == home.rt, Resident.rw == home.rw)
        .order_by(col(VisitRequest.id))
    ).all()
    grouped = set(session.exec(select(GroupMember.member_request_id)).all()) | set(session.exec(select(GroupMember.lead_request_id)).all())
    return [(r, res) for r, res in rows if r.id not in grouped and _same_address(home, res)]


def remove_member(session: Session, lead_request_id: int, member_request_id: int, now: datetime) -> None:
    """The member leaves the lead's visit (not cancelled): eligible on its own again, the visit shorter."""
    if lead_of(session, member_request_id) != lead_request_id:
        raise InvalidInput("booking.group.not_member", field="member_request_id")
    member = session.get(VisitRequest, member_request_id)
    assert member is not None
    member_cancelled(session, member_request_id, now)  # leaves; a booked visit gets shorter (re-planned)
    if member.status == RequestStatus.BOOKED:
        member.status = RequestStatus.ELIGIBLE
    member.updated_at = now
    session.add(member)
    session.flush()


def can_lead(session: Session, request: VisitRequest) -> bool:
    """May other residents join this request's visit (it is in no group as a member, and open to it)?"""
    return request.id is not None and request.status in (*JOINABLE, RequestStatus.BOOKED) and lead_of(session, request.id) is None
