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

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date
from zoneinfo import ZoneInfo

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
    counts: Counter = field(default_factory=Counter)
    reasons: Counter = field(default_factory=Counter)
    failed: Counter = field(default_factory=Counter)

    def as_dict(self) -> dict:
        return {"key": self.key, "label": self.label, **{s: self.counts[s] for s in STAGES},
                "ineligible_by_reason": dict(self.reasons), "failed_outcomes": dict(self.failed)}


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
        return {"start": self.start.isoformat(), "end": self.end.isoformat(), "dimension": self.dimension,
                "total": self.total.as_dict(), "rows": [r.as_dict() for r in self.rows]}


def _ids(session: Session, stmt) -> set[int]:  # noqa: ANN001
    return set(session.exec(stmt).all())


def pipeline_report(session: Session, start: date, end: date, tz: str, dimension: str = "total") -> PipelineReport:
    dimension = dimension if dimension in DIMENSIONS else "total"
    lo, hi = local_bounds(start, end, ZoneInfo(tz))
    in_period = (VisitRequest.received_at >= lo, VisitRequest.received_at < hi)
    requests = session.exec(
        select(VisitRequest.id, VisitRequest.channel, VisitRequest.status, VisitRequest.reasons, Resident.kelurahan_id,
               Resident.group_elderly, Resident.group_disabled, Resident.group_mental, Resident.group_bedridden)
        .join(Resident, VisitRequest.resident_id == Resident.id)  # type: ignore[arg-type]
        .where(*in_period)
    ).all()

    def stage_ids(model) -> set[int]:  # noqa: ANN001
        return _ids(session, select(model.request_id).join(VisitRequest, model.request_id == VisitRequest.id).where(*in_period).distinct())

    offered, booked = stage_ids(SlotHold), stage_ids(Booking)
    outcomes: dict[int, list[str]] = defaultdict(list)
    for request_id, outcome in session.exec(
        select(Visit.request_id, Visit.outcome).join(VisitRequest, Visit.request_id == VisitRequest.id).where(*in_period)  # type: ignore[arg-type]
    ).all():
        outcomes[request_id].append(outcome)
    names = {k.id: k.name for k in session.exec(select(Kelurahan)).all()}
    total = PipelineRow("total", "total")
    rows: dict[str, PipelineRow] = {}
    groups = [g.value for g in Group]
    for rid, channel, status, reasons, kel_id, *flags in requests:
        if dimension == "channel":
            keys = [(channel, channel)]
        elif dimension == "group":
            keys = [(g, g) for g, on in zip(groups, flags, strict=True) if on]
        elif dimension == "kelurahan":
            keys = [(str(kel_id), names.get(kel_id, "")) if kel_id else (OUTSIDE, OUTSIDE)]
        else:
            keys = []
        stages = ["received"]
        if status == RequestStatus.INELIGIBLE:
            stages.append("ineligible")
        elif status in UNDECIDED:
            stages.append("awaiting")
        elif status == RequestStatus.CANCELLED and rid not in offered:
            stages.append("withdrawn")
        else:
            stages.append("eligible")
        stages += [s for s, ids in (("offered", offered), ("booked", booked)) if rid in ids]
        visits = outcomes.get(rid, [])
        if visits:
            stages.append("visited")
        if RECORDED in visits:
            stages.append("recorded")
        failed = [o for o in visits if o != RECORDED]
        why = list(reasons or []) if status == RequestStatus.INELIGIBLE else []
        for row in [total] + [rows.setdefault(k, PipelineRow(k, label)) for k, label in keys]:
            row.counts.update(stages)
            row.reasons.update(why)
            row.failed.update(failed)
    ordered = sorted(rows.values(), key=lambda r: (-r.counts["received"], r.label))
    return PipelineReport(start, end, dimension, ordered, total)
