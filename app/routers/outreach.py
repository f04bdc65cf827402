"""Outreach (operator, admin): the not-yet-recorded import, partners' referrals, the call list and
its results; the same as JSON under ``/api/v1/outreach``. The head sees counts only (``/head`` and
``GET /api/v1/outreach/counts``), never the list.

NO public routes in this module. Every page or answer that shows imported residents is audited
(entity ``outreach_resident``, one row per resident shown).

- ``GET  /operator/outreach?kelurahan=``            the call list of a kelurahan (script, one button per result)
- ``POST /operator/outreach/{outreach_id}/call``    a call's result ("wants a visit" opens phone intake, prefilled)
- ``GET  /operator/outreach/import``                the imports and the referral form
- ``POST /operator/outreach/import``                the not-yet-recorded list (CSV or XLSX)
- ``POST /operator/outreach/referrals``             one referral (the staff form)
- ``POST /operator/outreach/referrals/import``      a partner's referral file (CSV or XLSX)
- ``GET  /operator/outreach/campaign``              start a campaign plan; "planning…" while it runs, then its figures and proposals
- ``POST /operator/outreach/campaign``              start one (kelurahan or partner kind, optional limit); refused (409) while one runs
- ``GET  /operator/outreach/group-visits/{lead_request_id}``   a group visit: its residents, the summed service time, add/remove
- ``POST /operator/outreach/group-visits/{lead_request_id}/members``  add another resident's request at the lead's address
- ``POST /operator/outreach/group-visits/{lead_request_id}/members/{member_request_id}/remove``  that member visits alone again
- ``POST /api/v1/outreach/group-visits/{lead_request_id}/members``  a group visit: another resident at the lead's address
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session
from starlette.datastructures import FormData

from app import jobs
from app.auth import Principal, audit_read, audit_read_many, require_roles
from app.db import ReadSession, WriteSession
from app.deps import MAX_ID, DbId, Now, Travel
from app.i18n import translate
from app.settings import get_settings
from app.uploadguard import FORM_OVERHEAD_BYTES, guard_body
from app.web import one_file_form, render, request_language, small_form
from visits.booking import groups
from visits.errors import Conflict, InvalidInput
from visits.intake.models import Kelurahan
from visits.intake.queries import kelurahan_list
from visits.outreach import campaign
from visits.outreach.importer import OutreachRejected
from visits.outreach.models import CallResult, OutreachState, PartnerKind, ReferralGroup
from visits.outreach.queries import Candidate, candidates, kelurahan_with_candidates, still_to_reach
from visits.outreach.runner import default_runner
from visits.outreach.service import OutreachConfig, add_referral, import_list, import_referrals, record_call
from visits.staff.roles import CASE_WORKERS, DESK_READERS
from visits.transactions import after_commit

router = APIRouter(prefix="/operator/outreach", include_in_schema=False)
api = APIRouter(prefix="/api/v1/outreach", tags=["outreach"])
workers = require_roles(*CASE_WORKERS)
FILE_MAX_BYTES = 8 * 1024 * 1024
SMALL_FORM = small_form(30)
ENTITY = "outreach_resident"
REFERRAL_FIELDS = (
    "nik",
    "full_name",
    "birth_date",
    "sex",
    "kk_number",
    "street",
    "rt",
    "rw",
    "kelurahan_code",
    "phone",
    "partner_kind",
    "partner_name",
    "group",
    "contact_name",
    "contact_phone",
    "note",
)


def _cfg() -> OutreachConfig:
    return OutreachConfig.from_settings(get_settings())


def _tz() -> str:
    return get_settings().timezone


def file_body_guard(request: Request) -> None:
    """Declared before the role guard: its CSRF check reads the (multipart) form first."""
    guard_body(request, FILE_MAX_BYTES + FORM_OVERHEAD_BYTES)


def small_body_guard(request: Request) -> None:
    guard_body(request, FORM_OVERHEAD_BYTES)


read_file_form = one_file_form(FILE_MAX_BYTES, "list")  # an unparsable form is a 422 naming the body (app.main)


def _problems(exc: OutreachRejected, lang: str) -> list[dict[str, Any]]:
    return [{"row": p.row, "field": p.field, "code": p.code, "reason": translate(f"outreach.problem.{p.code}", lang)} for p in exc.problems]


def _audit_shown(session: Session, request: Request, principal: Principal, shown: list[Candidate]) -> None:
    if shown:
        audit_read_many(session, request, principal, entity=ENTITY, items=[(c.row.id, None) for c in shown])


# ---------------------------------------------------------------- pages


def _list_context(session: Session, now, kelurahan: str) -> dict[str, Any]:  # noqa: ANN001
    choices = kelurahan_with_candidates(session, now, _tz())
    chosen = next((k for k, _n in choices if k.code == kelurahan), None)
    if chosen is None:
        chosen = next((k for k, n in choices if n), None)
    shown = candidates(session, now, _tz(), chosen.id) if chosen is not None else []
    return {
        "proposals": campaign.proposals_for(session, [c.row.id for c in shown if c.row.id is not None]),
        "campaign": campaign.latest(session),
        "choices": choices,
        "chosen": chosen,
        "shown": shown,
        "results": [r.value for r in CallResult],
        "max_attempts": get_settings().outreach_max_attempts,
        "script": [translate(f"outreach.script.{i}", "id") for i in range(1, 6)],  # said to the family: always in Bahasa Indonesia
    }


@router.get("", response_class=HTMLResponse)
def call_list_page(request: Request, now: Now, kelurahan: str = Query("", max_length=20), principal: Principal = Depends(workers), session: Session = ReadSession) -> HTMLResponse:
    ctx = _list_context(session, now, kelurahan)
    note = request.query_params.get("note", "")
    ctx["note"] = note if note in {r.value for r in CallResult} | {"retry", "unreachable"} else ""
    _audit_shown(session, request, principal, ctx["shown"])
    return render(request, "outreach/calls.html", ctx)


@router.post("/{outreach_id}/call", response_class=HTMLResponse)
def call_result(
    request: Request,
    outreach_id: DbId,
    now: Now,
    _guard: None = Depends(small_body_guard),
    principal: Principal = Depends(workers),
    form: FormData = Depends(SMALL_FORM),
    session: Session = WriteSession,
) -> Response:
    result = form.get("result")
    outcome = record_call(session, outreach_id, result if isinstance(result, str) else "", now=now, cfg=_cfg(), user_id=principal.user_id)
    audit_read(session, request, principal, entity=ENTITY, entity_id=outreach_id, action=f"call_{outcome.result.value}"[:30])
    if outcome.next == "intake":
        return RedirectResponse(f"/operator/intake?outreach={outreach_id}", status_code=303)
    kel = session.get(Kelurahan, outcome.row.kelurahan_id)
    code = kel.code if kel is not None else ""
    note = "retry" if outcome.next == "retry" else ("unreachable" if outcome.row.state == OutreachState.UNREACHABLE else outcome.result.value)
    return RedirectResponse(f"/operator/outreach?kelurahan={code}&note={note}", status_code=303)


CAMPAIGN_SOLVER_SECONDS: float | None = None  # None: sized by the model (visits.outreach.campaign.sized_time_limit); tests set a short one
CAMPAIGN_MAX_LIMIT = 5000


def _runner() -> Any:  # noqa: ANN401 - CampaignRunner or PostgresCampaigns: busy, last_error, start(job)
    """Where campaign plans run: a ``jemput worker`` on PostgreSQL's job queue, else this process's runner."""
    return jobs.PostgresCampaigns() if jobs.queue_kind() == jobs.POSTGRES else default_runner()


def _campaign_context(session: Session, **extra: Any) -> dict[str, Any]:
    runner = _runner()
    latest = campaign.latest(session)
    kel = session.get(Kelurahan, latest.kelurahan_id) if latest is not None and latest.kelurahan_id is not None else None
    return {
        "area": kelurahan_list(session),
        "partner_kinds": [k.value for k in PartnerKind],
        "running": runner.busy,
        "failed": runner.last_error is not None,
        "latest": latest,
        "latest_kelurahan": kel,
        "areas": campaign.proposal_areas(session, latest.id) if latest is not None and latest.id is not None else [],
        "values": {},
        "errors": {},
        "max_limit": CAMPAIGN_MAX_LIMIT,
        "tz": ZoneInfo(_tz()),
        **extra,
    }


@router.get("/campaign", response_class=HTMLResponse)
def campaign_page(request: Request, principal: Principal = Depends(workers), session: Session = ReadSession) -> HTMLResponse:
    """No personal data here (counts per kelurahan; the call list shows each proposal)."""
    ctx = _campaign_context(session)
    ctx["started"] = request.query_params.get("note") == "started"
    return render(request, "outreach/campaign.html", ctx)


def _campaign_choice(session: Session, form: FormData) -> tuple[dict[str, str], dict[str, str], dict[str, Any]]:
    """The form's values, its errors (field -> catalogue key) and the campaign's parameters."""
    values = {k: v.strip() for k in ("kelurahan", "partner_kind", "limit") if isinstance(v := form.get(k), str)}
    errors: dict[str, str] = {}
    params: dict[str, Any] = {"kelurahan_id": None, "partner_kind": None, "limit": CAMPAIGN_MAX_LIMIT}
    if code := values.get("kelurahan", ""):
        kel = next((k for k in kelurahan_list(session) if k.code == code), None)
        if kel is None:
            errors["kelurahan"] = "outreach.err.kelurahan"
        else:
            params["kelurahan_id"] = kel.id
    if kind := values.get("partner_kind", ""):
        if kind not in {k.value for k in PartnerKind}:
            errors["partner_kind"] = "outreach.campaign.err.partner_kind"
        else:
            params["partner_kind"] = kind
    if limit := values.get("limit", ""):
        if not (limit.isascii() and limit.isdigit() and len(limit) <= 5 and 1 <= int(limit) <= CAMPAIGN_MAX_LIMIT):
            errors["limit"] = "outreach.campaign.err.limit"
        else:
            params["limit"] = int(limit)
    return values, errors, params


@router.post("/campaign", response_class=HTMLResponse)
def campaign_start(
    request: Request,
    now: Now,
    _guard: None = Depends(small_body_guard),
    principal: Principal = Depends(workers),
    form: FormData = Depends(SMALL_FORM),
    session: Session = ReadSession,
) -> Response:
    """Start a campaign plan in the background once this request's transaction has committed."""
    values, errors, params = _campaign_choice(session, form)
    lang = request_language(request)
    if errors:
        shown = {k: translate(v, lang) for k, v in errors.items()}
        return render(request, "outreach/campaign.html", _campaign_context(session, values=values, errors=shown), 422)
    runner = _runner()
    if runner.busy:
        return render(request, "outreach/campaign.html", _campaign_context(session, values=values, refused=True), 409)
    job = jobs.CampaignJob(now, time_limit=CAMPAIGN_SOLVER_SECONDS, **params)
    after_commit(session, lambda: runner.start(job))
    audit_read(session, request, principal, entity=ENTITY, action="campaign")
    return RedirectResponse("/operator/outreach/campaign?note=started", status_code=303)


