"""The request pipeline for a period (read model), per channel, group or kelurahan.

Requests received in the period (local dates, inclusive), counted at each stage they reached:

- received: every request;
- ineligible: decided not eligible (counted by reason as well);
- awaiting: not yet decided (received, needs review);
- withdrawn: cancelled before any slot was offered;
- eligible: every other request (decided eligible, whatever happened next);
- offered: slots were offered (a slot hold exists); booked: a booking exists;
- visited: a team visited (a visit was recorded, any outcome); recorded: a visit recorded the resident;
- failed outcomes: the visits that did not record, by outcome (a request may have several).

A resident in two groups counts in both group rows.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, literal
from sqlmodel import Session, select

from visits.booking.models import Booking, SlotHold
from visits.field.models import Visit
from visits.intake.models import Group, Kelurahan, RequestStatus, Resident, VisitRequest
from visits.reporting.clock_report import local_bounds
from visits.reporting.coverage import RECORDED

DIMENSIONS = ("total", "channel", "group", "kelurahan")
STAGES = ("received", "ineligible", "awaiting", "withdrawn", "eligible", "offered", "booked", "visited", "recorded")
UNDECIDED = (RequestStatus.RECEIVED, RequestStatus.NEEDS_REVIEW)
OUTSIDE = "outside"  # the kelurahan row of requests from outside the service area


@dataclass
class PipelineRow:
    key: str
    label: str
    label_key: str = ""  # a catalog key naming the row (channels, groups, the total), else ``label`` is shown
    counts: Counter = field(default_factory=Counter)
    reasons: Counter = field(default_factory=Counter)
    failed: Counter = field(default_factory=Counter)

    def as_dict(self) -> dict:
        return {"key": self.key, "label": self.label, **{s: self.counts[s] for s in STAGES}, "ineligible_by_reason": dict(self.reasons), "failed_outcomes": dict(self.failed)}


@dataclass
class PipelineReport:
    start: date
    end: date
    dimension: str
    rows: list[PipelineRow]
    total: PipelineRow

    @property
    def reason_codes(self) -> list[str]:
        return sorted(self.total.reasons)

    @property
    def outcome_codes(self) -> list[str]:
        return sorted(self.total.failed)

    def as_dict(self) -> dict:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(), "dimension": self.dimension, "total": self.total.as_dict(), "rows": [r.as_dict() for r in self.rows]}


def pipeline_report(session: Session, start: date, end: date, tz: str, dimension: str = "total") -> PipelineReport:
    """Counted in the database: one grouped query for the stages, one for the failed outcomes, one for the reasons."""
    dimension = dimension if dimension in DIMENSIONS else "total"
    lo, hi = local_bounds(start, end, ZoneInfo(tz))
    in_period = (VisitRequest.received_at >= lo, VisitRequest.received_at < hi)
    flags = (Resident.group_elderly, Resident.group_disabled, Resident.group_mental, Resident.group_bedridden)
    dim_cols: tuple = {"channel": (VisitRequest.channel,), "group": flags, "kelurahan": (Resident.kelurahan_id,)}.get(dimension, ())

    def has(model, *where) -> Any:  # noqa: ANN001
        # "is there a row for this request": a scalar subquery probed through the request_id
        # index for each request of the period. (An EXISTS here is turned by PostgreSQL into a
        # hash of every request id the table holds, all years of it, on every call.)
        return select(literal(1)).select_from(model).where(model.request_id == VisitRequest.id, *where).limit(1).scalar_subquery().is_not(None)

    def residents(query):  # noqa: ANN001, ANN202 - the resident's columns only when the rows are by group or kelurahan
        return query.join(Resident, VisitRequest.resident_id == Resident.id) if dimension in ("group", "kelurahan") else query

    offered = has(SlotHold).label("offered")
    booked = has(Booking).label("booked")
    # one probe of the visits answers both "visited" (1) and "recorded" (2); NULL: no visit
    visit_stage = (
        select(func.max(case((Visit.outcome == RECORDED, 2), else_=1))).select_from(Visit).where(Visit.request_id == VisitRequest.id).scalar_subquery().label("visit_stage")  # type: ignore[arg-type]
    )
    stage_rows = session.exec(
        residents(select(*dim_cols, VisitRequest.status, offered, booked, visit_stage, func.count()).select_from(VisitRequest))  # type: ignore[call-overload]
        .where(*in_period)
        .group_by(*dim_cols, VisitRequest.status, offered, booked, visit_stage)
    ).all()
    outcome_rows = session.exec(
        residents(select(*dim_cols, Visit.outcome, func.count()).select_from(Visit).join(VisitRequest, Visit.request_id == VisitRequest.id))  # type: ignore[call-overload]
        .where(*in_period, Visit.outcome != RECORDED)
        .group_by(*dim_cols, Visit.outcome)
    ).all()
    reason_rows = session.execute(  # rows even with no dimension column (exec would yield the lists themselves)
        residents(select(*dim_cols, VisitRequest.reasons).select_from(VisitRequest)).where(*in_period, VisitRequest.status == RequestStatus.INELIGIBLE)  # type: ignore[call-overload]
    ).all()
    names = {k.id: k.name for k in session.exec(select(Kelurahan)).all()} if dimension == "kelurahan" else {}
    groups = [g.value for g in Group]
    total = PipelineRow("total", "total", "reporting.total")
    rows: dict[str, PipelineRow] = {}
    width = len(dim_cols)

    def targets(dims: tuple) -> list[PipelineRow]:
        if dimension == "channel":
            keys = [(dims[0], dims[0], f"intake.op.channel.{dims[0]}")]
        elif dimension == "group":
            keys = [(g, g, f"intake.group.{g}") for g, on in zip(groups, dims, strict=True) if on]
        elif dimension == "kelurahan":
            keys = [(str(dims[0]), names.get(dims[0], ""), "") if dims[0] else (OUTSIDE, OUTSIDE, "reporting.outside")]
        else:
            keys = []
        return [total] + [rows.setdefault(k, PipelineRow(k, label, label_key)) for k, label, label_key in keys]

    for row in stage_rows:
        dims, (status, was_offered, was_booked, stage, n) = tuple(row[:width]), row[width:]
        was_visited, was_recorded = stage is not None, stage == 2
        stages = ["received"]
        if status == RequestStatus.INELIGIBLE:
            stages.append("ineligible")
        elif status in UNDECIDED:
            stages.append("awaiting")
        elif status == RequestStatus.CANCELLED and not was_offered:
            stages.append("withdrawn")
        else:
            stages.append("eligible")
        stages += [s for s, on in (("offered", was_offered), ("booked", was_booked), ("visited", was_visited), ("recorded", was_recorded)) if on]
        for target in targets(dims):
            for s in stages:
                target.counts[s] += n
    for row in outcome_rows:
        dims, (outcome, n) = tuple(row[:width]), row[width:]
        for target in targets(dims):
            target.failed[outcome] += n
    for row in reason_rows:
        dims, reasons = tuple(row[:width]), row[width]
        for target in targets(dims):
            target.reasons.update(reasons or [])
    ordered = sorted(rows.values(), key=lambda r: (-r.counts["received"], r.label))
    return PipelineReport(start, end, dimension, ordered, total)
