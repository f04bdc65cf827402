"""The request form's parsing and rendering helpers, shared by the family's form and API
(``app/routers/intake.py``) and the operator's phone intake (``app/routers/operator.py``)."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import Request
from sqlmodel import Session
from starlette.datastructures import FormData, UploadFile

from app.db import session_scope
from app.deps import Now
from app.i18n import translate
from app.settings import get_settings
from app.uploadguard import FORM_OVERHEAD_BYTES, guard_body, guarded_request
from visits.errors import InvalidInput, PayloadTooLarge
from visits.intake.models import HeardVia
from visits.intake.queries import service_area
from visits.intake.schemas import FieldError, ReasonOut, RequestIn, SubmitAnswer, validate_request
from visits.intake.service import IntakeConfig, Submission, SubmitResult, office_today, submit
from visits.models import Channel, Group, MaritalStatus

SCALAR_FIELDS = (
    "nik",
    "full_name",
    "birth_date",
    "sex",
    "marital_status",
    "disability_type",
    "approach_notes",
    "kelurahan_code",
    "rt",
    "rw",
    "street",
    "lat",
    "lon",
    "kk_number",
    "kk_check_at_visit",
    "companion_name",
    "companion_phone",
    "companion_relation",
    "accept_any_time",
    "consent",
    "consent_by",
    "kelurahan_letter",
    "heard_via",
    "notes",
    "outreach_id",  # phone intake opened from the outreach call list (the candidate it came from)
)
WEEKDAYS = range(7)


def intake_config() -> IntakeConfig:
    return IntakeConfig.from_settings(get_settings())


def body_limit() -> int:
    return get_settings().upload_max_bytes + FORM_OVERHEAD_BYTES


def form_body_limit() -> int:
    """What the HTML forms read: more than the upload limit, so a too-large photo is judged
    after the other fields were read (and the form comes back with them filled in)."""
    settings = get_settings()
    return max(settings.upload_form_max_bytes, settings.upload_max_bytes) + FORM_OVERHEAD_BYTES


async def read_form(request: Request, limit: int | None = None) -> FormData:
    """The multipart/urlencoded body, read through the size guard (413 when too large)."""
    guard_body(request, limit or body_limit())
    return await request.form(max_files=2, max_fields=200)


def text_field(form: FormData, name: str) -> str | None:
    value = form.get(name)
    if value is None or isinstance(value, UploadFile):
        return None
    value = value.strip()
    return value or None


def availability_from_form(form: FormData) -> Any:
    """``availability`` as JSON (API, scripts) or per-weekday rows ``avail_<d>_start/_end`` (HTML form)."""
    raw = text_field(form, "availability")
    if raw is not None:
        try:
            return json.loads(raw)
        except (ValueError, RecursionError):  # RecursionError: nested deeper than the parser allows
            return "not-json"
    rows = []
    for d in WEEKDAYS:
        start, end = text_field(form, f"avail_{d}_start"), text_field(form, f"avail_{d}_end")
        if text_field(form, f"avail_{d}") and start and end:
            rows.append({"weekday": d, "start": start, "end": end})
    return rows


def raw_submission(form: FormData) -> dict[str, Any]:
    raw: dict[str, Any] = {}
    for name in SCALAR_FIELDS:
        value = text_field(form, name)
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
        "heard_via_choices": [h.value for h in HeardVia],
        "idempotency_key": values.get("idempotency_key") or secrets.token_urlsafe(24),
    }


@dataclass
class Parsed:
    data: RequestIn | None
    errors: list[FieldError]
    raw: dict[str, Any]
    kk: bytes | None
    form_key: str | None
    too_large: bool = False  # the KK file was over the upload limit (nothing of it kept)


async def _parse(request: Request, now: datetime, limit: int) -> Parsed:
    form = await read_form(request, limit)
    raw = raw_submission(form)
    cfg = intake_config()
    data, errors = validate_request(raw, office_today(cfg.timezone, now))
    too_large = False
    try:
        kk = await kk_bytes(form, cfg.upload_max_bytes)
    except PayloadTooLarge:
        kk, too_large = None, True
    except Exception:  # noqa: BLE001 - unreadable part
        kk, errors = None, [*errors, FieldError("kk_file", "kk_file.unreadable")]
    return Parsed(data, errors, raw, kk, text_field(form, "idempotency_key"), too_large)


async def parse_submission(request: Request, now: Now) -> Parsed:
    """Read (size-guarded at the upload limit) and validate the submitted form (the API): 413
    for a KK file over the limit. Touches no database."""
    parsed = await _parse(request, now, body_limit())
    if parsed.too_large:
        raise PayloadTooLarge(field="kk_file")
    return parsed


async def parse_form_submission(request: Request, now: Now) -> Parsed:
    """The same for the HTML forms, which read up to ``form_body_limit()``: a KK file over the
    upload limit comes back as ``too_large`` so the page can keep everything typed."""
    return await _parse(request, now, form_body_limit())


def form_again(request: Request, session: Session, parsed: Parsed, errors: list[dict[str, str]], *, phone: bool) -> Any:
    """The form again with everything typed (never the file: it must be attached again), the
    errors on top; 413 for a too-large KK file (JSON clients get the plain 413), else 422."""
    from app.web import render

    too_large = any(e["code"] == "too_large" for e in errors)
    if too_large and "application/json" in request.headers.get("accept", ""):
        raise PayloadTooLarge(field="kk_file")
    values = dict(parsed.raw) | {"idempotency_key": parsed.form_key}
    return render(request, "intake/form.html", form_context(session, values, errors, phone=phone), 413 if too_large else 422)


def too_large_error(lang: str) -> dict[str, str]:
    return {"field": "kk_file", "code": "too_large", "reason": translate("public.upload.too_large", lang, mb=get_settings().upload_max_bytes // (1024 * 1024))}


def store_submission(
    parsed: Parsed,
    now: datetime,
    *,
    channel: Channel,
    language: str,
    idempotency_key: str | None,
    created_by_id: int | None = None,
    then: Callable[[Session, SubmitResult], None] | None = None,
) -> tuple[SubmitResult | None, list[FieldError]]:
    """Submit in its own write transaction, opened only after the whole body was read
    (a slow upload must not hold SQLite's write lock). Nothing is stored on errors. ``then``
    runs in the same transaction after a stored submission (e.g. the outreach link)."""
    if parsed.data is None or parsed.errors:
        return None, parsed.errors
    sub = Submission(data=parsed.data, channel=channel, language=language, kk_file=parsed.kk, idempotency_key=idempotency_key or parsed.form_key, created_by_id=created_by_id)
    try:
        with session_scope(write=True) as session:
            result = submit(session, sub, intake_config(), now)
            if then is not None:
                then(session, result)
            return result, []
    except InvalidInput as exc:
        return None, [domain_field_error(exc)]


async def reference_form(request: Request) -> FormData:
    """The small "reference + phone" lookup form (size-guarded), read on the event loop."""
    return await guarded_request(request, FORM_OVERHEAD_BYTES).form(max_files=0, max_fields=10)
