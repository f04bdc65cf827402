"""The officer's day (``GET /api/v1/field/day``): the team's route with what the tablet shows.

STUB of the field-UI branch: the minimal ``day_route`` the ``/field`` page is built against. The
field-API branch writes the real one (same signature, same JSON); keep that one at merge.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from urllib.parse import quote

from sqlmodel import Session, col, select

from visits.booking.slots import build_world
from visits.field.models import Visit, VisitOutcome
from visits.models import Booking, BookingStatus, Kelurahan, Office, Resident, Team, TeamDay, VisitRequest
from visits.planning.plans import day_plan
from visits.planning.travel import TravelService

GROUP_LABELS = {"elderly": "Lansia", "disabled": "Disabilitas", "mental": "ODGJ", "bedridden": "Terbaring sakit"}
SUCCESS = {VisitOutcome.RECORDED.value}


def _hm(t) -> str | None:  # noqa: ANN001
    return t.strftime("%H:%M") if t is not None else None


def _links(phone: str, lat: float | None, lon: float | None) -> dict:
    digits = phone.lstrip("+")
    links = {"tel": f"tel:{phone}", "whatsapp": f"https://wa.me/{quote(digits)}", "geo": None, "maps": None}
    if lat is not None and lon is not None:
        links["geo"] = f"geo:{lat},{lon}?q={lat},{lon}"
        links["maps"] = f"https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=18/{lat}/{lon}"
    return links


def day_route(session: Session, team_id: int | None, day: date, now: datetime, travel: TravelService) -> dict:
    """The route of ``team_id`` on ``day``: done and failed visits first (in the order they
    happened), then the planned ones in the current plan's order."""
    office = session.exec(select(Office)).first()
    out: dict = {
        "date": day.isoformat(), "team": None, "version": 0, "estimated_end": None, "breaks": [],
        "office": {"name": office.name, "lat": office.lat, "lon": office.lon} if office else None, "pending": 0, "stops": [],
    }
    team = session.get(Team, team_id) if team_id is not None else None
    if team is None or office is None:
        return out
    out["team"] = {"id": team.id, "name": team.name}
    plan = day_plan(session, day, team.id, travel=travel, now=now)
    out["version"] = plan.version
    route = plan.routes[0] if plan.routes else None
    world = build_world(session, [day], travel, now, include_holds=False)
    shift = next((ts for ts in world.team_shifts.values() if ts.team_id == team.id), None)
    if shift is not None and shift.break_minutes and shift.break_earliest is not None:
        start = datetime.combine(day, shift.break_earliest)
        out["breaks"] = [{"start": _hm(start.time()), "end": _hm((start + timedelta(minutes=shift.break_minutes)).time())}]
    td = session.exec(select(TeamDay).where(TeamDay.team_id == team.id, TeamDay.day == day)).first()
    if td is None:
        return out
    rows = session.exec(
        select(Booking, VisitRequest, Resident, Kelurahan)
        .join(VisitRequest, Booking.request_id == VisitRequest.id)  # type: ignore[arg-type]
        .join(Resident, VisitRequest.resident_id == Resident.id)  # type: ignore[arg-type]
        .join(Kelurahan, Resident.kelurahan_id == Kelurahan.id, isouter=True)  # type: ignore[arg-type]
        .where(Booking.team_day_id == td.id, col(Booking.status).in_([BookingStatus.CONFIRMED, BookingStatus.DONE]))
    ).all()
    visits = {v.booking_id: v for v in session.exec(select(Visit).where(col(Visit.booking_id).in_([r[0].id for r in rows]))).all()} if rows else {}
    by_ref = {r[1].reference: r for r in rows}
    planned = [s for s in (route.stops if route else []) if s.reference in by_ref]
    order = sorted((r for r in rows if r[0].id in visits), key=lambda r: (visits[r[0].id].arrived_at or visits[r[0].id].received_at, r[0].id))
    arrivals = {s.reference: s.start or s.arrival for s in planned}  # at the door (after any wait)
    order += [by_ref[s.reference] for s in planned if by_ref[s.reference][0].id not in visits]
    for position, (booking, req, resident, kel) in enumerate(order):
        visit = visits.get(booking.id)
        state = "planned" if visit is None else ("done" if visit.outcome in SUCCESS else "failed")
        groups = [g.value for g in resident.groups]
        out["stops"].append({
            "visit_id": booking.id, "position": position, "window_start": _hm(booking.window_start), "window_end": _hm(booking.window_end),
            "planned_arrival": arrivals.get(req.reference), "reference": req.reference, "resident_name": resident.full_name,
            "groups": groups, "group_labels": [GROUP_LABELS.get(g, g) for g in groups], "approach_notes": resident.approach_notes,
            "needs_companion": resident.group_mental,
            "address": {"street": resident.street, "rt": resident.rt, "rw": resident.rw, "kelurahan": kel.name if kel else None},
            "lat": resident.lat, "lon": resident.lon,
            "companion": {"name": req.companion_name, "relation": req.companion_relation, "phone": req.companion_phone},
            "links": _links(req.companion_phone, resident.lat, resident.lon),
            "state": state, "outcome": visit.outcome if visit else None,
        })
    ends = [s.end for s in (route.stops if route else []) if s.end]
    out["estimated_end"] = max(ends) if ends else None
    return out
