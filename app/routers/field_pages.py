"""The field officer's tablet page: ``/field?date=`` (their own team's day), the no-JavaScript
outcome form post, and the service worker ``/field/sw.js`` (scope ``/field``).

The page reads the same domain query as ``GET /api/v1/field/day`` (``visits.field.queries.day_route``);
with JavaScript (``/static/field/field.js``) outcomes are queued in IndexedDB and sent to the JSON
API when online; without it each outcome form is a normal post to this router.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session
from starlette.datastructures import FormData

from app.auth import Principal, audit_read_many, require_roles
from app.deps import DbId, Now, OfficeInfo, Policy, ReadDB, Travel, WriteDB
from app.field_forms import OutcomeIn
from app.settings import get_settings
from app.web import STATIC_DIR, render, small_form
from visits.booking.notices import Office
from visits.booking.slots import SlotPolicy
from visits.errors import InvalidInput
from visits.field import service
from visits.field.queries import day_route, stop_actions
from visits.planning.travel import TravelService
from visits.staff.roles import FIELD

router = APIRouter(include_in_schema=False)
officer = require_roles(*FIELD)
SW_FILE = Path(STATIC_DIR) / "field" / "sw.js"
# the outcome codes of the field API contract, in the order the form lists them
OUTCOMES = ("recorded", "not_home", "companion_absent", "unwell", "refused", "wrong_address", "moved", "deceased", "already_recorded", "kit_failure")
NO_STORE = {"Cache-Control": "private, no-cache"}


def _tz() -> ZoneInfo:
    return ZoneInfo(get_settings().timezone)


def _offset(day: date) -> str:
    """The office's UTC offset on ``day`` as ``+07:00`` (the tablet builds ISO times with it)."""
    off = datetime.combine(day, time(12), _tz()).utcoffset() or timedelta(0)
    minutes = int(off.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


@router.get("/field", response_class=HTMLResponse)
def field_day(
    request: Request,
    session: ReadDB,
    now: Now,
    travel: Travel,
    day: date | None = Query(default=None, alias="date"),
    saved: int | None = Query(default=None),
    principal: Principal = Depends(officer),
) -> HTMLResponse:
    local = now.astimezone(_tz())
    today = local.date()
    day = day or today
    found = day_route(session, principal.team_id, day, now, travel)
    route = found.as_dict()
    # a count only (no personal data shown, so no audit): yesterday's visits still planned
    unfinished = sum(1 for s in day_route(session, principal.team_id, day - timedelta(days=1), now, travel).as_dict()["stops"] if s["state"] == "planned") if day == today else 0
    if found.residents:  # the page shows each resident's name, address, group and companion: one audit row each
        audit_read_many(session, request, principal, entity="visit_request", items=found.residents)
    context = {
        "route": route,
        "day": day,
        "today": today,
        "yesterday": day - timedelta(days=1),
        "tomorrow": day + timedelta(days=1),
        "is_today": day == today,
        "unfinished_yesterday": unfinished,
        "offset": _offset(day),
        "outcomes": OUTCOMES,
        "saved": saved,
        "stop_actions": stop_actions,
        "tile_url": get_settings().map_tile_url,
        "form_ids": {s["visit_id"]: str(uuid.uuid4()) for s in route["stops"]},
        "day_ends_in": int((datetime.combine(today + timedelta(days=1), time(0), _tz()) - local).total_seconds()),
        "cache_days": [today.isoformat(), (today + timedelta(days=1)).isoformat()],
        "stops_js": [{"visit_id": s["visit_id"], "lat": s["lat"], "lon": s["lon"], "state": s["state"]} for s in route["stops"]],
    }
    response = render(request, "field/day.html", context)
    response.headers.update(NO_STORE | {"X-Field-Day": day.isoformat()})  # the service worker files its copy under this day
    return response


def _moment(day: date, value: object) -> datetime | None:
    """``HH:MM`` of the form on ``day`` in the office's timezone."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.combine(day, time.fromisoformat(value), _tz())
    except ValueError:
        raise InvalidInput("fieldui.bad_time", field="arrived_at") from None


def _number(value: object) -> float | None:
    try:
        return float(value) if isinstance(value, str) and value.strip() else None
    except ValueError:
        return None


@router.post("/field/visits/{visit_id}/outcome")
def field_outcome(
    visit_id: DbId,
    request: Request,
    session: WriteDB,
    now: Now,
    travel: Travel,
    policy: Policy,
    office: OfficeInfo,
    form: FormData = Depends(small_form()),
    principal: Principal = Depends(officer),
) -> Response:
    """The outcome form without JavaScript: a normal post, then back to the day's page."""
    try:
        day = date.fromisoformat(str(form.get("date", "")))
    except ValueError:
        day = now.astimezone(_tz()).date()
    body = {
        "client_id": str(form.get("client_id") or uuid.uuid4()),
        "outcome": form.get("outcome"),
        # times left empty on the form are the moment it was sent
        "arrived_at": _moment(day, form.get("arrived_at")) or now,
        "finished_at": _moment(day, form.get("finished_at")) or now,
        "note": str(form.get("note") or "").strip() or None,
        "lat": _number(form.get("lat")),
        "lon": _number(form.get("lon")),
    }
    who = form.get("request_id")
    if isinstance(who, str) and who.isascii() and who.isdigit() and len(who) <= 9:
        body["request_id"] = int(who)  # a group visit: the resident this outcome is for
    _record(session, principal, visit_id, body, now, travel, policy, office)
    return RedirectResponse(f"/field?date={day.isoformat()}&saved={visit_id}#visit-{visit_id}", status_code=303)


def _record(session: Session, principal: Principal, visit_id: int, body: dict, now: datetime, travel: TravelService, policy: SlotPolicy, office: Office) -> dict:
    """Record one outcome through the field service, with the JSON API's body (one validation)."""
    try:
        parsed = OutcomeIn(**body)
    except ValidationError:
        raise InvalidInput("fieldui.bad_outcome", field="outcome") from None
    data = service.OutcomeInput(parsed.client_id, parsed.outcome, parsed.arrived_at, parsed.finished_at, parsed.note, parsed.lat, parsed.lon, parsed.request_id)
    return service.record_outcome(session, team_id=principal.team_id, officer_id=principal.user_id, booking_id=visit_id, data=data, now=now, travel=travel, policy=policy, office=office).as_dict()


@router.get("/field/sw.js")
def service_worker() -> Response:
    """The service worker (no personal data); allowed to control ``/field`` and its pages."""
    return Response(SW_FILE.read_text(encoding="utf-8"), media_type="text/javascript", headers={"Service-Worker-Allowed": "/field", "Cache-Control": "no-cache"})