def _import_context(session: Session, **extra: Any) -> dict[str, Any]:
    return {
        "area": kelurahan_list(session),
        "partner_kinds": [k.value for k in PartnerKind],
        "referral_groups": [g.value for g in ReferralGroup],
        "values": {},
        "problems": [],
        "referral_problems": [],
        "retention_days": get_settings().outreach_retention_days,
        **extra,
    }


@router.get("/import", response_class=HTMLResponse)
def import_page(request: Request, principal: Principal = Depends(workers), session: Session = ReadSession) -> HTMLResponse:
    ctx = _import_context(session)
    ctx["done"] = {k: request.query_params.get(k, "") for k in ("rows", "added", "updated", "delisted", "referrals") if request.query_params.get(k, "").isdigit()}
    return render(request, "outreach/import.html", ctx)


def _file_or_422(request: Request, session: Session, upload: tuple[str, bytes], key: str) -> HTMLResponse | None:
    _name, data = upload
    if data and len(data) <= FILE_MAX_BYTES:
        return None
    reason = translate("outreach.import.no_file" if not data else "error.too_large", request_language(request))
    return render(request, "outreach/import.html", _import_context(session, **{key: [{"row": 0, "field": "file", "code": "file", "reason": reason}]}), 422)


def _upload(request: Request, session: Session, principal: Principal, upload: tuple[str, bytes], key: str, action: str, load: Callable[[str, bytes], dict[str, int]]) -> Response:
    """One file import page post: the file checked, ``load`` run (problems shown under ``key``,
    nothing stored), the import audited, the figures shown."""
    refused = _file_or_422(request, session, upload, key)
    if refused is not None:
        return refused
    try:
        figures = load(*upload)
    except OutreachRejected as exc:
        return render(request, "outreach/import.html", _import_context(session, **{key: _problems(exc, request_language(request))}), 422)
    audit_read(session, request, principal, entity=ENTITY, action=action)
    return RedirectResponse("/operator/outreach/import?" + "&".join(f"{k}={v}" for k, v in figures.items()), status_code=303)


