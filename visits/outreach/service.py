"""Outreach use cases: the not-yet-recorded import, referrals, call results, the link to phone
intake's request, and the retention purge. Plain functions over a session; they only flush.

Choices (see the README):
- a re-import is keyed by NIK: a resident already held is updated (name, address, phone; their call
  state and attempts are kept), a new one is added; the residents of a kelurahan the file covers
  that the file no longer lists are taken off the list (``listed`` false: recorded since, says the
  population system) unless a partner referred them;
- retention: a row is deleted ``retention_days`` after it was last imported or referred, with its
  referrals and calls (``purge_expired``, run by ``jemput purge-uploads``);
- a referral needs the resident's NIK (the visit needs it anyway), checked with the intake's rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, delete, select, update

from visits.booking.slots import SlotPolicy
from visits.errors import Conflict, InvalidInput, NotFound
from visits.intake.models import VisitRequest
from visits.outreach import identity
from visits.outreach.importer import PersonRow, ReferralRow, read_list, read_referrals, referral_form
from visits.outreach.models import ON_CALL_LIST, STATE_AFTER, CallResult, OutreachCall, OutreachProposal, OutreachReferral, OutreachResident, OutreachState
from visits.planning.travel import TravelService
from visits.types import utcnow


@dataclass(frozen=True)
class OutreachConfig:
    region_prefix: str
    timezone: str
    retention_days: int = 180
    max_attempts: int = 3

    @classmethod
    def from_settings(cls, settings) -> OutreachConfig:  # noqa: ANN001 - app.settings.Settings
        return cls(settings.region_prefix, settings.timezone, settings.outreach_retention_days, settings.outreach_max_attempts)

    def today(self, now: datetime):  # noqa: ANN201
        return now.astimezone(ZoneInfo(self.timezone)).date()


@dataclass(frozen=True)
class ImportSummary:
    rows: int
    added: int
    updated: int
    delisted: int  # held for a kelurahan of the file, no longer listed (recorded since)


def _apply(row: OutreachResident, p: PersonRow, now: datetime, cfg: OutreachConfig) -> None:
    row.full_name, row.birth_date, row.sex = p.full_name, p.birth_date, p.sex
    row.street, row.rt, row.rw, row.kelurahan_id = p.street, p.rt, p.rw, p.kelurahan_id
    if p.kk_number:
        row.kk_number = p.kk_number
    if p.phone:
        row.phone = p.phone
    row.delete_after = now + timedelta(days=cfg.retention_days)
    row.updated_at = now


def _upsert(session: Session, held: dict[str, OutreachResident], p: PersonRow, now: datetime, cfg: OutreachConfig) -> tuple[OutreachResident, bool]:
    row = held.get(p.nik)
    added = row is None
    if row is None:
        row = OutreachResident(full_name="", birth_date=p.birth_date, sex=p.sex, street="", rt="", rw="", kelurahan_id=p.kelurahan_id, delete_after=now, created_at=now)
        identity.store_nik(row, p.nik)
        held[p.nik] = row
    _apply(row, p, now, cfg)
    session.add(row)
    return row, added


def import_list(session: Session, filename: str, data: bytes, *, now: datetime, cfg: OutreachConfig) -> ImportSummary:
    """Check the whole file (nothing stored on any bad row), then add or update each resident by NIK."""
    rows = read_list(session, filename, data, cfg.today(now), cfg.region_prefix)
    held = identity.find_many_by_nik(session, [p.nik for p in rows])
    kelurahan_ids = {p.kelurahan_id for p in rows}
    referred = select(OutreachReferral.outreach_resident_id)
    before = set(
        session.exec(select(OutreachResident.id).where(col(OutreachResident.kelurahan_id).in_(kelurahan_ids), col(OutreachResident.listed).is_(True), col(OutreachResident.id).not_in(referred))).all()
    )
    if before:  # the file is the list of its kelurahan: whoever it no longer names recorded since
        session.exec(update(OutreachResident).where(col(OutreachResident.kelurahan_id).in_(kelurahan_ids), col(OutreachResident.id).not_in(referred)).values(listed=False))
        session.expire_all()
        held = identity.find_many_by_nik(session, [p.nik for p in rows])
    added = 0
    for p in rows:
        row, new = _upsert(session, held, p, now, cfg)
        row.listed = True
        added += new
    session.flush()
    delisted = before - {r.id for r in held.values()}
    return ImportSummary(len(rows), added, len(rows) - added, len(delisted))


def _refer(session: Session, r: ReferralRow, now: datetime, cfg: OutreachConfig, user_id: int | None) -> OutreachReferral:
    held = identity.find_by_nik(session, r.person.nik)
    row, _added = _upsert(session, {r.person.nik: held} if held else {}, r.person, now, cfg)
    if row.phone is None:
        row.phone = r.contact_phone
    session.flush()
    assert row.id is not None
    referral = OutreachReferral(
        outreach_resident_id=row.id,
        partner_kind=r.partner_kind,
        partner_name=r.partner_name,
        group_code=r.group,
        contact_name=r.contact_name,
        contact_phone=r.contact_phone,
        note=r.note,
        created_by_id=user_id,
        created_at=now,
    )
    session.add(referral)
    session.flush()
    return referral


def add_referral(session: Session, form: dict[str, object], *, now: datetime, cfg: OutreachConfig, user_id: int | None = None) -> OutreachReferral:
    """One referral from the staff form (a resident already held is updated, not duplicated)."""
    return _refer(session, referral_form(session, form, cfg.today(now), cfg.region_prefix), now, cfg, user_id)


def import_referrals(session: Session, filename: str, data: bytes, *, now: datetime, cfg: OutreachConfig, user_id: int | None = None) -> int:
    rows = read_referrals(session, filename, data, cfg.today(now), cfg.region_prefix)
    for r in rows:
        _refer(session, r, now, cfg, user_id)
    return len(rows)


def get(session: Session, outreach_id: int) -> OutreachResident:
    row = session.get(OutreachResident, outreach_id)
    if row is None:
        raise NotFound()
    return row


@dataclass(frozen=True)
class CallOutcome:
    row: OutreachResident
    result: CallResult
    next: str  # "intake" (open phone intake, prefilled), "retry" (stays on the list), "closed"


def record_call(session: Session, outreach_id: int, result: str, *, now: datetime, cfg: OutreachConfig, user_id: int | None = None) -> CallOutcome:
    """One call's result: where the candidate stands after it, and what the operator does next."""
    try:
        outcome = CallResult(result)
    except ValueError:
        raise InvalidInput("outreach.err.result", field="result") from None
    row = get(session, outreach_id)
    if row.state not in ON_CALL_LIST:
        raise Conflict("outreach.err.not_on_list")
    session.add(OutreachCall(outreach_resident_id=outreach_id, result=outcome, called_by_id=user_id, at=now))
    row.last_call_at, row.updated_at = now, now
    if outcome == CallResult.NOT_REACHABLE:
        row.attempts += 1
        row.state = OutreachState.UNREACHABLE if row.attempts >= cfg.max_attempts else OutreachState.OPEN
        step = "closed" if row.state == OutreachState.UNREACHABLE else "retry"
    else:
        row.state = STATE_AFTER[outcome]
        step = "intake" if outcome == CallResult.WANTS_VISIT else "closed"
    session.add(row)
    session.flush()
    return CallOutcome(row, outcome, step)


