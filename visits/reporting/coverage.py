"""Coverage toward the target per kelurahan, kecamatan and the city (read model; nothing is written).

For each kelurahan, the most recent baseline that holds it gives ``required`` and
``baseline_recorded``; residents Jemput recorded at home (a ``recorded`` visit, each resident once,
in the kelurahan they lived in when visited) after that baseline's date (in the office's timezone) count on top, shown apart as the door-to-door
contribution. Coverage = (baseline_recorded + jemput_recorded) / required.

Still to record = ceil(target × required) − recorded (never below 0), to the person.

Projection: the pace is the residents recorded by Jemput in the last 4 weeks (28 days up to now);
at that pace the area reaches the target after ceil(still × 28 / recorded in 28 days) days. With no
recorded visit in those weeks, or a date further than 5 years away, it is "not at this pace".
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo

from sqlalchemy import case, distinct, func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from visits.field.models import Visit
from visits.intake.models import Kecamatan, Kelurahan
from visits.reporting.models import CoverageBaseline, CoverageBaselineRow

RECORDED = "recorded"  # the visit outcome that records a resident
PACE_DAYS = 28
HORIZON_DAYS = 5 * 365


class Projection:
    REACHED = "reached"
    ON_PACE = "on_pace"
    NOT_AT_PACE = "not_at_pace"
    NO_BASELINE = "no_baseline"


@lru_cache(maxsize=8192)
def target_count(required: int, target: float) -> int:
    """Residents recorded needed for ``target`` (exact decimal arithmetic: 0.995 × 1000 is 995)."""
    return math.ceil(Decimal(str(target)) * required)


def project(still: int, recorded_in_pace: int, today: date, has_baseline: bool = True) -> tuple[str, date | None]:
    """(status, date) of reaching the target at the pace of ``recorded_in_pace`` residents per 28 days."""
    if not has_baseline:
        return Projection.NO_BASELINE, None
    if still <= 0:
        return Projection.REACHED, None
    if recorded_in_pace <= 0:
        return Projection.NOT_AT_PACE, None
    days = math.ceil(still * PACE_DAYS / recorded_in_pace)
    if days > HORIZON_DAYS:
        return Projection.NOT_AT_PACE, None
    return Projection.ON_PACE, today + timedelta(days=days)


@dataclass
class Area:
    level: str  # kelurahan, kecamatan, city
    code: str
    name: str
    kecamatan: str = ""
    as_of: date | None = None
    required: int = 0
    baseline_recorded: int = 0
    jemput_recorded: int = 0
    recorded_last_4_weeks: int = 0
    has_baseline: bool = False
    target: float = 0.995
    status: str = Projection.NO_BASELINE
    reaches_on: date | None = None
    children: list[Area] = field(default_factory=list)

    @property
    def on_pace(self) -> bool:
        """The target is reached on ``reaches_on`` at the last 4 weeks' pace (pages show the date)."""
        return self.status == Projection.ON_PACE

    @property
    def is_city(self) -> bool:
        return self.level == "city"

    @property
    def is_kecamatan(self) -> bool:
        return self.level == "kecamatan"

    @property
    def behind(self) -> bool:
        return self.has_baseline and self.still_to_record > 0

    @property
    def recorded(self) -> int:
        return self.baseline_recorded + self.jemput_recorded

    @property
    def coverage(self) -> float | None:
        return min(self.recorded, self.required) / self.required if self.required else None

    @property
    def jemput_share(self) -> float | None:
        """The door-to-door contribution, in points of coverage."""
        return self.jemput_recorded / self.required if self.required else None

    @property
    def still_to_record(self) -> int:
        return max(0, target_count(self.required, self.target) - self.recorded) if self.has_baseline else 0

    @property
    def gap(self) -> float:
        return (self.target - self.coverage) if self.coverage is not None else -1.0

    def finish(self, today: date) -> None:
        self.status, self.reaches_on = project(self.still_to_record, self.recorded_last_4_weeks, today, self.has_baseline)

    def as_dict(self) -> dict:
        return {
            "level": self.level,
            "code": self.code,
            "name": self.name,
            "kecamatan": self.kecamatan,
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "required": self.required,
            "baseline_recorded": self.baseline_recorded,
            "jemput_recorded": self.jemput_recorded,
            "recorded": self.recorded,
            "coverage": self.coverage,
            "target": self.target,
            "still_to_record": self.still_to_record,
            "recorded_last_4_weeks": self.recorded_last_4_weeks,
            "projection": self.status,
            "reaches_on": self.reaches_on.isoformat() if self.reaches_on else None,
        }


@dataclass
class CoverageReport:
    target: float
    today: date
    city: Area
    kecamatan: list[Area]
    kelurahan: list[Area]  # furthest behind first
    history: list[tuple[date, float | None]]  # the city's coverage at each baseline (baseline figures only)

    def as_dict(self) -> dict:
        return {
            "target": self.target,
            "today": self.today.isoformat(),
            "city": self.city.as_dict(),
            "kecamatan": [a.as_dict() for a in self.kecamatan],
            "kelurahan": [a.as_dict() for a in self.kelurahan],
            "history": [{"as_of": d.isoformat(), "coverage": c} for d, c in self.history],
        }


def _local_midnight_after(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)