@router.post("/import", response_class=HTMLResponse)
def import_upload(
    request: Request,
    now: Now,
    _guard: None = Depends(file_body_guard),
    principal: Principal = Depends(workers),
    upload: tuple[str, bytes] = Depends(read_file_form),
    session: Session = WriteSession,
) -> Response:
    def load(name: str, data: bytes) -> dict[str, int]:
        done = import_list(session, name, data, now=now, cfg=_cfg())
        return {"rows": done.rows, "added": done.added, "updated": done.updated, "delisted": done.delisted}

    return _upload(request, session, principal, upload, "problems", "import", load)


@router.post("/referrals/import", response_class=HTMLResponse)
def referral_upload(
    request: Request,
    now: Now,
    _guard: None = Depends(file_body_guard),
    principal: Principal = Depends(workers),
    upload: tuple[str, bytes] = Depends(read_file_form),
    session: Session = WriteSession,
) -> Response:
    def load(name: str, data: bytes) -> dict[str, int]:
        return {"referrals": import_referrals(session, name, data, now=now, cfg=_cfg(), user_id=principal.user_id)}

    return _upload(request, session, principal, upload, "referral_problems", "import_referrals", load)


@router.post("/referrals", response_class=HTMLResponse)
def referral_form_submit(
    request: Request, now: Now, _guard: None = Depends(small_body_guard), principal: Principal = Depends(workers), form: FormData = Depends(SMALL_FORM), session: Session = WriteSession
) -> Response:
    values = {k: v for k in REFERRAL_FIELDS if isinstance(v := form.get(k), str)}
    try:
        referral = add_referral(session, dict(values), now=now, cfg=_cfg(), user_id=principal.user_id)
    except OutreachRejected as exc:
        return render(request, "outreach/import.html", _import_context(session, values=values, form_problems={p["field"]: p["reason"] for p in _problems(exc, request_language(request))}), 422)
    audit_read(session, request, principal, entity=ENTITY, entity_id=referral.outreach_resident_id, action="refer")
    return RedirectResponse("/operator/outreach/import?referrals=1", status_code=303)


