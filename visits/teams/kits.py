"""Recording kits: putting one out of service (administration, or a failure in the field)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from visits.booking.notices import Office
from visits.booking.slots import SlotPolicy
from visits.errors import NotFound
from visits.models import KitState, RecordingKit
from visits.planning.travel import TravelService
from visits.teams import capacity


def team_kit(session: Session, team_id: int) -> RecordingKit:
    kit = session.exec(select(RecordingKit).where(RecordingKit.team_id == team_id, RecordingKit.retired_at.is_(None))).first()  # type: ignore[union-attr]
    if kit is None:
        raise NotFound("admin.kits.team_has_no_kit")
    return kit


def set_out_of_service(kit: RecordingKit, *, start: date | None, until: date | None, now: datetime, notes: str | None = None, repair: bool = False) -> None:
    kit.state = KitState.UNDER_REPAIR if repair else KitState.OUT_OF_SERVICE
    kit.out_from = None if repair else start
    kit.out_until = None if repair else until
    if notes is not None:
        kit.notes = notes
    kit.updated_at = now


def report_kit_failure(session: Session, *, team_id: int, since: datetime, now: datetime, travel: TravelService, policy: SlotPolicy, office: Office) -> list[capacity.Rehomed]:
    """The team's kit failed at ``since``: it is out of service from that day (until an admin
    puts it back), and the team's bookings from ``since`` on move to another team or are
    re-offered (:func:`visits.teams.capacity.rehome`). Returns what happened to each."""
    kit = team_kit(session, team_id)
    start = since.astimezone(ZoneInfo(policy.timezone)).date()

    def change(s: Session) -> None:
        set_out_of_service(kit, start=start, until=None, now=now, notes=kit.notes)

    return capacity.apply_and_rehome(session, change, now, travel, policy, office, team_ids=[team_id], since=since)
