"""Administration of teams (members, skills, minimum crew, maximum visits) and recording kits."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from app.admin_flow import AdminPost
from app.auth import Principal, require_roles
from app.deps import DbId, ReadDB
from app.web import render
from visits.errors import NotFound
from visits.staff.roles import ADMINS
from visits.teams import admin, queries

router = APIRouter(include_in_schema=False)
ADMIN = require_roles(*ADMINS)


def _teams_page(request: Request, session, form: dict | None = None, errors: dict | None = None, status: int = 200) -> HTMLResponse:  # noqa: ANN001
    return render(request, "admin/teams.html", {"rows": queries.teams(session), "form": form or {}, "errors": errors or {}}, status)


def _team_page(
    request: Request, session, team_id: int, form: dict | None = None, errors: dict | None = None, member_form: dict | None = None, member_errors: dict | None = None, status: int = 200
) -> HTMLResponse:  # noqa: ANN001
    row = queries.team_row(session, team_id)
    if row is None:
        raise NotFound()
    values = form or {
        "name": row.team.name,
        "max_visits_per_day": row.team.max_visits_per_day or "",
        "min_members": "" if row.team.min_members is None else row.team.min_members,
        "skills": ", ".join(row.skills),
    }
    return render(
        request,
        "admin/team.html",
        {
            "row": row,
            "form": values,
            "errors": errors or {},
            "member_form": member_form or {},
            "member_errors": member_errors or {},
            "officers": queries.officers(session),
        },
        status,
    )


@router.get("/admin/teams", response_class=HTMLResponse)
def teams_page(request: Request, session: ReadDB, _: Principal = Depends(ADMIN)) -> HTMLResponse:
    return _teams_page(request, session)


@router.post("/admin/teams")
def team_create(post: AdminPost) -> Response:
    return post.submit(lambda: admin.team_change(post.session, post.form), back="/admin/teams", on_error=lambda e: _teams_page(post.request, post.session, post.form, e, 422))


@router.get("/admin/teams/{team_id}", response_class=HTMLResponse)
def team_page(team_id: DbId, request: Request, session: ReadDB, _: Principal = Depends(ADMIN)) -> HTMLResponse:
    return _team_page(request, session, team_id)


@router.post("/admin/teams/{team_id}")
def team_edit(team_id: DbId, post: AdminPost) -> Response:
    return post.submit(
        lambda: admin.team_change(post.session, post.form, team_id), back=f"/admin/teams/{team_id}", on_error=lambda e: _team_page(post.request, post.session, team_id, post.form, e, status=422)
    )


@router.post("/admin/teams/{team_id}/deactivate")
def team_deactivate(team_id: DbId, post: AdminPost) -> Response:
    return post.submit(lambda: admin.team_active_change(post.session, team_id, False), back="/admin/teams", on_error=lambda e: _team_page(post.request, post.session, team_id, status=422))


@router.post("/admin/teams/{team_id}/activate")
def team_activate(team_id: DbId, post: AdminPost) -> Response:
    return post.submit(
        lambda: admin.team_active_change(post.session, team_id, True), back="/admin/teams", on_error=lambda e: _team_page(post.request, post.session, team_id, status=422), confirmed=True
    )


@router.post("/admin/teams/{team_id}/members")
def member_add(team_id: DbId, post: AdminPost) -> Response:
    return post.submit(
        lambda: admin.member_change(post.session, team_id, post.form),
        back=f"/admin/teams/{team_id}",
        on_error=lambda e: _team_page(post.request, post.session, team_id, member_form=post.form, member_errors=e, status=422),
        confirmed=True,
    )


@router.post("/admin/teams/{team_id}/members/{member_id}/leave")
def member_leave(team_id: DbId, member_id: DbId, post: AdminPost) -> Response:
    return post.submit(
        lambda: admin.member_leave_change(post.session, member_id, post.form, post.now, post.policy.timezone),
        back=f"/admin/teams/{team_id}",
        on_error=lambda e: _team_page(post.request, post.session, team_id, member_errors={f"left_{member_id}": next(iter(e.values()))}, status=422),
    )


# ---------------------------------------------------------------- kits


def _kit_values(kit) -> dict:  # noqa: ANN001
    return {
        "code": kit.code,
        "team_id": str(kit.team_id or ""),
        "state": kit.state,
        "out_from": kit.out_from.isoformat() if kit.out_from else "",
        "out_until": kit.out_until.isoformat() if kit.out_until else "",
        "notes": kit.notes or "",
    }


def _kits_page(request: Request, session, form: dict | None = None, errors: dict | None = None, status: int = 200, kit_id: int | None = None) -> HTMLResponse:  # noqa: ANN001
    kits = queries.kits(session)
    editing = next((k for k in kits if k.id == kit_id), None) if kit_id is not None else None
    if kit_id is not None and editing is None:
        raise NotFound()
    values = form if form is not None else (_kit_values(editing) if editing else {"state": queries.KIT_STATES[0]})
    teams = [r.team for r in queries.teams(session)]
    return render(
        request,
        "admin/kits.html",
        {"kits": kits, "editing": editing, "form": values, "errors": errors or {}, "teams": teams, "team_names": {t.id: t.name for t in teams}, "states": queries.KIT_STATES},
        status,
    )


@router.get("/admin/kits", response_class=HTMLResponse)
def kits_page(request: Request, session: ReadDB, _: Principal = Depends(ADMIN)) -> HTMLResponse:
    return _kits_page(request, session)


@router.post("/admin/kits")
def kit_create(post: AdminPost) -> Response:
    return post.submit(lambda: admin.kit_change(post.session, post.form, post.now), back="/admin/kits", on_error=lambda e: _kits_page(post.request, post.session, post.form, e, 422))


@router.get("/admin/kits/{kit_id}", response_class=HTMLResponse)
def kit_page(kit_id: DbId, request: Request, session: ReadDB, _: Principal = Depends(ADMIN)) -> HTMLResponse:
    return _kits_page(request, session, kit_id=kit_id)


@router.post("/admin/kits/{kit_id}")
def kit_edit(kit_id: DbId, post: AdminPost) -> Response:
    return post.submit(
        lambda: admin.kit_change(post.session, post.form, post.now, kit_id), back="/admin/kits", on_error=lambda e: _kits_page(post.request, post.session, post.form, e, 422, kit_id=kit_id)
    )


@router.post("/admin/kits/{kit_id}/retire")
def kit_retire(kit_id: DbId, post: AdminPost) -> Response:
    return post.submit(lambda: admin.kit_retire_change(post.session, kit_id, post.now), back="/admin/kits", on_error=lambda e: _kits_page(post.request, post.session, status=422))
