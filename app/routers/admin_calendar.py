"""Administration of working time: shift patterns, office and team closures, collective-leave
overrides, and each team's calendar over the planning horizon."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from app.admin_flow import AdminPost
from app.auth import Principal, require_roles
from app.deps import MAX_ID, DbId, Now, Policy, ReadDB
from app.web import render
from visits.clock import collective_leave_enabled
from visits.staff.roles import ADMINS
from visits.teams import admin, queries

router = APIRouter(include_in_schema=False)
ADMIN = require_roles(*ADMINS)
WEEKDAYS = tuple(range(7))


def _shifts_page(request: Request, session, form: dict | None = None, errors: dict | None = None, status: int = 200) -> HTMLResponse:  # noqa: ANN001
    teams = [r.team for r in queries.teams(session)]
    return render(
        request,
        "admin/shifts.html",
        {
            "patterns": queries.shift_patterns(session),
            "teams": teams,
            "team_names": {t.id: t.name for t in teams},
            "weekdays": WEEKDAYS,
            "form": form or {"start_time": "08:00", "end_time": "15:00", "break_minutes": "0"},
            "errors": errors or {},
        },
        status,
    )


@router.get("/admin/shifts", response_class=HTMLResponse)
def shifts_page(request: Request, session: ReadDB, _: Principal = Depends(ADMIN)) -> HTMLResponse:
    return _shifts_page(request, session)


@router.post("/admin/shifts")
def shift_save(post: AdminPost) -> Response:
    return post.submit(lambda: admin.shift_change(post.session, post.form), back="/admin/shifts", on_error=lambda e: _shifts_page(post.request, post.session, post.form, e, 422))


@router.post("/admin/shifts/{shift_id}/delete")
def shift_delete(shift_id: DbId, post: AdminPost) -> Response:
    return post.submit(lambda: admin.shift_delete_change(post.session, shift_id), back="/admin/shifts", on_error=lambda e: _shifts_page(post.request, post.session, status=422))


def _closures_page(request: Request, session, now, policy, form: dict | None = None, errors: dict | None = None, status: int = 200) -> HTMLResponse:  # noqa: ANN001
    teams = [r.team for r in queries.teams(session)]
    return render(
        request,
        "admin/closures.html",
        {"closures": queries.closures(session, now, policy.timezone), "teams": teams, "team_names": {t.id: t.name for t in teams}, "form": form or {}, "errors": errors or {}},
        status,
    )


@router.get("/admin/closures", response_class=HTMLResponse)
def closures_page(request: Request, session: ReadDB, now: Now, policy: Policy, _: Principal = Depends(ADMIN)) -> HTMLResponse:
    return _closures_page(request, session, now, policy)


@router.post("/admin/closures")
def closure_add(post: AdminPost) -> Response:
    return post.submit(
        lambda: admin.closure_change(post.session, post.form, post.now, post.policy.timezone),
        back="/admin/closures",
        on_error=lambda e: _closures_page(post.request, post.session, post.now, post.policy, post.form, e, 422),
    )


@router.post("/admin/closures/{closure_id}/delete")
def closure_delete(closure_id: DbId, post: AdminPost) -> Response:
    return post.submit(
        lambda: admin.closure_delete_change(post.session, closure_id),
        back="/admin/closures",
        on_error=lambda e: _closures_page(post.request, post.session, post.now, post.policy, status=422),
        confirmed=True,
    )


def _calendar_page(request: Request, session, now, policy, team_id: int | None, form: dict | None = None, errors: dict | None = None, status: int = 200) -> HTMLResponse:  # noqa: ANN001
    rows = queries.teams(session)
    chosen = team_id or next((r.team.id for r in rows if r.team.active), None)
    days = queries.team_calendar(session, chosen, now, policy) if chosen else []
    return render(request, "admin/calendar.html", {"rows": rows, "team_id": chosen, "days": days, "collective_leave": collective_leave_enabled(), "form": form or {}, "errors": errors or {}}, status)


@router.get("/admin/calendar", response_class=HTMLResponse)
def calendar_page(request: Request, session: ReadDB, now: Now, policy: Policy, team_id: int | None = Query(default=None, ge=1, le=MAX_ID), _: Principal = Depends(ADMIN)) -> HTMLResponse:
    return _calendar_page(request, session, now, policy, team_id)


@router.post("/admin/calendar/overrides")
def override_add(post: AdminPost) -> Response:
    back = f"/admin/calendar?team_id={post.form['team_id']}" if post.form.get("team_id", "").isdigit() else "/admin/calendar"
    return post.submit(
        lambda: admin.override_change(post.session, post.form), back=back, on_error=lambda e: _calendar_page(post.request, post.session, post.now, post.policy, None, post.form, e, 422), confirmed=True
    )


@router.post("/admin/calendar/overrides/{override_id}/delete")
def override_delete(override_id: DbId, post: AdminPost) -> Response:
    return post.submit(
        lambda: admin.override_delete_change(post.session, override_id), back="/admin/calendar", on_error=lambda e: _calendar_page(post.request, post.session, post.now, post.policy, None, status=422)
    )