def _recorded_since(session: Session, cutoffs: list[datetime]) -> list[dict[int, int]]:
    """For each cutoff: residents with a ``recorded`` visit at or after it, per kelurahan they
    lived in when visited (each resident once). One pass over one index of the recorded visits
    since the earliest cutoff."""
    if not cutoffs:
        return []
    resident = col(Visit.resident_id)
    at = col(Visit.recorded_on_device_at)
    counts = [func.count(distinct(case((at >= cutoff, resident)))) for cutoff in cutoffs]  # NULL (before the cutoff) is not counted
    stmt = sa_select(col(Visit.kelurahan_id), *counts).where(col(Visit.outcome) == RECORDED, at >= min(cutoffs), col(Visit.kelurahan_id).is_not(None)).group_by(col(Visit.kelurahan_id))
    out: list[dict[int, int]] = [{} for _ in cutoffs]
    for row in session.execute(stmt).all():
        kel_id, numbers = row[0], row[1:]
        for found, n in zip(out, numbers, strict=True):
            if n:
                found[kel_id] = n
    return out


def _latest_rows(session: Session) -> dict[int, tuple[date, int, int]]:
    """Per kelurahan id: (as_of, required, recorded) of the most recent baseline holding it."""
    rows = session.exec(
        select(CoverageBaselineRow.kelurahan_id, col(CoverageBaseline.as_of), CoverageBaselineRow.required, CoverageBaselineRow.recorded)
        .join(CoverageBaseline, CoverageBaselineRow.baseline_id == CoverageBaseline.id)  # type: ignore[arg-type]
        .order_by(col(CoverageBaseline.as_of))
    ).all()
    latest: dict[int, tuple[date, int, int]] = {}
    for kel_id, as_of, required, recorded in rows:
        latest[kel_id] = (as_of, required, recorded)  # later dates overwrite earlier ones
    return latest


def _history(session: Session) -> list[tuple[date, float | None]]:
    rows = session.exec(
        select(col(CoverageBaseline.as_of), func.sum(CoverageBaselineRow.required), func.sum(CoverageBaselineRow.recorded))
        .join(CoverageBaselineRow, CoverageBaselineRow.baseline_id == CoverageBaseline.id)  # type: ignore[arg-type]
        .group_by(col(CoverageBaseline.as_of))
        .order_by(col(CoverageBaseline.as_of))
    ).all()
    return [(d, (rec / req) if req else None) for d, req, rec in rows]


def coverage_report(session: Session, now: datetime, tz: str, target: float) -> CoverageReport:
    zone = ZoneInfo(tz)
    today = now.astimezone(zone).date()
    latest = _latest_rows(session)
    by_cutoff: dict[date, list[int]] = defaultdict(list)
    for kel_id, (as_of, _req, _rec) in latest.items():
        by_cutoff[as_of].append(kel_id)
    cutoffs = list(by_cutoff)  # the baselines' dates, then the start of the pace window
    *since_baseline, pace = _recorded_since(session, [*(_local_midnight_after(as_of, zone) for as_of in cutoffs), now - timedelta(days=PACE_DAYS)])
    jemput: dict[int, int] = {}
    for as_of, counts in zip(cutoffs, since_baseline, strict=True):
        jemput.update({k: counts.get(k, 0) for k in by_cutoff[as_of]})
    kecamatan_names: dict[int | None, str] = {}
    kec_areas: dict[int | None, Area] = {}
    for kid, code, name in session.exec(select(Kecamatan.id, Kecamatan.code, Kecamatan.name)).all():  # rows, not entities
        kecamatan_names[kid], kec_areas[kid] = name, Area("kecamatan", code, name, target=target)
    city = Area("city", "", "", target=target)
    kel_areas: list[Area] = []
    for row_id, code, name, kec_id in session.exec(select(Kelurahan.id, Kelurahan.code, Kelurahan.name, Kelurahan.kecamatan_id).order_by(Kelurahan.code)).all():  # 300 rows a page
        area = Area("kelurahan", code, name, kecamatan=kecamatan_names.get(kec_id, ""), target=target)
        assert row_id is not None
        if row_id in latest:
            area.as_of, area.required, area.baseline_recorded = latest[row_id]
            area.jemput_recorded = jemput.get(row_id, 0)
            area.has_baseline = True
        area.recorded_last_4_weeks = pace.get(row_id, 0)
        area.finish(today)
        kel_areas.append(area)
        for parent in (kec_areas.get(kec_id), city):
            if parent is None:
                continue
            parent.children.append(area)
            parent.required += area.required
            parent.baseline_recorded += area.baseline_recorded
            parent.jemput_recorded += area.jemput_recorded
            parent.recorded_last_4_weeks += area.recorded_last_4_weeks
            parent.has_baseline = parent.has_baseline or area.has_baseline
            if area.as_of and (parent.as_of is None or area.as_of > parent.as_of):
                parent.as_of = area.as_of
    for a in [*kec_areas.values(), city]:
        a.finish(today)
    return CoverageReport(target, today, city, sorted(kec_areas.values(), key=_behind), sorted(kel_areas, key=_behind), _history(session))


def _behind(a: Area) -> tuple:
    """Furthest behind first: lowest coverage, then most still to record; areas without a baseline last."""
    return (not a.has_baseline, a.coverage if a.coverage is not None else 2.0, -a.still_to_record, a.code)