def link_request(session: Session, outreach_id: int, request_id: int, *, now: datetime | None = None, travel: TravelService | None = None, policy: SlotPolicy | None = None) -> None:
    """Keep the link from the candidate to the request phone intake made for them (same NIK only);
    with ``travel`` and ``policy``, a campaign's proposal for them becomes a held offer when it still fits."""
    row = session.get(OutreachResident, outreach_id)
    request = session.get(VisitRequest, request_id)
    if row is None or request is None:
        return
    from visits.intake.models import Resident

    resident = session.exec(select(Resident).where(identity.same_resident(), col(OutreachResident.id) == outreach_id)).first()
    if resident is None or resident.id != request.resident_id:
        return  # the intake was for someone else: no link
    row.request_id, row.state = request_id, OutreachState.WANTS_VISIT
    session.add(row)
    session.flush()
    if now is not None and travel is not None and policy is not None:
        from visits.outreach.campaign import hold_proposal

        hold_proposal(session, outreach_id, request, now, travel, policy)


def purge_expired(session: Session, now: datetime | None = None) -> int:
    """Delete the outreach rows past their retention time, with their referrals and calls."""
    now = now or utcnow()
    ids = list(session.exec(select(OutreachResident.id).where(OutreachResident.delete_after <= now)).all())
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        session.exec(delete(OutreachCall).where(col(OutreachCall.outreach_resident_id).in_(chunk)))
        session.exec(delete(OutreachProposal).where(col(OutreachProposal.outreach_resident_id).in_(chunk)))
        session.exec(delete(OutreachReferral).where(col(OutreachReferral.outreach_resident_id).in_(chunk)))
        session.exec(delete(OutreachResident).where(col(OutreachResident.id).in_(chunk)))
    session.flush()
    return len(ids)
