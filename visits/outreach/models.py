"""Outreach tables: the imported not-yet-recorded residents, partners' referrals and call results.
(SQLModel tables; see ``visits.tables``.)

``outreach_resident`` holds one row per NIK (a re-import updates it): what the population system
lists (name, birth date, sex, KK, address with RT/RW and kelurahan, a phone when it has one), where
the outreach stands (``state``, call ``attempts``) and, once phone intake made one, the request it led
to. It is specific personal data: only operators and admins read it (every read audited) and a row
is deleted ``JEMPUT_OUTREACH_RETENTION_DAYS`` after it was last imported or referred
(``delete_after``; ``jemput purge-uploads``). Referrals and calls go with their resident.
"""

from __future__ import annotations

from datetime import date, datetime, time
from enum import StrEnum

from sqlalchemy import CheckConstraint, Column, Index, Text, event, inspect
from sqlmodel import Field, SQLModel

from visits import pii
from visits.intake.models import Sex
from visits.pii import Sealed
from visits.tables import created_column, one_of, str_column, utc_column


class PartnerKind(StrEnum):
    KELURAHAN = "kelurahan"
    PUSKESMAS = "puskesmas"
    DINSOS = "dinsos"
    CARE_HOME = "care_home"  # panti


class ReferralGroup(StrEnum):
    """The served groups a partner refers (the elderly are found by their birth date)."""

    DISABLED = "disabled"
    MENTAL = "mental"  # ODGJ
    BEDRIDDEN = "bedridden"


class CallResult(StrEnum):
    WANTS_VISIT = "wants_visit"  # reached and wants a visit: phone intake, prefilled
    WILL_COME = "will_come"  # will come to the office
    NOT_REACHABLE = "not_reachable"  # try again later (at most JEMPUT_OUTREACH_MAX_ATTEMPTS calls)
    REFUSED = "refused"
    MOVED = "moved"
    DECEASED = "deceased"


class OutreachState(StrEnum):
    OPEN = "open"  # still to reach (on the call list)
    WANTS_VISIT = "wants_visit"  # reached, wants a visit; on the list until phone intake made a request
    WILL_COME = "will_come"
    UNREACHABLE = "unreachable"  # not reached after the last allowed attempt
    REFUSED = "refused"
    MOVED = "moved"
    DECEASED = "deceased"


# the states that keep a candidate on the call list (the others were reached, or given up)
ON_CALL_LIST: tuple[OutreachState, ...] = (OutreachState.OPEN, OutreachState.WANTS_VISIT)
# what each final call result leaves the candidate in (NOT_REACHABLE depends on the attempts)
STATE_AFTER: dict[CallResult, OutreachState] = {
    CallResult.WANTS_VISIT: OutreachState.WANTS_VISIT,
    CallResult.WILL_COME: OutreachState.WILL_COME,
    CallResult.REFUSED: OutreachState.REFUSED,
    CallResult.MOVED: OutreachState.MOVED,
    CallResult.DECEASED: OutreachState.DECEASED,
}


