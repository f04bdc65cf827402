"""The admin pages' one submit path: validate, show the bookings a change would break and ask
to confirm, or apply it (``visits.teams.admin.run``) and show what happened to each booking."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from app.auth import CSRF_FIELD, Principal, route_template
from app.i18n import translate
from app.web import render, request_language
from visits.booking.notices import Office
from visits.booking.slots import SlotPolicy
from visits.planning.travel import TravelService
from visits.teams import admin, capacity, queries
from visits.teams.admin import Change, FieldErrors

CONFIRM_FIELD = "confirm"
REHOME_OUTCOMES = {"moved": capacity.MOVED, "reoffered": capacity.REOFFERED, "unplaced": capacity.UNPLACED}


def form_dict(form) -> dict[str, str]:  # noqa: ANN001 - starlette FormData
    return {k: v for k, v in form.items() if isinstance(v, str) and k not in (CSRF_FIELD, CONFIRM_FIELD)}


def error_texts(request: Request, exc: FieldErrors) -> dict[str, str]:
    lang = request_language(request)
    return {name: translate(key, lang) for name, key in exc.errors.items()}


def submit(
    request: Request,
    principal: Principal,
    session: Session,
    make_change: Callable[[], Change],
    *,
    form: dict[str, str],
    confirmed: bool,
    back: str,
    on_error: Callable[[dict[str, str]], HTMLResponse],
    now,  # noqa: ANN001
    travel: TravelService,
    policy: SlotPolicy,
    office: Office,
) -> Response:
    try:
        change = make_change()
    except FieldErrors as exc:
        return on_error(error_texts(request, exc))
    outcome = admin.run(session, change, user_id=principal.user_id, route=route_template(request), confirmed=confirmed, now=now, travel=travel, policy=policy, office=office)
    team_names = {row.team.id: row.team.name for row in queries.teams(session)}
    if outcome.pending is not None:
        return render(request, "admin/confirm.html", {"affected": outcome.pending, "form": form, "action": request.url.path, "back": back})
    if outcome.rehomed:
        return render(request, "admin/rehomed.html", {"rehomed": outcome.rehomed, "back": back, "team_names": team_names, "outcomes": REHOME_OUTCOMES})
    return RedirectResponse(back, status_code=303)