# ---------------------------------------------------------------- JSON API


class ProblemOut(BaseModel):
    row: int = Field(description="The spreadsheet's row (the header is row 1; 0 for a form).")
    field: str
    code: str
    reason: str


class RejectedOut(BaseModel):
    detail: str
    code: Literal["invalid"] = "invalid"
    field: str | None = None
    problems: list[ProblemOut] = []  # empty when the file itself is missing or too large (``field`` is "file")


class ImportOut(BaseModel):
    rows: int
    added: int
    updated: int
    delisted: int = Field(description="Residents of the file's kelurahan it no longer lists (recorded since): off the call list unless referred.")


class ReferralsImportOut(BaseModel):
    rows: int


class ReferralIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    nik: str
    full_name: str
    birth_date: str = Field(description="YYYY-MM-DD")
    sex: Literal["M", "F"]
    kk_number: str | None = None
    street: str
    rt: str
    rw: str
    kelurahan_code: str = Field(description="e.g. 35.76.01.1003")
    phone: str | None = None
    partner_kind: PartnerKind
    partner_name: str
    group: ReferralGroup = Field(description="disabled, mental (ODGJ) or bedridden")
    contact_name: str
    contact_phone: str
    note: str | None = None


class ReferralOut(BaseModel):
    referral_id: int
    outreach_id: int


class CallIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    result: CallResult


class CallOut(BaseModel):
    outreach_id: int
    result: str
    state: str
    attempts: int
    next: Literal["intake", "retry", "closed"] = Field(description="intake: open phone intake prefilled (intake_url); retry: call again later; closed: off the call list")
    intake_url: str | None = None


class ReachOut(BaseModel):
    code: str
    name: str
    still_to_reach: int
    wants_visit: int


def _rejected(exc: OutreachRejected, lang: str) -> JSONResponse:
    problems = _problems(exc, lang)
    body = RejectedOut(detail=translate("outreach.import.rejected", lang, count=len(problems)), field=problems[0]["field"] if problems else None, problems=[ProblemOut(**p) for p in problems])
    return JSONResponse(body.model_dump(), status_code=422)


REJECTED = {422: {"model": RejectedOut, "description": "every bad row and field named; nothing stored"}}


def _file_api(upload: tuple[str, bytes]) -> None:
    if not upload[1]:
        raise InvalidInput("outreach.import.no_file", field="file")
    if len(upload[1]) > FILE_MAX_BYTES:
        raise InvalidInput("error.too_large", field="file")


@api.post(
    "/imports",
    response_model=ImportOut,
    responses=REJECTED,
    openapi_extra={"requestBody": {"content": {"multipart/form-data": {"schema": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}, "required": ["file"]}}}}},
)
def api_import(
    request: Request, now: Now, _guard: None = Depends(file_body_guard), principal: Principal = Depends(workers), upload: tuple[str, bytes] = Depends(read_file_form), session: Session = WriteSession
) -> Any:
    """Import the office's not-yet-recorded list (CSV or XLSX; columns ``nik, full_name, birth_date, sex,
    kk_number, street, rt, rw, kelurahan_code[, phone]``). Every row is checked with the intake's NIK/KK
    rules; any bad row refuses the whole file (422 naming each). A resident already held (same NIK) is updated."""
    _file_api(upload)
    try:
        done = import_list(session, upload[0], upload[1], now=now, cfg=_cfg())
    except OutreachRejected as exc:
        return _rejected(exc, request_language(request))
    audit_read(session, request, principal, entity=ENTITY, action="import")
    return ImportOut(rows=done.rows, added=done.added, updated=done.updated, delisted=done.delisted)


@api.post(
    "/referrals/imports",
    response_model=ReferralsImportOut,
    responses=REJECTED,
    openapi_extra={"requestBody": {"content": {"multipart/form-data": {"schema": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}, "required": ["file"]}}}}},
)
def api_import_referrals(
    request: Request, now: Now, _guard: None = Depends(file_body_guard), principal: Principal = Depends(workers), upload: tuple[str, bytes] = Depends(read_file_form), session: Session = WriteSession
) -> Any:
    """Import a partner's referrals (CSV or XLSX): the resident's columns (``kk_number`` optional) and
    ``partner_kind, partner_name, group, contact_name, contact_phone[, note]``."""
    _file_api(upload)
    try:
        n = import_referrals(session, upload[0], upload[1], now=now, cfg=_cfg(), user_id=principal.user_id)
    except OutreachRejected as exc:
        return _rejected(exc, request_language(request))
    audit_read(session, request, principal, entity=ENTITY, action="import_referrals")
    return ReferralsImportOut(rows=n)


