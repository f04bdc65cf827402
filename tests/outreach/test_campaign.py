"""Campaign plans: proposals that fill free capacity around every existing booking, clustered on
few team-days; each becomes a held offer at phone intake, and every booking still keeps its promise
(the independent invariant checker) once they are all confirmed."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import select

from app.db import session_scope
from tests.app.helpers import login_as
from tests.booking.invariants import assert_routes_keep_promises
from tests.booking.slot_support import NOW, make_request, setup_area
from tests.field.support import WORKDAY
from tests.outreach.support import CFG, csv_of, nik_for, person, resident_with
from visits.booking import slots
from visits.booking.slots import SlotPolicy
from visits.models import Booking, BookingStatus, Kelurahan, OutreachCampaign, OutreachProposal, RequestStatus, SlotHold, TeamDay, VisitRequest
from visits.outreach.campaign import plan_campaign
from visits.outreach.identity import find_by_nik
from visits.outreach.service import import_list, link_request
from visits.planning.travel import TravelService

TRAVEL = TravelService()
POLICY = SlotPolicy()
KEL = "35.76.01.1003"


def _existing_bookings(n: int = 4) -> list[tuple[int, int, object, object, str]]:
    with session_scope(write=True) as s:
        setup_area(s)
        for _ in range(n):
            req = make_request(s, WORKDAY)
            offers = slots.make_offers(s, req.id, NOW, TRAVEL, POLICY, staff=True)  # type: ignore[arg-type]
            slots.confirm(s, req.id, offers.offers[0].offer_id, NOW, TRAVEL, POLICY, staff=True)  # type: ignore[arg-type]
    return _bookings()


def _bookings() -> list[tuple[int, int, object, object, str]]:
    with session_scope() as s:
        return [(b.id, b.team_day_id, b.window_start, b.window_end, b.status) for b in s.exec(select(Booking).order_by(Booking.id)).all()]  # type: ignore[misc]


def _candidates(n: int) -> list[str]:
    rows = [person(date(1940 + i, 1 + i, 10), nik=nik_for(date(1940 + i, 1 + i, 10), serial=700 + i), kel=KEL) for i in range(n)]
    with session_scope(write=True) as s:
        import_list(s, "list.csv", csv_of(*rows), now=NOW, cfg=CFG)
    return [r[0] for r in rows]


@pytest.mark.slow
def test_a_campaign_fills_free_capacity_clusters_and_keeps_every_booking(db) -> None:
    before = _existing_bookings()
    niks = _candidates(6)
    with session_scope() as s:
        kel_id = s.exec(select(Kelurahan.id).where(Kelurahan.code == KEL)).one()
    campaign, result = plan_campaign(session_scope, NOW, TRAVEL, POLICY, kelurahan_id=kel_id, time_limit=3)
    assert (campaign.candidates, campaign.placed) == (6, 6)
    assert 1 <= campaign.team_days <= 2  # six homes at one place share a team-day (or two)
    assert campaign.travel_minutes > 0
    assert _bookings() == before  # the campaign moved, dropped and changed no booking
    with session_scope() as s:
        proposals = s.exec(select(OutreachProposal)).all()
        assert len(proposals) == 6 and len({p.team_day_id for p in proposals}) == campaign.team_days
        assert s.exec(select(OutreachCampaign)).one().placed == 6

    # each family says yes: phone intake makes the request, the proposal becomes a held offer, the operator confirms
    for nik in niks:
        with session_scope(write=True) as s:
            row = find_by_nik(s, nik)
            res = resident_with(s, nik, status=RequestStatus.ELIGIBLE, kel=KEL)
            request = s.exec(select(VisitRequest).where(VisitRequest.resident_id == res.id)).one()
            link_request(s, row.id, request.id, now=NOW, travel=TRAVEL, policy=POLICY)  # type: ignore[arg-type]
            hold = s.exec(select(SlotHold).where(SlotHold.request_id == request.id)).one()
            assert request.status == RequestStatus.OFFERED
            slots.confirm(s, request.id, hold.offer_id, NOW, TRAVEL, POLICY, staff=True)  # type: ignore[arg-type]
    with session_scope() as s:
        confirmed = s.exec(select(Booking).where(Booking.status == BookingStatus.CONFIRMED)).all()
        assert len(confirmed) == len(before) + 6
        assert_routes_keep_promises(s, NOW, TRAVEL)
        assert s.exec(select(OutreachProposal)).all() == []  # each one became an offer


@pytest.mark.slow
def test_with_no_candidates_nothing_is_solved_and_the_figures_say_so(db, monkeypatch) -> None:
    """The demo's first campaign, or a kelurahan whose list is done: no solver run (it would
    spend its whole time limit re-planning the booked routes for nothing)."""
    import routing

    _existing_bookings(2)

    def refuse(*_a, **_k):  # noqa: ANN002, ANN003, ANN202
        raise AssertionError("solved with no candidates")

    monkeypatch.setattr(routing, "solve", refuse)
    campaign, result = plan_campaign(session_scope, NOW, TRAVEL, POLICY, time_limit=30)
    assert (campaign.candidates, campaign.placed, campaign.team_days, campaign.travel_minutes) == (0, 0, 0, 0)
    assert result.plan.routes == () and result.plan.dropped == () and campaign.solve_seconds < 1


def test_the_solver_time_is_sized_by_the_model_unless_given(db, monkeypatch) -> None:
    from visits.outreach import campaign as campaign_module

    assert campaign_module.sized_time_limit(0) == 5.0
    assert campaign_module.sized_time_limit(100) == 7.0  # 1 s more per 50 visits
    assert campaign_module.sized_time_limit(5_000) == 30.0  # capped: the operator waits on the page
    booked = _existing_bookings(2)
    _candidates(3)
    asked: list[float] = []
    real = campaign_module.solve_campaign

    def recording(loaded, time_limit, seed=0):  # noqa: ANN001, ANN202
        asked.append(time_limit)
        return real(loaded, 0.5, seed)

    monkeypatch.setattr(campaign_module, "solve_campaign", recording)
    plan_campaign(session_scope, NOW, TRAVEL, POLICY)
    plan_campaign(session_scope, NOW, TRAVEL, POLICY, time_limit=2.0)
    assert asked == [5.0 + (len(booked) + 3) / 50, 2.0]


def test_a_proposal_that_no_longer_fits_is_not_held(db) -> None:
    _existing_bookings(0)
    [nik] = _candidates(1)
    plan_campaign(session_scope, NOW, TRAVEL, POLICY, time_limit=2)
    with session_scope(write=True) as s:
        proposal = s.exec(select(OutreachProposal)).one()
        td = s.get(TeamDay, proposal.team_day_id)
        assert td is not None
        # the team-day's window is taken meanwhile by families who asked: fill it with bookings at the same time
        for _ in range(12):
            req = make_request(s, WORKDAY)
            s.add(Booking(request_id=req.id, team_day_id=td.id, window_start=proposal.window_start, window_end=proposal.window_end, service_minutes=60))  # type: ignore[arg-type]
        s.flush()
        row = find_by_nik(s, nik)
        res = resident_with(s, nik, status=RequestStatus.ELIGIBLE, kel=KEL)
        request = s.exec(select(VisitRequest).where(VisitRequest.resident_id == res.id)).one()
        link_request(s, row.id, request.id, now=NOW, travel=TRAVEL, policy=POLICY)  # type: ignore[arg-type]
        assert s.exec(select(SlotHold).where(SlotHold.request_id == request.id)).all() == []
        assert request.status == RequestStatus.ELIGIBLE  # the operator offers slots as usual


@pytest.mark.slow
def test_the_call_list_shows_the_proposal_and_the_figures(client, db) -> None:
    _existing_bookings(0)
    _candidates(2)
    plan_campaign(session_scope, NOW, TRAVEL, POLICY, time_limit=2)
    login_as(client, "operator")
    page = client.get(f"/operator/outreach?kelurahan={KEL}")
    assert page.status_code == 200
    assert page.text.count("data-proposal=") == 2 and 'id="campaign-figures"' in page.text and "2 dari 2 warga" in page.text


@pytest.mark.slow
def test_the_plan_campaign_command_prints_the_figures(db, monkeypatch, capsys) -> None:
    import visits.types
    from app.cli import main as jemput

    _existing_bookings(2)
    _candidates(3)
    monkeypatch.setattr(visits.types, "utcnow", lambda: NOW)  # the command's clock (no test reads the real date)
    assert jemput(["plan-campaign", "--kelurahan", "35.99.01.1001"]) == 2
    assert "no kelurahan" in capsys.readouterr().err
    assert jemput(["plan-campaign", "--kelurahan", KEL, "--time-limit", "2"]) == 0
    out = capsys.readouterr().out
    assert "candidates: 3" in out and "placed: 3" in out and "team-days used: 1" in out and "not placed: 0" in out
    with session_scope() as s:
        assert len(s.exec(select(OutreachProposal)).all()) == 3
