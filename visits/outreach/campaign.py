"""Campaign plans: for chosen candidates (a kelurahan's, or every one), the planner proposes visit
days and windows that fill the teams' free capacity over the horizon.

Three steps, so no solve runs inside a transaction or on the event loop (``jemput plan-campaign``):

1. :func:`load_campaign` (a read session): the horizon's shifts with every confirmed booking and
   live hold pinned to its team-day inside its booked window (required stops), and one optional
   stop per candidate at their home (the kelurahan's centroid until a visit refines it) with the
   whole working day of every day as its windows; referred candidates weigh more;
2. :func:`solve_campaign` (no session): ``routing.solve``; travel time is what it minimises after
   placing visits, so nearby homes land on the same team-day;
3. :func:`store_campaign` (a write session): one proposal per placed candidate (team-day, window
   around the planned start), replacing an earlier campaign's, and the figures.

A proposal takes no capacity: when the family says yes on the phone, phone intake turns it into a
held offer (:func:`hold_proposal`) if it still fits the team-day with its bookings as they are then
(the same check as every confirmation), else the operator offers slots as usual. So a campaign
never moves, drops or squeezes an existing booking.
"""

from __future__ import annotations

import secrets
import time as clock
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from datetime import date, datetime

from sqlmodel import Session, col, delete, select

import routing
from visits.booking import slots
from visits.intake.models import RequestStatus, Resident, VisitRequest
from visits.models import SlotHold, TeamDay
from visits.outreach.models import OutreachCampaign, OutreachProposal
from visits.outreach.queries import Candidate, candidates
from visits.planning.translate import Horizon, ServiceNeeds, parse_shift_id, service_needs
from visits.planning.travel import TravelService

WINDOW_STEP = 30  # a proposed window starts on the half hour at or before the planned start
SOLVE_BASE_SECONDS = 5.0  # a campaign's solver time when none is given: this much,
SOLVE_STOPS_PER_SECOND = 50  # and a second more per this many visits in the model (booked ones too),
SOLVE_MAX_SECONDS = 30.0  # at most this (the operator waits on the page; the 5,000-visit benchmark takes 100 s)


def sized_time_limit(stops: int) -> float:
    """Solver seconds for a campaign model of ``stops`` visits (candidates and bookings): a few
    dozen visits are planned in 5 s instead of waiting out a fixed 30."""
    return min(SOLVE_MAX_SECONDS, SOLVE_BASE_SECONDS + stops / SOLVE_STOPS_PER_SECOND)


@dataclass
class CampaignInput:
    problem: routing.Problem
    horizon: Horizon
    stop_of: dict[str, int]  # candidate stop id -> outreach row id
    kelurahan_id: int | None
    window_minutes: int
    shift_ends: dict[str, int] = field(default_factory=dict)


def _needs(session: Session, c: Candidate) -> ServiceNeeds:
    probe = Resident(group_elderly=c.age >= 60, group_disabled="disabled" in c.groups, group_mental="mental" in c.groups, group_bedridden="bedridden" in c.groups)  # type: ignore[call-arg]
    return service_needs(session, probe)


def load_campaign(
    session: Session, now: datetime, travel: TravelService, policy: slots.SlotPolicy, *, kelurahan_id: int | None = None, partner_kind: str | None = None, limit: int = 5000
) -> CampaignInput:
    chosen = [c for c in candidates(session, now, policy.timezone, kelurahan_id, limit=limit, partner_kind=partner_kind) if not c.wants_visit]
    days = slots.horizon_days(session, now, policy, staff=True)
    points = [(c.kelurahan.lat, c.kelurahan.lon) for c in chosen]
    world = slots.build_world(session, days, travel, now, include_holds=True, extra_points=points)
    committed = [replace(s, pin=routing.Pin(sid), required=True) for sid, stops in world.stops_by_shift.items() for s in stops]
    day_windows = sorted({(sh.start, sh.end) for sh in world.shifts.values()})
    mine: list[routing.Stop] = []
    stop_of: dict[str, int] = {}
    for c, location in zip(chosen, world.extra_locations, strict=True):
        needs = _needs(session, c)
        windows = tuple(routing.TimeWindow(a, b - needs.minutes) for a, b in day_windows if b - needs.minutes >= a)
        if not windows:
            continue
        sid = f"o{c.row.id}"
        stop_of[sid] = c.row.id  # type: ignore[assignment]
        mine.append(routing.Stop(id=sid, location=location, service=needs.minutes, windows=windows, skills=needs.skills, priority=2 if c.referred else 1))
    shifts = tuple(world.shifts.values())
    # a dense matrix of the locations this problem uses (0.. in first-use order)
    index: dict[int, int] = {}
    for loc in [*(p for sh in shifts for p in (sh.start_location, sh.end_location)), *(s.location for s in committed + mine)]:
        index.setdefault(loc, len(index))
    originals = list(index)
    matrix = tuple(tuple(int(world.matrix[a][b]) for b in originals) for a in originals)
    stops = tuple(replace(s, location=index[s.location]) for s in committed + mine)
    shifts = tuple(replace(sh, start_location=index[sh.start_location], end_location=index[sh.end_location]) for sh in shifts)
    problem = routing.Problem(stops=stops, shifts=shifts, durations=matrix)
    return CampaignInput(problem, world.horizon, stop_of, kelurahan_id, policy.window_minutes, {sh.id: sh.end for sh in shifts})