@api.post("/referrals", response_model=ReferralOut, status_code=201, responses=REJECTED)
def api_referral(body: ReferralIn, request: Request, now: Now, principal: Principal = Depends(workers), session: Session = WriteSession) -> Any:
    """One referral from a partner (kelurahan, puskesmas, Dinsos, care home): the resident, the group, a contact and a note."""
    try:
        referral = add_referral(session, body.model_dump(mode="json"), now=now, cfg=_cfg(), user_id=principal.user_id)
    except OutreachRejected as exc:
        return _rejected(exc, request_language(request))
    audit_read(session, request, principal, entity=ENTITY, entity_id=referral.outreach_resident_id, action="refer")
    return JSONResponse(ReferralOut(referral_id=referral.id, outreach_id=referral.outreach_resident_id).model_dump(), status_code=201)  # type: ignore[arg-type]


@api.get("/candidates")
def api_candidates(
    request: Request,
    now: Now,
    kelurahan_code: str = Query("", max_length=20, description="One kelurahan (e.g. 35.76.01.1003); all when empty."),
    principal: Principal = Depends(workers),
    session: Session = ReadSession,
) -> dict:
    """The candidates to reach (60 or older, or referred; no open request; not recorded): referred first,
    then the oldest. Audited: one row per resident shown."""
    kel_id = None
    if kelurahan_code:
        kel_id = next((k.id for k in kelurahan_list(session) if k.code == kelurahan_code), None)
        if kel_id is None:
            raise InvalidInput("outreach.err.kelurahan", field="kelurahan_code")
    shown = candidates(session, now, _tz(), kel_id)
    _audit_shown(session, request, principal, shown)
    return {"candidates": [c.as_dict() for c in shown]}


@api.post("/candidates/{outreach_id}/calls", response_model=CallOut, responses={404: {"description": "no such candidate"}, 409: {"description": "the candidate is no longer on the call list"}})
def api_call(outreach_id: DbId, body: CallIn, request: Request, now: Now, principal: Principal = Depends(workers), session: Session = WriteSession) -> CallOut:
    """Record a call's result: ``wants_visit`` (open phone intake, prefilled: ``intake_url``), ``will_come``,
    ``not_reachable`` (called again later, at most ``JEMPUT_OUTREACH_MAX_ATTEMPTS`` times), ``refused``, ``moved``, ``deceased``."""
    outcome = record_call(session, outreach_id, body.result, now=now, cfg=_cfg(), user_id=principal.user_id)
    audit_read(session, request, principal, entity=ENTITY, entity_id=outreach_id, action=f"call_{outcome.result.value}"[:30])
    r = outcome.row
    return CallOut(
        outreach_id=outreach_id,
        result=outcome.result,
        state=r.state,
        attempts=r.attempts,
        next=outcome.next,
        intake_url=f"/operator/intake?outreach={outreach_id}" if outcome.next == "intake" else None,  # type: ignore[arg-type]
    )


@api.get("/counts", response_model=list[ReachOut])
def api_counts(now: Now, principal: Principal = Depends(require_roles(*DESK_READERS)), session: Session = ReadSession) -> list[ReachOut]:
    """Still to reach per kelurahan, kecamatan and the city (code ``""``): counts only (the head sees these, never the list)."""
    return [ReachOut(code=c.code, name=c.name, still_to_reach=c.still_to_reach, wants_visit=c.wants_visit) for c in still_to_reach(session, now, _tz()).values()]


class GroupMemberIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    member_request_id: int = Field(ge=1, le=MAX_ID, description="The request of another resident at the lead's address (eligible or offered).")


class GroupOut(BaseModel):
    lead_request_id: int
    member_request_ids: list[int]
    service_minutes: int | None = Field(description="The group's booked visit: every resident's service time summed (None before it is booked).")


