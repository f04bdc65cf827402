"""Intake and tracking for families.

PUBLIC routes (no login; they never show NIK, KK, address, phone or group):

- ``GET  /request``                 the request form (phone-first, works without JavaScript)
- ``POST /request``                 submit the form (multipart; body size guarded, 413)
- ``GET  /track``                   look up by reference + companion phone (form)
- ``POST /track``                   the same lookup (rate-limited)
- ``GET  /track/{token}``           status page for a tracking token (rate-limited)
- ``POST /api/v1/requests``         JSON API: submit (multipart; Idempotency-Key header)
- ``GET  /api/v1/track/{token}``    JSON API: status summary (rate-limited)
- ``POST /api/v1/track``            JSON API: status by reference + phone (rate-limited)

No staff routes here (phone intake and the inbox are in ``app/routers/operator.py``).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from zoneinfo import ZoneInfo
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlmodel import Session, select
from starlette.datastructures import FormData, UploadFile

from app.db import ReadSession, get_engine, session_scope
from app.i18n import translate
from app.settings import get_settings
from app.uploadguard import FORM_OVERHEAD_BYTES, guard_body, guarded_request
from app.web import render, request_language
from visits.errors import InvalidInput, NotFound, PayloadTooLarge
from visits.intake import IntakeConfig, Submission, SubmitResult, office_today, submit
from visits.models import Channel, Group, Kecamatan, Kelurahan, MaritalStatus, VisitRequest
from app.limits import hit_or_raise
from visits.ratelimit import client_key
from visits.schemas import FieldError, ReasonOut, RequestIn, SubmitAnswer, TrackSummary, validate_request
from visits.tracking import summary, tracking_link
from visits.types import utcnow

router = APIRouter()

SCALAR_FIELDS = (
    "nik", "full_name", "birth_date", "sex", "marital_status", "disability_type", "approach_notes",
    "kelurahan_code", "rt", "rw", "street", "lat", "lon", "kk_number", "kk_check_at_visit",
    "companion_name", "companion_phone", "companion_relation", "accept_any_time", "consent", "consent_by",
    "kelurahan_letter", "notes",
)
WEEKDAYS = range(7)


# ---------------------------------------------------------------- shared helpers (also used by operator.py)


def intake_config() -> IntakeConfig:
    return IntakeConfig.from_settings(get_settings())


def body_limit() -> int:
    return get_settings().upload_max_bytes + FORM_OVERHEAD_BYTES


async def read_form(request: Request) -> FormData:
    """The multipart/urlencoded body, read through the size guard (413 when too large)."""
    guard_body(request, body_limit())
    return await request.form(max_files=2, max_fields=200)


def _text(form: FormData, name: str) -> str | None:
    value = form.get(name)
    if value is None or isinstance(value, UploadFile):
        return None
    value = value.strip()
    return value or None


def availability_from_form(form: FormData) -> Any:
    """``availability`` as JSON (API, scripts) or per-weekday rows ``avail_<d>_start/_end`` (HTML form)."""
    raw = _text(form, "availability")
    if raw is not None:
        try:
            return json.loads(raw)
        except ValueError:
            return "not-json"
    rows = []
    for d in WEEKDAYS:
        start, end = _text(form, f"avail_{d}_start"), _text(form, f"avail_{d}_end")
        if _text(form, f"avail_{d}") and start and end:
            rows.append({"weekday": d, "start": start, "end": end})
    return rows


def raw_submission(form: FormData) -> dict[str, Any]:
    raw: dict[str, Any] = {}
    for name in SCALAR_FIELDS:
        value = _text(form, name)
        if value is not None:
            raw[name] = value
    raw["groups"] = [g for g in form.getlist("groups") if isinstance(g, str) and g]
    raw["availability"] = availability_from_form(form)
    return raw


async def kk_bytes(form: FormData, limit: int) -> bytes | None:
    """The uploaded KK file's bytes; 413 when it is larger than ``limit`` (the body guard allows
    the limit plus room for the other fields, so a file just over the limit gets here)."""
    upload = form.get("kk_file")
    if not isinstance(upload, UploadFile):
        return None
    try:
        data = await upload.read(limit + 1)
    finally:
        await upload.close()
    if len(data) > limit:
        raise PayloadTooLarge(field="kk_file")
    return data or None


def localise(errors: list[FieldError], lang: str) -> list[dict[str, str]]:
    return [{"field": e.field, "code": e.code, "reason": translate(f"intake.err.{e.code}", lang)} for e in errors]


def domain_field_error(exc: InvalidInput) -> FieldError:
    return FieldError(exc.field or "request", exc.message_key.removeprefix("intake.err."))


def reasons_out(result: SubmitResult, lang: str) -> list[ReasonOut]:
    return [ReasonOut(code=r.code, message=r.message(lang), next_step=r.next_step(lang)) for r in result.reasons]


def answer(result: SubmitResult, lang: str) -> SubmitAnswer:
    return SubmitAnswer(
        reference=result.request.reference,
        tracking_token=result.tracking_token,
        status=result.status,  # the first answer, also for a replayed retry
        eligible=result.eligible,
        reasons=reasons_out(result, lang),
        first_answer_due=result.request.due_at,
    )


def service_area(session: Session) -> list[tuple[Kecamatan, list[Kelurahan]]]:
    kecamatan = session.exec(select(Kecamatan).order_by(Kecamatan.code)).all()
    kelurahan = session.exec(select(Kelurahan).order_by(Kelurahan.name)).all()
    return [(kec, [k for k in kelurahan if k.kecamatan_id == kec.id]) for kec in kecamatan]


def availability_rows(submitted: Any) -> dict[int, tuple[str, str, bool]]:
    """Weekday -> (start, end, ticked) for the form: what was sent, else office-hour defaults."""
    if isinstance(submitted, list) and submitted:
        rows = {}
        for slot in submitted:
            if isinstance(slot, dict) and isinstance(slot.get("weekday"), int):
                rows[slot["weekday"]] = (str(slot.get("start", "")), str(slot.get("end", "")), True)
        return rows
    return {d: ("08:00", "11:00" if d == 4 else "14:00", d < 5) for d in WEEKDAYS}


def form_context(session: Session, values: dict[str, Any], errors: list[dict[str, str]], *, phone: bool) -> dict[str, Any]:
    return {
        "values": values,
        "errors": {e["field"]: e["reason"] for e in errors},
        "error_list": errors,
        "area": service_area(session),
        "groups": [g.value for g in Group],
        "marital": [m.value for m in MaritalStatus],
        "weekdays": list(WEEKDAYS),
        "avail": availability_rows(values.get("availability")),
        "phone_intake": phone,
        "idempotency_key": values.get("idempotency_key") or secrets.token_urlsafe(24),
    }


def rate_limit(request: Request, kind: str) -> None:
    """Count a hit in its own transaction. Declare as a dependency BEFORE the session one:
    on SQLite the write session holds the write lock from its start."""
    settings = get_settings()
    who = client_key(settings.resolved_secret_key(), request.client.host if request.client else None)
    if kind == "track":
        hit_or_raise(get_engine(), f"track:{who}", settings.track_rate_limit, settings.track_rate_window_seconds)
    else:
        hit_or_raise(get_engine(), f"intake:{who}", settings.intake_rate_limit, settings.intake_rate_window_seconds)


def limit_tracking(request: Request) -> None:
    rate_limit(request, "track")


def limit_intake(request: Request) -> None:
    rate_limit(request, "intake")


@dataclass
class Parsed:
    data: RequestIn | None
    errors: list[FieldError]
    raw: dict[str, Any]
    kk: bytes | None
    form_key: str | None


async def parse_submission(request: Request) -> Parsed:
    """Read (size-guarded) and validate the submitted form. Touches no database."""
    form = await read_form(request)
    raw = raw_submission(form)
    cfg = intake_config()
    data, errors = validate_request(raw, office_today(cfg.timezone, utcnow()))
    try:
        kk = await kk_bytes(form, cfg.upload_max_bytes)
    except PayloadTooLarge:
        raise
    except Exception:  # noqa: BLE001 - unreadable part
        kk, errors = None, [*errors, FieldError("kk_file", "kk_file.unreadable")]
    return Parsed(data, errors, raw, kk, _text(form, "idempotency_key"))


def store_submission(parsed: Parsed, *, channel: Channel, language: str, idempotency_key: str | None, created_by_id: int | None = None) -> tuple[SubmitResult | None, list[FieldError]]:
    """Submit in its own write transaction, opened only after the whole body was read
    (a slow upload must not hold SQLite's write lock). Nothing is stored on errors."""
    if parsed.data is None or parsed.errors:
        return None, parsed.errors
    sub = Submission(data=parsed.data, channel=channel, language=language, kk_file=parsed.kk, idempotency_key=idempotency_key or parsed.form_key, created_by_id=created_by_id)
    try:
        with session_scope(write=True) as session:
            return submit(session, sub, intake_config()), []
    except InvalidInput as exc:
        return None, [domain_field_error(exc)]


# ---------------------------------------------------------------- JSON API (public)


async def reference_form(request: Request) -> FormData:
    """The small "reference + phone" lookup form (size-guarded), read on the event loop."""
    return await guarded_request(request, FORM_OVERHEAD_BYTES).form(max_files=0, max_fields=10)


# The endpoints below are plain functions (run in the thread pool): their bodies are read and
# validated by async dependencies first, so database work never runs on the event loop.


@router.post("/api/v1/requests", status_code=201, response_model=SubmitAnswer, tags=["intake"])
def api_submit(request: Request, _limit: None = Depends(limit_intake), parsed: Parsed = Depends(parse_submission)) -> Response:
    """Submit a request (multipart form; see the issue for fields). 422 names every wrong field."""
    lang = request_language(request)
    result, errors = store_submission(parsed, channel=Channel.WEB, language=lang, idempotency_key=request.headers.get("idempotency-key"))
    if result is None:
        return JSONResponse({"detail": localise(errors, lang)}, status_code=422)
    return JSONResponse(answer(result, lang).model_dump(mode="json"), status_code=201)


@router.get("/api/v1/track/{token}", response_model=TrackSummary, tags=["intake"])
def api_track(token: str, request: Request, _limit: None = Depends(limit_tracking), session: Session = ReadSession) -> TrackSummary:
    from visits.tracking import find_by_token

    row = find_by_token(session, token)
    if row is None:
        raise NotFound()
    return summary(session, row, request_language(request))


@router.post("/api/v1/track", response_model=TrackSummary, tags=["intake"])
def api_track_reference(request: Request, _limit: None = Depends(limit_tracking), form: FormData = Depends(reference_form), session: Session = ReadSession) -> TrackSummary:
    from visits.tracking import find_by_reference

    row = find_by_reference(session, _text(form, "reference") or "", _text(form, "phone") or "")
    if row is None:
        raise NotFound()
    return summary(session, row, request_language(request))


# ---------------------------------------------------------------- HTML pages (public)


@router.get("/request", response_class=HTMLResponse, include_in_schema=False)
def request_form(request: Request, session: Session = ReadSession) -> HTMLResponse:
    return render(request, "intake/form.html", form_context(session, {}, [], phone=False))


@router.post("/request", response_class=HTMLResponse, include_in_schema=False)
def request_form_submit(request: Request, _limit: None = Depends(limit_intake), parsed: Parsed = Depends(parse_submission), session: Session = ReadSession) -> HTMLResponse:
    lang = request_language(request)
    result, errors = store_submission(parsed, channel=Channel.WEB, language=lang, idempotency_key=None)
    if result is None:
        values = dict(parsed.raw) | {"idempotency_key": parsed.form_key}
        return render(request, "intake/form.html", form_context(session, values, localise(errors, lang), phone=False), 422)
    settings = get_settings()
    response = render(request, "intake/submitted.html", {"answer": answer(result, lang), "link": tracking_link(settings.public_base_url, result.tracking_token), "tz": ZoneInfo(settings.timezone)}, 201)
    response.headers["Cache-Control"] = "no-store"  # the page holds the tracking link
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@router.get("/track", response_class=HTMLResponse, include_in_schema=False)
def track_lookup_form(request: Request) -> HTMLResponse:
    return render(request, "intake/track_lookup.html", {"not_found": False})


@router.post("/track", response_class=HTMLResponse, include_in_schema=False)
def track_lookup(request: Request, _limit: None = Depends(limit_tracking), form: FormData = Depends(reference_form), session: Session = ReadSession) -> HTMLResponse:
    from visits.tracking import find_by_reference

    row = find_by_reference(session, _text(form, "reference") or "", _text(form, "phone") or "")
    if row is None:
        return render(request, "intake/track_lookup.html", {"not_found": True}, 404)
    return render(request, "intake/track.html", {"s": summary(session, row, request_language(request))})


TRACK_NOTES = ("offers", "no_offers", "booked", "taken", "cancelled")


@router.get("/track/{token}", response_class=HTMLResponse, include_in_schema=False)
def track_page(token: str, request: Request, _limit: None = Depends(limit_tracking), session: Session = ReadSession) -> HTMLResponse:
    from visits.tracking import find_by_token

    row: VisitRequest | None = find_by_token(session, token)
    if row is None:
        raise NotFound()
    note = request.query_params.get("note", "")
    context = {"s": summary(session, row, request_language(request)), "token": token, "note": note if note in TRACK_NOTES else ""}
    response = render(request, "intake/track.html", context)
    response.headers["Referrer-Policy"] = "no-referrer"  # the token is in this page's URL
    response.headers["Cache-Control"] = "no-store"
    return response
