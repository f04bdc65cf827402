"""The E-KTP card after a recorded visit (monitoring): the operator records that it was printed and
then handed over; a card not handed over within the office's delivery target (the
``JEMPUT_CARD_DELIVERY_DAYS`` setting, counted in calendar days from the recording) is flagged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from visits.errors import InvalidInput, NotFound
from visits.field.models import Visit
from visits.intake.models import VisitRequest
from visits.reporting.coverage import RECORDED
from visits.reporting.models import CardDelivery

STAGES = ("printed", "delivered")


def recorded_at(session: Session, request_id: int) -> datetime | None:
    """When a visit first recorded this request's resident (None: not recorded)."""
    return session.exec(select(func.min(Visit.recorded_on_device_at)).where(Visit.request_id == request_id, Visit.outcome == RECORDED)).one()


@dataclass(frozen=True)
class CardState:
    recorded_at: datetime | None
    printed_at: datetime | None
    delivered_at: datetime | None
    due: datetime | None  # recorded_at + the delivery target
    late: bool  # not handed over by ``due`` (or handed over after it)

    @property
    def can_print(self) -> bool:
        return self.recorded_at is not None and self.printed_at is None

    @property
    def can_deliver(self) -> bool:
        return self.printed_at is not None and self.delivered_at is None


def card_state(session: Session, request_id: int, now: datetime, target_days: int) -> CardState:
    at = recorded_at(session, request_id)
    row = session.exec(select(CardDelivery).where(CardDelivery.request_id == request_id)).first()
    printed, delivered = (row.printed_at, row.delivered_at) if row else (None, None)
    due = at + timedelta(days=target_days) if at else None
    late = due is not None and ((delivered or now) > due)
    return CardState(at, printed, delivered, due, late)


def mark_card(session: Session, request_id: int, stage: str, now: datetime, user_id: int | None) -> CardDelivery:
    """Record that the card was printed, or handed over (after it was printed). Flush only."""
    if session.get(VisitRequest, request_id) is None:
        raise NotFound()
    if stage not in STAGES:
        raise InvalidInput("error.invalid", field="stage")
    if recorded_at(session, request_id) is None:
        raise InvalidInput("reporting.card.not_recorded", field="stage")
    row = session.exec(select(CardDelivery).where(CardDelivery.request_id == request_id)).first() or CardDelivery(request_id=request_id)
    if stage == "printed":
        row.printed_at = row.printed_at or now
    else:
        if row.printed_at is None:
            raise InvalidInput("reporting.card.not_printed", field="stage")
        row.delivered_at = row.delivered_at or now
    row.updated_by_id, row.updated_at = user_id, now
    session.add(row)
    session.flush()
    return row


@dataclass(frozen=True)
class CardFigures:
    recorded: int  # requests recorded (first recorded visit) in the period
    delivered_in_time: int
    delivered_late: int
    overdue: int  # not handed over, past the target: flagged
    target_days: int
    overdue_list: tuple[tuple[int, str, datetime], ...] = ()  # (request id, reference, recorded at), oldest first, at most 200

    @property
    def in_time_share(self) -> float | None:
        due = self.delivered_in_time + self.delivered_late + self.overdue
        return self.delivered_in_time / due if due else None


def card_figures(
    session: Session,
    received_from: datetime,
    received_before: datetime,
    now: datetime,
    target_days: int,
    recorded: dict[int, tuple[str, datetime]] | None = None,
    limit: int = 200,
) -> CardFigures:
    """Cards of the requests received in ``[received_from, received_before)`` that a visit recorded.

    ``recorded`` (request id -> (reference, first recorded at)) may come from the caller, who has
    already read the period's visits (the criteria); otherwise it is read here.
    """
    in_period = (VisitRequest.received_at >= received_from, VisitRequest.received_at < received_before)
    if recorded is None:
        recorded = {
            rid: (ref, at)  # type: ignore[misc]
            for rid, ref, at in session.exec(
                select(VisitRequest.id, VisitRequest.reference, func.min(Visit.recorded_on_device_at))
                .select_from(VisitRequest)
                .join(Visit, Visit.request_id == VisitRequest.id)  # type: ignore[arg-type]
                .where(Visit.outcome == RECORDED, *in_period)
                .group_by(col(VisitRequest.id), VisitRequest.reference)
            ).all()
        }
    delivered_at = dict(
        session.exec(
            select(CardDelivery.request_id, CardDelivery.delivered_at)
            .join(VisitRequest, CardDelivery.request_id == VisitRequest.id)  # type: ignore[arg-type]
            .where(col(CardDelivery.delivered_at).is_not(None), *in_period)
        ).all()
    )
    target = timedelta(days=target_days)
    in_time = late = 0
    overdue: list[tuple[int, str, datetime]] = []
    rows = [(rid, ref, at, delivered_at.get(rid)) for rid, (ref, at) in recorded.items()]
    for rid, reference, at, delivered in rows:
        if delivered is not None:
            in_time, late = (in_time + 1, late) if delivered <= at + target else (in_time, late + 1)
        elif now > at + target:
            overdue.append((rid, reference, at))
    overdue.sort(key=lambda r: r[2])
    return CardFigures(len(rows), in_time, late, len(overdue), target_days, tuple(overdue[:limit]))