@api.post(
    "/group-visits/{lead_request_id}/members",
    response_model=GroupOut,
    responses={
        404: {"description": "no such request"},
        409: {"description": "already in a group, a status that cannot join, or the longer visit no longer fits the booked team-day"},
        422: {"description": "not at the lead's address, or needs a skill the lead's visit does not"},
    },
)
def api_group_member(lead_request_id: DbId, body: GroupMemberIn, request: Request, now: Now, travel: Travel, principal: Principal = Depends(workers), session: Session = WriteSession) -> GroupOut:
    """A group visit (a care home, a family with two elderly members): one booking, the lead's, at one
    address for several residents. The visit's service time is the sum per resident; each resident
    gets their own outcome (``request_id`` in the field outcome) and counts toward coverage."""
    booking = groups.add_member(session, lead_request_id, body.member_request_id, now, travel)
    audit_read(session, request, principal, entity="visit_request", entity_id=body.member_request_id, action="group_join")
    members = [m.id for m in groups.members(session, lead_request_id) if m.id is not None]
    return GroupOut(lead_request_id=lead_request_id, member_request_ids=members, service_minutes=booking.service_minutes if booking is not None else None)


# ---------------------------------------------------------------- group visits (the case page links here)


def _group_context(session: Session, lead_request_id: int, **extra: Any) -> dict[str, Any]:
    from visits.intake.queries import load_case

    lead, resident, kel = load_case(session, lead_request_id)
    shown = []
    for m in groups.members(session, lead_request_id):
        _m, res, _k = load_case(session, m.id)  # type: ignore[arg-type]
        shown.append((m, res))
    return {
        "lead": lead,
        "res": resident,
        "kel": kel,
        "members": shown,
        "joinable": groups.joinable_at_address(session, lead_request_id),
        "minutes": groups.visit_minutes(session, lead_request_id),
        "error": None,
        **extra,
    }


def _audit_group(session: Session, request: Request, principal: Principal, ctx: dict[str, Any]) -> None:
    items = [(ctx["lead"].id, ctx["lead"].resident_id), *((m.id, m.resident_id) for m, _r in ctx["members"]), *((r.id, r.resident_id) for r, _res in ctx["joinable"])]
    audit_read_many(session, request, principal, entity="visit_request", items=items)


@router.get("/group-visits/{lead_request_id}", response_class=HTMLResponse)
def group_page(request: Request, lead_request_id: DbId, principal: Principal = Depends(workers), session: Session = ReadSession) -> HTMLResponse:
    ctx = _group_context(session, lead_request_id)
    _audit_group(session, request, principal, ctx)
    return render(request, "outreach/group.html", ctx)


def _member_id(form: FormData) -> int | None:
    value = form.get("member_request_id")
    return int(value) if isinstance(value, str) and value.isascii() and value.isdigit() and 0 < len(value) <= 9 else None


@router.post("/group-visits/{lead_request_id}/members", response_class=HTMLResponse)
def group_add(
    request: Request,
    lead_request_id: DbId,
    now: Now,
    travel: Travel,
    _guard: None = Depends(small_body_guard),
    principal: Principal = Depends(workers),
    form: FormData = Depends(SMALL_FORM),
    session: Session = WriteSession,
) -> Response:
    member_id = _member_id(form)
    try:
        if member_id is None:
            raise InvalidInput("booking.group.choose", field="member_request_id")
        groups.add_member(session, lead_request_id, member_id, now, travel)
    except (InvalidInput, Conflict) as exc:
        session.rollback()  # nothing stored
        lang = request_language(request)
        ctx = _group_context(session, lead_request_id, error=translate(exc.message_key or "error.invalid", lang, **exc.params))
        return render(request, "outreach/group.html", ctx, 422 if isinstance(exc, InvalidInput) else 409)
    audit_read(session, request, principal, entity="visit_request", entity_id=member_id, action="group_join")
    return RedirectResponse(f"/operator/outreach/group-visits/{lead_request_id}", status_code=303)


@router.post("/group-visits/{lead_request_id}/members/{member_request_id}/remove", response_class=HTMLResponse)
def group_remove(
    request: Request,
    lead_request_id: DbId,
    member_request_id: DbId,
    now: Now,
    _guard: None = Depends(small_body_guard),
    principal: Principal = Depends(workers),
    session: Session = WriteSession,
) -> Response:
    groups.remove_member(session, lead_request_id, member_request_id, now)
    audit_read(session, request, principal, entity="visit_request", entity_id=member_request_id, action="group_leave")
    return RedirectResponse(f"/operator/outreach/group-visits/{lead_request_id}", status_code=303)
