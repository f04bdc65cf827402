"""The division head's dashboard (HEADS: head, admin): coverage, pipeline, response clock, the four
criteria, the monthly report, exports, the baseline import, and the same figures as JSON.

NO public routes in this module. Pages hold aggregate figures only (no personal data); every
export is audited (entity ``report``).

- ``GET  /head``                          coverage per kelurahan, kecamatan and city, with the projection
- ``GET  /head/pipeline``                 the pipeline for a period, by channel / group / kelurahan
- ``GET  /head/clock``                    the 1-working-day response clock
- ``GET  /head/criteria``                 the four effectiveness criteria
- ``GET  /head/monthly``                  a printable monthly report (A4)
- ``GET  /head/baseline``, ``POST``       the coverage baseline import (CSV or XLSX)
- ``GET  /head/export/{table}.{fmt}``     a table as CSV or XLSX (audited)
- ``GET  /api/v1/reports/{coverage,pipeline,clock,criteria}``  JSON
"""

from __future__ import annotations

import calendar
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from app.auth import Principal, audit_read, require_roles
from app.db import ReadSession, WriteSession
from app.deps import Now
from app.i18n import translate
from app.report_format import Fmt, bar_chart, column_chart
from app.settings import get_settings
from app.uploadguard import FORM_OVERHEAD_BYTES, guard_body
from app.web import one_file_form, render, request_language
from visits.errors import InvalidInput, NotFound
from visits.outreach.queries import still_to_reach
from visits.reporting.baseline import BaselineRejected, baselines, import_baseline
from visits.reporting.clock_report import clock_report, default_period
from visits.reporting.coverage import coverage_report
from visits.reporting.criteria import criteria_report
from visits.reporting.pipeline import DIMENSIONS, STAGES, pipeline_report
from visits.reporting.tables import TABLES, Table, clock_table, coverage_table, criteria_table, pipeline_table, to_csv, to_xlsx
from visits.staff.roles import HEADS

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1/reports", tags=["reports"])
heads = require_roles(*HEADS)
BASELINE_MAX_BYTES = 2 * 1024 * 1024
FORMATS = {"csv": "text/csv; charset=utf-8", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def _tz() -> str:
    return get_settings().timezone


def _period(start: str, end: str, now: datetime) -> tuple[date, date]:
    """The chosen period (``YYYY-MM-DD``, inclusive); the last 12 weeks when not given."""
    d_start, d_end = default_period(now, _tz())
    try:
        if start:
            d_start = date.fromisoformat(start)
        if end:
            d_end = date.fromisoformat(end)
    except ValueError:
        raise InvalidInput("reporting.bad_period", field="start" if start else "end") from None
    if d_end < d_start or (d_end - d_start).days > 6 * 366:
        raise InvalidInput("reporting.bad_period", field="end")
    return d_start, d_end


def _month(month: str, now: datetime) -> tuple[date, date]:
    today = now.astimezone(ZoneInfo(_tz())).date()
    try:
        first = date.fromisoformat(month + "-01") if month else today.replace(day=1)
    except ValueError:
        raise InvalidInput("reporting.bad_period", field="month") from None
    return first, first.replace(day=calendar.monthrange(first.year, first.month)[1])


def _coverage(session: Session, now: datetime):  # noqa: ANN202
    return coverage_report(session, now, _tz(), get_settings().coverage_target)


def _criteria(session: Session, start: date, end: date, now: datetime, coverage):  # noqa: ANN001, ANN202
    return criteria_report(session, start, end, _tz(), coverage, now=now, card_days=get_settings().card_delivery_days)


def _ctx(request: Request, **extra: Any) -> dict[str, Any]:
    lang = request_language(request)
    return {"f": Fmt(lang), "tz": ZoneInfo(_tz()), **extra}


def _coverage_charts(report, f: Fmt, lang: str) -> Any:  # noqa: ANN001
    items = [(a.name, a.coverage) for a in report.kelurahan if a.has_baseline]
    low = min([v for _n, v in items if v is not None] + [report.target - 0.02])
    lo = max(0.0, min(0.95, int(low * 100 - 1) / 100))
    return bar_chart(items, report.target, translate("reporting.chart.coverage", lang), lo=lo, fmt=f)


# ---------------------------------------------------------------- pages


@router.get("/head", response_class=HTMLResponse)
def coverage_page(request: Request, now: Now, principal: Principal = Depends(heads), session: Session = ReadSession) -> HTMLResponse:
    report = _coverage(session, now)
    # outreach: how many residents are still to reach, per area (counts only: the head never sees the list)
    ctx = _ctx(request, report=report, page="coverage", to_reach=still_to_reach(session, now, _tz()))
    ctx["chart"] = _coverage_charts(report, ctx["f"], request_language(request))
    return render(request, "head/coverage.html", ctx)


@router.get("/head/pipeline", response_class=HTMLResponse)
def pipeline_page(request: Request, now: Now, start: str = "", end: str = "", by: str = "channel", principal: Principal = Depends(heads), session: Session = ReadSession) -> HTMLResponse:
    d_start, d_end = _period(start, end, now)
    report = pipeline_report(session, d_start, d_end, _tz(), by)
    return render(request, "head/pipeline.html", _ctx(request, report=report, stages=STAGES, dimensions=DIMENSIONS, page="pipeline"))


@router.get("/head/clock", response_class=HTMLResponse)
def clock_page(request: Request, now: Now, start: str = "", end: str = "", principal: Principal = Depends(heads), session: Session = ReadSession) -> HTMLResponse:
    d_start, d_end = _period(start, end, now)
    report = clock_report(session, d_start, d_end, now, _tz())
    ctx = _ctx(request, report=report, page="clock")
    lang = request_language(request)
    ctx["chart"] = column_chart([(f"{w.week_start.day}/{w.week_start.month}", w.within_share) for w in report.weeks], translate("reporting.chart.clock", lang), 1.0, ctx["f"])
    return render(request, "head/clock.html", ctx)


@router.get("/head/criteria", response_class=HTMLResponse)
def criteria_page(request: Request, now: Now, start: str = "", end: str = "", principal: Principal = Depends(heads), session: Session = ReadSession) -> HTMLResponse:
    d_start, d_end = _period(start, end, now)
    c = _criteria(session, d_start, d_end, now, _coverage(session, now))
    ctx = _ctx(request, c=c, report=c, page="criteria", overdue_cards=c.cards.overdue_list)
    letter = [(m[2:], (y / a) if a else None) for m, a, y in c.letter_by_month]
    ctx["chart"] = column_chart(letter, translate("reporting.chart.letter", request_language(request)), None, ctx["f"])
    return render(request, "head/criteria.html", ctx)


@router.get("/head/monthly", response_class=HTMLResponse)
def monthly_page(request: Request, now: Now, month: str = "", principal: Principal = Depends(heads), session: Session = ReadSession) -> HTMLResponse:
    first, last = _month(month, now)
    cov = _coverage(session, now)
    ctx = _ctx(
        request,
        month=first,
        last=last,
        coverage=cov,
        page="monthly",
        clock=clock_report(session, first, last, now, _tz()),
        pipeline=pipeline_report(session, first, last, _tz(), "channel"),
        c=_criteria(session, first, last, now, cov),
        stages=STAGES,
    )
    ctx["chart"] = _coverage_charts(cov, ctx["f"], request_language(request))
    return render(request, "head/monthly.html", ctx)


@router.get("/head/baseline", response_class=HTMLResponse)
def baseline_page(request: Request, principal: Principal = Depends(heads), session: Session = ReadSession) -> HTMLResponse:
    return render(request, "head/baseline.html", _ctx(request, baselines=baselines(session), page="baseline"))


def baseline_body_guard(request: Request) -> None:
    """Declared before the role guard: its CSRF check reads the (multipart) form first."""
    guard_body(request, BASELINE_MAX_BYTES + FORM_OVERHEAD_BYTES)


read_baseline_form = one_file_form(BASELINE_MAX_BYTES, "baseline")


@router.post("/head/baseline", response_class=HTMLResponse)
def baseline_upload(
    request: Request,
    now: Now,
    _guard: None = Depends(baseline_body_guard),
    principal: Principal = Depends(heads),
    upload: tuple[str, bytes] = Depends(read_baseline_form),
    session: Session = WriteSession,
) -> Response:
    name, data = upload
    ctx = _ctx(request, page="baseline")
    if not data or len(data) > BASELINE_MAX_BYTES:
        ctx |= {"baselines": baselines(session), "file_error": "reporting.import.no_file" if not data else "error.too_large"}
        return render(request, "head/baseline.html", ctx, 422)
    try:
        done = import_baseline(session, name, data, now=now, tz=_tz(), user_id=principal.user_id)
    except BaselineRejected as exc:
        ctx |= {"baselines": baselines(session), "problems": exc.problems}
        return render(request, "head/baseline.html", ctx, 422)
    audit_read(session, request, principal, entity="report", action="import_baseline")
    return RedirectResponse(f"/head/baseline?imported={len(done)}", status_code=303)


# ---------------------------------------------------------------- exports


def _table(session: Session, name: str, now: datetime, start: str, end: str, by: str) -> Table:
    if name == "coverage":
        return coverage_table(_coverage(session, now))
    d_start, d_end = _period(start, end, now)
    if name == "pipeline":
        return pipeline_table(pipeline_report(session, d_start, d_end, _tz(), by))
    if name == "clock":
        return clock_table(clock_report(session, d_start, d_end, now, _tz()))
    return criteria_table(_criteria(session, d_start, d_end, now, _coverage(session, now)))


def column_label(column: str, lang: str) -> str:
    key = f"reporting.col.{column.split(':', 1)[0]}"
    text = translate(key, lang)
    label = column if text == key else text
    return f"{label}: {column.split(':', 1)[1]}" if ":" in column else label


@router.get("/head/export/{table}.{fmt}")
def export(request: Request, table: str, fmt: str, now: Now, start: str = "", end: str = "", by: str = "channel", principal: Principal = Depends(heads), session: Session = ReadSession) -> Response:
    if table not in TABLES or fmt not in FORMATS:
        raise NotFound()
    t = _table(session, table, now, start, end, by)
    lang = request_language(request)
    header = [column_label(c, lang) for c in t.columns]
    body = to_csv(t, header) if fmt == "csv" else to_xlsx(t, header, translate(f"reporting.nav.{table}", lang))
    audit_read(session, request, principal, entity="report", action=f"export_{table}_{fmt}")
    stamp = now.astimezone(ZoneInfo(_tz())).strftime("%Y%m%d")
    return Response(body, media_type=FORMATS[fmt], headers={"Content-Disposition": f'attachment; filename="jemput-{table}-{stamp}.{fmt}"', "Cache-Control": "no-store"})


# ---------------------------------------------------------------- JSON API


@api.get("/coverage")
def api_coverage(now: Now, principal: Principal = Depends(heads), session: Session = ReadSession) -> dict:
    """Coverage per kelurahan (furthest behind first), kecamatan and the city, with the projection."""
    return _coverage(session, now).as_dict()


@api.get("/pipeline")
def api_pipeline(now: Now, start: str = "", end: str = "", by: str = "total", principal: Principal = Depends(heads), session: Session = ReadSession) -> dict:
    """The pipeline for a period (``start``/``end`` YYYY-MM-DD; the last 12 weeks by default), by ``by``: total, channel, group, kelurahan."""
    d_start, d_end = _period(start, end, now)
    return pipeline_report(session, d_start, d_end, _tz(), by).as_dict()


@api.get("/clock")
def api_clock(now: Now, start: str = "", end: str = "", principal: Principal = Depends(heads), session: Session = ReadSession) -> dict:
    """The response clock: answered within 1 working day, working hours to the first answer, overdue now, weekly trend."""
    d_start, d_end = _period(start, end, now)
    return clock_report(session, d_start, d_end, now, _tz()).as_dict()


@api.get("/criteria")
def api_criteria(now: Now, start: str = "", end: str = "", principal: Principal = Depends(heads), session: Session = ReadSession) -> dict:
    """The four effectiveness criteria for a period."""
    d_start, d_end = _period(start, end, now)
    return _criteria(session, d_start, d_end, now, _coverage(session, now)).as_dict()