class OutreachResident(SQLModel, table=True):
    __tablename__ = "outreach_resident"
    __table_args__ = (
        one_of("sex", Sex),
        one_of("state", OutreachState),
        CheckConstraint("attempts >= 0", name="attempts_non_negative"),
        Index("ix_outreach_resident_kelurahan_id_state", "kelurahan_id", "state"),
    )
    id: int | None = Field(default=None, primary_key=True)
    # sealed at rest like a resident's (visits.pii): the attribute holds the plain NIK, the column
    # ciphertext; looked up, and matched with a resident, by its keyed hash (visits.outreach.identity)
    nik: str = Field(default="", sa_column=Column("nik_sealed", Sealed(pii.NIK), nullable=False))
    nik_hash: str = str_column(64, default="", unique=True)
    full_name: str = str_column(200)
    birth_date: date
    sex: str = str_column(1)
    kk_number: str | None = Field(default=None, sa_column=Column("kk_number_sealed", Sealed(pii.KK), nullable=True))  # NULL for a referral the list does not hold
    street: str = str_column(300)
    rt: str = str_column(3)
    rw: str = str_column(3)
    kelurahan_id: int = Field(foreign_key="kelurahan.id")
    phone: str | None = str_column(20, default=None, nullable=True)  # E.164, when the list or a referral gives one
    listed: bool = False  # on the office's latest not-yet-recorded list
    state: str = str_column(12, default=OutreachState.OPEN)
    attempts: int = 0  # unanswered calls so far
    last_call_at: datetime | None = utc_column()
    request_id: int | None = Field(default=None, foreign_key="visit_request.id", nullable=True)  # the request phone intake made
    delete_after: datetime = utc_column(nullable=False)
    created_at: datetime = created_column()
    updated_at: datetime = created_column()


@event.listens_for(OutreachResident, "before_insert")
def _hash_new_nik(_mapper: object, _connection: object, target: OutreachResident) -> None:
    """The NIK's lookup hash under the current data key: the same hash as a resident's, so the two match."""
    target.nik_hash = pii.lookup_hash(target.nik, pii.NIK)


@event.listens_for(OutreachResident, "before_update")
def _hash_changed_nik(mapper: object, connection: object, target: OutreachResident) -> None:
    if inspect(target).attrs.nik.history.has_changes():
        _hash_new_nik(mapper, connection, target)


class OutreachReferral(SQLModel, table=True):
    __tablename__ = "outreach_referral"
    __table_args__ = (one_of("partner_kind", PartnerKind), one_of("group_code", ReferralGroup))
    id: int | None = Field(default=None, primary_key=True)
    outreach_resident_id: int = Field(foreign_key="outreach_resident.id", index=True)
    partner_kind: str = str_column(10)
    partner_name: str = str_column(200)
    group_code: str = str_column(10)
    contact_name: str = str_column(200)
    contact_phone: str = str_column(20)  # E.164
    note: str | None = Field(default=None, sa_type=Text, nullable=True)
    created_by_id: int | None = Field(default=None, foreign_key="app_user.id", nullable=True)
    created_at: datetime = created_column()


class OutreachCall(SQLModel, table=True):
    __tablename__ = "outreach_call"
    __table_args__ = (one_of("result", CallResult),)
    id: int | None = Field(default=None, primary_key=True)
    outreach_resident_id: int = Field(foreign_key="outreach_resident.id", index=True)
    result: str = str_column(14)
    called_by_id: int | None = Field(default=None, foreign_key="app_user.id", nullable=True)
    at: datetime = created_column()


class OutreachCampaign(SQLModel, table=True):
    """A campaign plan: the planner's proposal of visit days and windows for chosen candidates,
    filling the teams' free capacity over the horizon around every existing booking (figures only)."""

    __tablename__ = "outreach_campaign"
    id: int | None = Field(default=None, primary_key=True)
    kelurahan_id: int | None = Field(default=None, foreign_key="kelurahan.id", nullable=True)  # None: every kelurahan
    candidates: int
    placed: int
    team_days: int  # team-days the placed visits use
    travel_minutes: int  # driving of those team-days' routes, as planned
    solve_seconds: float
    created_at: datetime = created_column()


class OutreachProposal(SQLModel, table=True):
    """One candidate's proposed visit (team-day and window). Not a hold: it takes no capacity until the
    family says yes on the phone; then phone intake turns it into a held offer the operator confirms,
    when it still fits (else the usual offers)."""

    __tablename__ = "outreach_proposal"
    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="outreach_campaign.id", index=True)
    outreach_resident_id: int = Field(foreign_key="outreach_resident.id", unique=True)  # the latest campaign's
    team_day_id: int = Field(foreign_key="team_day.id")
    window_start: time
    window_end: time
