"""Administration of staff users, and the audited read of one resident's personal data."""

from __future__ import annotations

from datetime import date, datetime

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel
from sqlmodel import Session, select

from app.auth import Principal, audit_read, require_roles, route_template
from app.db import ReadSession, WriteSession
from app.deps import MAX_ID, DbId
from app.web import render
from visits.errors import Conflict, DomainError, NotFound
from visits.intake.export import resident_export
from visits.models import Resident, Role, Team, User
from visits.staff import audit
from visits.staff.roles import ADMINS, CASE_WORKERS
from visits.staff.users import change_role_and_team, create_user, set_active

router = APIRouter()

ADMIN = require_roles(*ADMINS)
# the raw resident record (full NIK, birth date, disability, exact location) is casework: the front office
# (operator; admin stands in for it). The division head supervises through the audited case page and the
# dashboards, and officers get their own team's stops from the plan, so neither reads residents directly.
CASE_WORKER = require_roles(*CASE_WORKERS)


class ResidentOut(BaseModel):
    """Personal data: every response of this shape is recorded in the audit log."""

    id: int
    nik: str | None  # None once the resident is anonymised
    full_name: str
    birth_date: date
    sex: str
    marital_status: str
    groups: list[str]
    disability_type: str | None
    approach_notes: str | None
    street: str
    rt: str
    rw: str
    kelurahan_id: int | None  # None: an address outside the service area (see outside_kelurahan_code)
    outside_kelurahan_code: str | None
    lat: float | None
    lon: float | None
    location_source: str | None
    ektp_recorded_at: datetime | None


def _users_page(request: Request, session: Session, *, error: DomainError | None = None, form: dict[str, str] | None = None) -> HTMLResponse:
    users = session.exec(select(User).order_by(User.username)).all()
    teams = session.exec(select(Team).order_by(Team.name)).all()
    context = {"users": users, "teams": teams, "team_names": {t.id: t.name for t in teams}, "roles": [r.value for r in Role], "error": error, "form": form or {}}
    return render(request, "admin_users.html", context, error.status_code if error else 200)


@router.get("/admin/users", response_class=HTMLResponse, include_in_schema=False)
def admin_users(request: Request, _: Principal = Depends(ADMIN), session: Session = ReadSession) -> HTMLResponse:
    return _users_page(request, session)


@router.post("/admin/users", response_class=HTMLResponse, include_in_schema=False)
def admin_create_user(
    request: Request,
    principal: Principal = Depends(ADMIN),
    username: str = Form(""),
    role: str = Form(""),
    team_id: int | None = Form(None, ge=1, le=MAX_ID),
    full_name: str = Form(""),
    password: str = Form(""),
    session: Session = WriteSession,
) -> Response:
    try:
        user = create_user(session, username, role, password, team_id=team_id, full_name=full_name)
    except DomainError as exc:  # validated before anything is written: answer with the form again
        return _users_page(request, session, error=exc, form={"username": username, "role": role, "full_name": full_name, "team_id": str(team_id or "")})
    audit.record_change(
        session,
        user_id=principal.user_id,
        action="create",
        entity="app_user",
        entity_id=user.id,
        after={"username": user.username, "role": user.role, "team_id": user.team_id},
        route=route_template(request),
    )
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/admin/users/{user_id}", response_class=HTMLResponse, include_in_schema=False)
def admin_change_user(
    user_id: DbId, request: Request, principal: Principal = Depends(ADMIN), role: str = Form(""), team_id: int | None = Form(None, ge=1, le=MAX_ID), session: Session = WriteSession
) -> Response:
    """Another role or team for a user (audited with before and after)."""
    if user_id == principal.user_id and role != principal.role:
        raise Conflict("auth.cannot_disable_self")
    try:
        before, after = change_role_and_team(session, user_id, role, team_id)
    except DomainError as exc:
        if isinstance(exc, NotFound):
            raise
        return _users_page(request, session, error=exc)
    audit.record_change(session, user_id=principal.user_id, action="update", entity="app_user", entity_id=user_id, before=before, after=after, route=route_template(request))
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/admin/users/{user_id}/disable", include_in_schema=False)
def admin_disable_user(user_id: DbId, request: Request, principal: Principal = Depends(ADMIN), session: Session = WriteSession) -> Response:
    if user_id == principal.user_id:
        raise Conflict("auth.cannot_disable_self")
    set_active(session, user_id, False)
    audit.record_change(session, user_id=principal.user_id, action="deactivate", entity="app_user", entity_id=user_id, before={"active": True}, after={"active": False}, route=route_template(request))
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/admin/users/{user_id}/enable", include_in_schema=False)
def admin_enable_user(user_id: DbId, request: Request, principal: Principal = Depends(ADMIN), session: Session = WriteSession) -> Response:
    set_active(session, user_id, True)
    audit.record_change(session, user_id=principal.user_id, action="activate", entity="app_user", entity_id=user_id, before={"active": False}, after={"active": True}, route=route_template(request))
    return RedirectResponse("/admin/users", status_code=303)


@router.get("/api/v1/residents/{resident_id}", response_model=ResidentOut, tags=["residents"])
def read_resident(resident_id: DbId, request: Request, principal: Principal = Depends(CASE_WORKER), session: Session = ReadSession) -> ResidentOut:
    resident = session.get(Resident, resident_id)
    if resident is None:
        raise NotFound()
    audit_read(session, request, principal, entity="resident", entity_id=resident_id, resident_id=resident_id)
    return ResidentOut(**resident.model_dump(), groups=[g.value for g in resident.groups])


@router.get("/api/v1/residents/{resident_id}/export", tags=["residents"])
def export_resident(resident_id: DbId, request: Request, principal: Principal = Depends(CASE_WORKER), session: Session = ReadSession) -> Response:
    """Everything held about one resident (the data subject's right of access), as a JSON
    download for the resident or their guardian; audited as an ``export``."""
    data = resident_export(session, resident_id)
    audit_read(session, request, principal, entity="resident", entity_id=resident_id, resident_id=resident_id, action="export")
    return JSONResponse(data, headers={"Content-Disposition": f'attachment; filename="resident-{resident_id}.json"', "Cache-Control": "no-store"})
