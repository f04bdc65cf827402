"""The four effectiveness criteria (Budiani) as numbers, for requests received in a period.

- target accuracy: of the requests visited, the share whose resident is in a served group and was
  not found ineligible; and the visits whose outcome signals mis-targeting (``MISTARGET_OUTCOMES``);
- socialisation: of the requests that answered the question, the share that still came with the
  obsolete kelurahan letter (overall and per month); the channel mix; how families heard of the
  service (the optional intake question); the kelurahan without any request, with their share of
  the residents required to hold an E-KTP;
- goal attainment: the city's coverage against the target, and the kelurahan at the target;
- monitoring: of the visits that did not record, the share followed up (a later booking or a later
  visit for the same request); the follow-up surveys sent a day after a recorded visit, answered,
  and the satisfaction (1–5); the E-KTP cards handed over within the delivery target (the rest flagged).
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from visits.booking.models import Booking
from visits.field.models import Visit
from visits.intake.models import Kelurahan, RequestStatus, Resident, VisitRequest
from visits.reporting.cards import CardFigures, card_figures
from visits.reporting.clock_report import local_bounds
from visits.reporting.coverage import RECORDED, CoverageReport
from visits.reporting.followup import SurveyFigures, survey_figures

MISTARGET_OUTCOMES = ("already_recorded", "could_come_to_office")


def share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclass
class Criteria:
    start: date
    end: date
    # target accuracy
    visited: int = 0
    visited_on_target: int = 0
    visits: int = 0
    mistargeted_visits: Counter = field(default_factory=Counter)
    # socialisation
    letter_answered: int = 0
    letter_yes: int = 0
    letter_by_month: list[tuple[str, int, int]] = field(default_factory=list)  # (YYYY-MM, answered, with letter)
    channels: Counter = field(default_factory=Counter)
    heard_via: Counter = field(default_factory=Counter)  # answers to "how did you hear of the service" (unanswered not counted)
    silent_kelurahan: list[tuple[str, str, float | None]] = field(default_factory=list)  # (code, name, share of required)
    kelurahan_total: int = 0
    # goal attainment
    coverage: float | None = None
    target: float = 0.995
    kelurahan_at_target: int = 0
    kelurahan_with_baseline: int = 0
    # monitoring
    failed_visits: int = 0
    followed_up: int = 0
    surveys: SurveyFigures = field(default_factory=lambda: SurveyFigures(0, 0, None, 0))
    cards: CardFigures = field(default_factory=lambda: CardFigures(0, 0, 0, 0, 14))

    @property
    def target_accuracy(self) -> float | None:
        return share(self.visited_on_target, self.visited)

    @property
    def mistarget_share(self) -> float | None:
        return share(sum(self.mistargeted_visits.values()), self.visits)

    @property
    def letter_share(self) -> float | None:
        return share(self.letter_yes, self.letter_answered)

    @property
    def follow_up_share(self) -> float | None:
        return share(self.followed_up, self.failed_visits)

    def channel_share(self, channel: str) -> float | None:
        return share(self.channels[channel], sum(self.channels.values()))

    def heard_share(self, source: str) -> float | None:
        return share(self.heard_via[source], sum(self.heard_via.values()))

    def as_dict(self) -> dict:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "target_accuracy": {
                "visited": self.visited,
                "on_target": self.visited_on_target,
                "share": self.target_accuracy,
                "visits": self.visits,
                "mistargeted_visits": dict(self.mistargeted_visits),
                "mistarget_share": self.mistarget_share,
            },
            "socialisation": {
                "letter_answered": self.letter_answered,
                "with_letter": self.letter_yes,
                "letter_share": self.letter_share,
                "letter_by_month": [{"month": m, "answered": a, "with_letter": y} for m, a, y in self.letter_by_month],
                "channels": dict(self.channels),
                "heard_via": dict(self.heard_via),
                "kelurahan_without_request": [{"code": c, "name": n, "share_of_required": s} for c, n, s in self.silent_kelurahan],
                "kelurahan_total": self.kelurahan_total,
            },
            "goal_attainment": {"coverage": self.coverage, "target": self.target, "kelurahan_at_target": self.kelurahan_at_target, "kelurahan_with_baseline": self.kelurahan_with_baseline},
            "monitoring": {
                "failed_visits": self.failed_visits,
                "followed_up": self.followed_up,
                "follow_up_share": self.follow_up_share,
                "surveys_sent": self.surveys.sent,
                "surveys_answered": self.surveys.answered,
                "answer_share": self.surveys.answer_share,
                "mean_satisfaction": self.surveys.mean_satisfaction,
                "satisfied_share": self.surveys.satisfied_share,
                "cards": {
                    "recorded": self.cards.recorded,
                    "delivered_in_time": self.cards.delivered_in_time,
                    "delivered_late": self.cards.delivered_late,
                    "overdue": self.cards.overdue,
                    "target_days": self.cards.target_days,
                    "in_time_share": self.cards.in_time_share,
                },
            },
        }


def _months(start: date, end: date, zone: ZoneInfo) -> Callable[[datetime], str]:
    """``YYYY-MM`` of an instant in the period, local time: the period's few month boundaries
    computed once, then a bisection per instant."""
    firsts: list[date] = []
    day = date(start.year, start.month, 1)
    while day <= end:
        firsts.append(day)
        day = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    bounds = [datetime.combine(d, time(0), tzinfo=zone) for d in firsts]
    labels = [d.strftime("%Y-%m") for d in firsts]

    def month_of(instant: datetime) -> str:
        return labels[max(bisect_right(bounds, instant) - 1, 0)]

    return month_of


def criteria_report(session: Session, start: date, end: date, tz: str, coverage: CoverageReport, *, now: datetime | None = None, card_days: int = 14) -> Criteria:
    """``now`` (default: the end of the period) decides which cards are past the delivery target."""
    zone = ZoneInfo(tz)
    lo, hi = local_bounds(start, end, zone)
    c = Criteria(start, end, target=coverage.target)
    requests = session.exec(
        select(  # type: ignore[call-overload]
            VisitRequest.id,
            VisitRequest.reference,
            VisitRequest.channel,
            VisitRequest.status,
            VisitRequest.kelurahan_letter,
            VisitRequest.heard_via,
            VisitRequest.received_at,
            Resident.kelurahan_id,
            Resident.group_elderly,
            Resident.group_disabled,
            Resident.group_mental,
            Resident.group_bedridden,
        )
        .join(Resident, VisitRequest.resident_id == Resident.id)
        .where(VisitRequest.received_at >= lo, VisitRequest.received_at < hi)
    ).all()
    visits: dict[int, list[tuple[str, datetime]]] = defaultdict(list)
    for rid, outcome, at in session.exec(
        select(Visit.request_id, Visit.outcome, Visit.recorded_on_device_at)
        .join(VisitRequest, Visit.request_id == VisitRequest.id)  # type: ignore[arg-type]
        .where(VisitRequest.received_at >= lo, VisitRequest.received_at < hi)
    ).all():
        visits[rid].append((outcome, at))
    bookings: dict[int, list[datetime]] = defaultdict(list)  # only the requests with a failed visit need them (follow-up)
    failed = [rid for rid, done in visits.items() if any(outcome != RECORDED for outcome, _at in done)]
    for chunk in range(0, len(failed), 500):
        for rid, at in session.exec(select(Booking.request_id, Booking.created_at).where(col(Booking.request_id).in_(failed[chunk : chunk + 500]))).all():
            bookings[rid].append(at)
    month_of = _months(start, end, zone)
    months: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    asked: set[int] = set()
    recorded: dict[int, tuple[str, datetime]] = {}  # request id -> (reference, first recorded at): the cards
    for rid, reference, channel, status, letter, heard, received_at, kel_id, *groups in requests:
        c.channels[channel] += 1
        if heard:
            c.heard_via[heard] += 1
        if kel_id is not None:
            asked.add(kel_id)
        if letter is not None:
            month = month_of(received_at)
            months[month][0] += 1
            c.letter_answered += 1
            if letter:
                months[month][1] += 1
                c.letter_yes += 1
        done = visits.get(rid, [])
        if done:
            c.visited += 1
            c.visited_on_target += int(any(groups) and status != RequestStatus.INELIGIBLE)
        times = [at for outcome, at in done if outcome == RECORDED]
        if times:
            recorded[rid] = (reference, min(times))
        for outcome, at in done:
            c.visits += 1
            if outcome in MISTARGET_OUTCOMES:
                c.mistargeted_visits[outcome] += 1
            if outcome != RECORDED:
                c.failed_visits += 1
                later = any(b > at for b in bookings.get(rid, [])) or any(v_at > at for _o, v_at in done)
                c.followed_up += int(later)
    c.surveys = survey_figures(session, lo, hi)
    c.cards = card_figures(session, lo, hi, now or hi, card_days, recorded)
    c.letter_by_month = [(m, a, y) for m, (a, y) in sorted(months.items())]
    city_required = coverage.city.required
    by_code = {a.code: a for a in coverage.kelurahan}
    kelurahan = session.exec(select(Kelurahan.id, Kelurahan.code, Kelurahan.name).order_by(Kelurahan.code)).all()
    c.kelurahan_total = len(kelurahan)
    for kel_id, code, name in kelurahan:
        if kel_id not in asked:
            area = by_code.get(code)
            c.silent_kelurahan.append((code, name, share(area.required, city_required) if area else None))
    c.coverage = coverage.city.coverage
    with_baseline = [a for a in coverage.kelurahan if a.has_baseline]
    c.kelurahan_with_baseline = len(with_baseline)
    c.kelurahan_at_target = sum(1 for a in with_baseline if a.still_to_record == 0)
    return c