@dataclass(frozen=True)
class CampaignResult:
    plan: routing.Plan
    placed: dict[int, tuple[str, int]]  # outreach row id -> (shift id, planned service start minute)
    team_days: int
    travel_minutes: int
    solve_seconds: float


def solve_campaign(loaded: CampaignInput, time_limit: float = 30.0, seed: int = 0) -> CampaignResult:
    """Run the planner (no database: call it outside any transaction)."""
    t0 = clock.perf_counter()
    if not loaded.stop_of:  # nobody to place: the committed routes stay as they are, nothing to solve
        return CampaignResult(routing.Plan((), (), 0, routing.PlanStatus.OPTIMAL, 0.0), {}, 0, 0, clock.perf_counter() - t0)
    plan = routing.solve(loaded.problem, routing.SolveParams(time_limit=time_limit, seed=seed))
    placed: dict[int, tuple[str, int]] = {}
    used: set[str] = set()
    travel = 0
    for route in plan.routes:
        mine = [v for v in route.visits if v.stop_id in loaded.stop_of]
        for v in mine:
            placed[loaded.stop_of[v.stop_id]] = (route.shift_id, v.start)
        if mine:
            used.add(route.shift_id)
            travel += route.travel
    return CampaignResult(plan, placed, len(used), travel, clock.perf_counter() - t0)


def store_campaign(session: Session, loaded: CampaignInput, result: CampaignResult, now: datetime) -> OutreachCampaign:
    """The proposals (replacing an earlier campaign's for the same residents) and the figures."""
    campaign = OutreachCampaign(
        kelurahan_id=loaded.kelurahan_id,
        candidates=len(loaded.stop_of),
        placed=len(result.placed),
        team_days=result.team_days,
        travel_minutes=result.travel_minutes,
        solve_seconds=round(result.solve_seconds, 2),
        created_at=now,
    )
    session.add(campaign)
    session.flush()
    ids = list(loaded.stop_of.values())
    for i in range(0, len(ids), 500):
        session.exec(delete(OutreachProposal).where(col(OutreachProposal.outreach_resident_id).in_(ids[i : i + 500])))
    horizon = loaded.horizon
    for outreach_id, (sid, start) in result.placed.items():
        team_id, day = parse_shift_id(sid)
        td = slots.team_day_for(session, team_id, day)
        first = start - start % WINDOW_STEP
        last = min(first + loaded.window_minutes, loaded.shift_ends.get(sid, first + loaded.window_minutes))
        session.add(
            OutreachProposal(
                campaign_id=campaign.id,  # type: ignore[arg-type]
                outreach_resident_id=outreach_id,
                team_day_id=td.id,  # type: ignore[arg-type]
                window_start=horizon.time_of(first),
                window_end=horizon.time_of(max(last, start)),
            )
        )
    session.flush()
    return campaign


def proposal_of(session: Session, outreach_id: int) -> tuple[OutreachProposal, TeamDay] | None:
    row = session.exec(select(OutreachProposal, TeamDay).join(TeamDay, col(TeamDay.id) == col(OutreachProposal.team_day_id)).where(OutreachProposal.outreach_resident_id == outreach_id)).first()
    return (row[0], row[1]) if row else None


