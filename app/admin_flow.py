"""The admin pages' one submit path: validate, show the bookings a change would break and ask
to confirm, or apply it (``visits.teams.admin.run``) and show what happened to each booking."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session
from starlette.datastructures import FormData

from app.auth import CSRF_FIELD, Principal, require_roles, route_template
from app.deps import Now, OfficeInfo, Policy, Travel, WriteDB
from app.i18n import translate
from app.web import render, request_language, small_form
from visits.booking.notices import Office
from visits.booking.slots import SlotPolicy
from visits.planning.travel import TravelService
from visits.staff.roles import ADMINS
from visits.teams import admin, capacity, queries
from visits.teams.admin import Change, FieldErrors

CONFIRM_FIELD = "confirm"
REHOME_OUTCOMES = {"moved": capacity.MOVED, "reoffered": capacity.REOFFERED, "unplaced": capacity.UNPLACED}


def form_dict(form) -> dict[str, str]:  # noqa: ANN001 - starlette FormData
    return {k: v for k, v in form.items() if isinstance(v, str) and k not in (CSRF_FIELD, CONFIRM_FIELD)}


def error_texts(request: Request, exc: FieldErrors) -> dict[str, str]:
    lang = request_language(request)
    return {name: translate(key, lang) for name, key in exc.errors.items()}


@dataclass(frozen=True)
class AdminForm:
    """One admin form post, with what applying a change needs (the write session, the clock, the
    planner's inputs, who posts it)."""

    request: Request
    session: Session
    principal: Principal
    form: dict[str, str]
    confirmed: bool
    now: datetime
    travel: TravelService
    policy: SlotPolicy
    office: Office

    def submit(self, make_change: Callable[[], Change], *, back: str, on_error: Callable[[dict[str, str]], HTMLResponse], confirmed: bool = False) -> Response:
        """Validate, ask to confirm the bookings the change would break, or apply it and show what
        happened to each booking. ``confirmed``: the change never needs asking (it breaks nothing)."""
        request, session = self.request, self.session
        try:
            change = make_change()
        except FieldErrors as exc:
            return on_error(error_texts(request, exc))
        outcome = admin.run(
            session,
            change,
            user_id=self.principal.user_id,
            route=route_template(request),
            confirmed=confirmed or self.confirmed,
            now=self.now,
            travel=self.travel,
            policy=self.policy,
            office=self.office,
        )
        team_names = {row.team.id: row.team.name for row in queries.teams(session)}
        if outcome.pending is not None:
            return render(request, "admin/confirm.html", {"affected": outcome.pending, "form": self.form, "action": request.url.path, "back": back})
        if outcome.rehomed:
            return render(request, "admin/rehomed.html", {"rehomed": outcome.rehomed, "back": back, "team_names": team_names, "outcomes": REHOME_OUTCOMES})
        return RedirectResponse(back, status_code=303)


def admin_form(
    request: Request,
    session: WriteDB,
    now: Now,
    travel: Travel,
    policy: Policy,
    office: OfficeInfo,
    principal: Principal = Depends(require_roles(*ADMINS)),
    raw: FormData = Depends(small_form()),
) -> AdminForm:
    return AdminForm(request, session, principal, form_dict(raw), raw.get(CONFIRM_FIELD) == "1", now, travel, policy, office)


AdminPost = Annotated[AdminForm, Depends(admin_form)]
