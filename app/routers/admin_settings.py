"""Administration of the service rules (time per group, skill a group needs), the office's
address and location, and the audit log page."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from app.admin_flow import AdminPost
from app.auth import Principal, require_roles
from app.deps import MAX_ID, Policy, ReadDB
from app.web import render
from visits.models import Group
from visits.staff.roles import ADMINS
from visits.teams import admin, queries

router = APIRouter(include_in_schema=False)
ADMIN = require_roles(*ADMINS)
GROUPS = tuple(g.value for g in Group)


def _rules_page(request: Request, session, form: dict | None = None, errors: dict | None = None, group: str | None = None, status: int = 200) -> HTMLResponse:  # noqa: ANN001
    return render(request, "admin/rules.html", {"rules": queries.service_rules(session), "groups": GROUPS, "form": form or {}, "errors": errors or {}, "error_group": group}, status)


@router.get("/admin/rules", response_class=HTMLResponse)
def rules_page(request: Request, session: ReadDB, _: Principal = Depends(ADMIN)) -> HTMLResponse:
    return _rules_page(request, session)


@router.post("/admin/rules/{group}")
def rule_save(group: str, post: AdminPost) -> Response:
    return post.submit(lambda: admin.rule_change(post.session, group, post.form), back="/admin/rules", on_error=lambda e: _rules_page(post.request, post.session, post.form, e, group, 422))


def _office_page(request: Request, session, form: dict | None = None, errors: dict | None = None, status: int = 200) -> HTMLResponse:  # noqa: ANN001
    row = queries.office(session)
    values = form if form is not None else ({"name": row.name, "address": row.address, "lat": row.lat, "lon": row.lon} if row else {})
    return render(request, "admin/office.html", {"form": values, "errors": errors or {}}, status)


@router.get("/admin/office", response_class=HTMLResponse)
def office_page(request: Request, session: ReadDB, _: Principal = Depends(ADMIN)) -> HTMLResponse:
    return _office_page(request, session)


@router.post("/admin/office")
def office_save(post: AdminPost) -> Response:
    return post.submit(lambda: admin.office_change(post.session, post.form), back="/admin/office", on_error=lambda e: _office_page(post.request, post.session, post.form, e, 422))


@router.get("/admin/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    session: ReadDB,
    policy: Policy,
    user_id: int | None = Query(default=None, ge=1, le=MAX_ID),
    entity: str | None = Query(default=None, max_length=30),
    action: str | None = Query(default=None, max_length=30),
    resident_id: int | None = Query(default=None, ge=1, le=MAX_ID),
    since: date | None = Query(default=None),
    until: date | None = Query(default=None),
    _: Principal = Depends(ADMIN),
) -> HTMLResponse:
    flt = queries.AuditFilter(user_id=user_id, entity=entity or None, action=action or None, resident_id=resident_id, since=since, until=until)
    entities, actions, users = queries.audit_choices(session)
    return render(
        request,
        "admin/audit.html",
        {"rows": queries.audit_rows(session, flt, policy.timezone), "flt": flt, "entities": entities, "actions": actions, "users": users, "tz_info": ZoneInfo(policy.timezone)},
    )