def hold_proposal(session: Session, outreach_id: int, request: VisitRequest, now: datetime, travel: TravelService, policy: slots.SlotPolicy) -> SlotHold | None:
    """Phone intake made the candidate's request: the proposal becomes a held offer when it still fits."""
    found = proposal_of(session, outreach_id)
    if found is None or request.status not in (RequestStatus.ELIGIBLE, RequestStatus.OFFERED):
        return None
    proposal, td = found
    resident = session.get(Resident, request.resident_id)
    assert resident is not None and request.id is not None
    days = slots.horizon_days(session, now, policy, staff=True)
    if resident.lat is None or resident.lon is None or not days or td.day < days[0]:
        return None
    needs = service_needs(session, resident)
    if not slots.fits_team_day(session, td, (resident.lat, resident.lon), needs, proposal.window_start, proposal.window_end, now, travel, request.id):
        return None
    slots.lock_offers(session)
    hold = SlotHold(
        offer_id=secrets.token_urlsafe(12),
        request_id=request.id,
        team_day_id=td.id,  # type: ignore[arg-type]
        window_start=proposal.window_start,
        window_end=proposal.window_end,
        expires_at=now + policy.hold_for(request.channel),
    )
    session.add(hold)
    request.status = RequestStatus.OFFERED
    if request.first_answer_at is None:
        request.first_answer_at = now
    request.updated_at = now
    session.delete(proposal)
    session.flush()
    return hold


def latest(session: Session) -> OutreachCampaign | None:
    return session.exec(select(OutreachCampaign).order_by(col(OutreachCampaign.id).desc())).first()


def proposals_for(session: Session, outreach_ids: list[int]) -> dict[int, tuple[OutreachProposal, TeamDay]]:
    found: dict[int, tuple[OutreachProposal, TeamDay]] = {}
    for i in range(0, len(outreach_ids), 500):
        rows = session.exec(
            select(OutreachProposal, TeamDay).join(TeamDay, col(TeamDay.id) == col(OutreachProposal.team_day_id)).where(col(OutreachProposal.outreach_resident_id).in_(outreach_ids[i : i + 500]))
        ).all()
        found.update({p.outreach_resident_id: (p, td) for p, td in rows})
    return found


def plan_campaign(
    scope: Callable[..., AbstractContextManager[Session]],
    now: datetime,
    travel: TravelService,
    policy: slots.SlotPolicy,
    *,
    kelurahan_id: int | None = None,
    partner_kind: str | None = None,
    limit: int = 5000,
    time_limit: float | None = None,
) -> tuple[OutreachCampaign, CampaignResult]:
    """Load (a read transaction), solve (outside any transaction), store (a write transaction).
    ``scope(write=...)`` opens a session that commits when the block ends (``app.db.session_scope``).
    ``time_limit`` None: sized by the model (:func:`sized_time_limit`)."""
    with scope() as session:
        loaded = load_campaign(session, now, travel, policy, kelurahan_id=kelurahan_id, partner_kind=partner_kind, limit=limit)
    result = solve_campaign(loaded, sized_time_limit(len(loaded.problem.stops)) if time_limit is None else time_limit)
    with scope(write=True) as session:
        campaign = store_campaign(session, loaded, result, now)
        session.expunge(campaign)
    return campaign, result


@dataclass(frozen=True)
class ProposalArea:
    """A campaign's proposals in one kelurahan (counts and days only: no personal data)."""

    code: str
    name: str
    proposals: int
    first_day: date
    last_day: date


def proposal_areas(session: Session, campaign_id: int) -> list[ProposalArea]:
    from sqlalchemy import func

    from visits.intake.models import Kelurahan
    from visits.outreach.models import OutreachResident

    rows = session.exec(
        select(Kelurahan.code, Kelurahan.name, func.count(col(OutreachProposal.id)), func.min(TeamDay.day), func.max(TeamDay.day))  # type: ignore[call-overload]
        .join(OutreachResident, col(OutreachResident.id) == col(OutreachProposal.outreach_resident_id))
        .join(Kelurahan, col(Kelurahan.id) == col(OutreachResident.kelurahan_id))
        .join(TeamDay, col(TeamDay.id) == col(OutreachProposal.team_day_id))
        .where(OutreachProposal.campaign_id == campaign_id)
        .group_by(col(Kelurahan.code), col(Kelurahan.name))
        .order_by(col(Kelurahan.code))
    ).all()
    return [ProposalArea(code, name, int(n), first, last) for code, name, n, first, last in rows]
