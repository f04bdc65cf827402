"""Random sequences of offers, confirmations, reschedules, cancellations and clock moves keep
every promise (hypothesis rule-based state machine over a real database).

Each step is its own committed write transaction (``session_scope(engine, write=True)``), like
one API request; a ``SlotTaken`` is caught inside the transaction so its fresh offers are
committed, as the API does when it answers 409. After every step:

- the independent checker ``assert_routes_keep_promises`` passes (every team-day keeps its
  shift, breaks and every booked window);
- no request has two confirmed bookings, a request is BOOKED exactly when it has one, and a
  cancelled request has none;
- every confirmed booking is one of the request's own offers (same team-day and window), and
  lies inside the family's availability as it was when that offer was made, unless the offer
  came with reason ``OUTSIDE_AVAILABILITY`` (nearest other times);
- an ODGJ ("mental") visit is booked only on a team with the ``odgj`` skill.

The model also predicts, independently of ``visits.booking.slots``, when a confirmation must fail
(stale or expired offer) and when a change must be refused (the 18:00 cutoff on the day before).

Bounded for CI: derandomized, 25 examples of up to 30 steps, a 4-working-day horizon (so
requests compete for the same days) and random per-team daily limits.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, precondition, rule, run_state_machine_as_test
from sqlmodel import select

from app.db import session_scope
from tests.booking.invariants import assert_routes_keep_promises
from tests.booking.slot_support import NOW, make_request, setup_area
from visits.booking import slots
from visits.errors import Conflict
from visits.models import Booking, BookingStatus, Kelurahan, KitState, RecordingKit, RequestStatus, Resident, SlotHold, Team, TeamDay, TeamSkill, VisitRequest, metadata
from visits.planning.travel import TravelService

pytestmark = pytest.mark.slow

TRAVEL = TravelService()
POLICY = slots.SlotPolicy(horizon_days=4)
TZ = ZoneInfo(POLICY.timezone)
SETTINGS = settings(
    max_examples=25,
    stateful_step_count=30,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)


# ---------------------------------------------------------------- strategies


def _entry(kind: str, day_offset: int, weekday: int, start: int, hours: int) -> dict:
    end = min(start + hours, 18)
    entry = {"start": f"{start:02d}:00", "end": f"{end:02d}:00"}
    if kind == "date":
        entry["date"] = (NOW.date() + timedelta(days=day_offset)).isoformat()
    else:
        entry["weekday"] = weekday  # 5, 6: weekends, which never fit (nearest windows offered)
    return entry


entries = st.builds(_entry, st.sampled_from(["weekday", "date"]), st.integers(1, 9), st.integers(0, 6), st.integers(7, 14), st.integers(1, 4))
availabilities = st.lists(entries, min_size=1, max_size=3)
groups = st.sampled_from(["elderly", "elderly", "disabled", "bedridden", "mental", "mental"])
channels = st.sampled_from(["web", "phone"])
# 5 minutes, past a phone hold's life (15), an hour, into the evening (cutoffs), past a web hold's life (24 h)
clock_steps = st.sampled_from([5, 16, 60, 9 * 60, 24 * 60 + 1])


# ---------------------------------------------------------------- the model


@dataclass(frozen=True)
class OfferSeen:
    offer_id: str
    day: date
    start: time
    end: time
    expires_at: datetime
    reason: str | None
    availability: tuple[tuple[tuple[str, object], ...], ...]  # the family's availability when offered


@dataclass
class RequestModel:
    id: int
    channel: str
    group: str
    availability: list[dict]
    offers: dict[str, OfferSeen] = field(default_factory=dict)  # every offer ever made to it
    batch: list[str] = field(default_factory=list)  # the live offer set (the latest make_offers)
    cancelled: bool = False
    booked_day: date | None = None


def _frozen(availability: list[dict]) -> tuple[tuple[tuple[str, object], ...], ...]:
    return tuple(tuple(sorted(e.items())) for e in availability)


def inside_availability(day: date, start: time, end: time, availability) -> bool:  # noqa: ANN001
    for entry in map(dict, availability):
        if "date" in entry and entry["date"] != day.isoformat():
            continue
        if "weekday" in entry and int(entry["weekday"]) != day.weekday():  # type: ignore[arg-type]
            continue
        if time.fromisoformat(entry["start"]) <= start and end <= time.fromisoformat(entry["end"]):  # type: ignore[arg-type]
            return True
    return False


def after_cutoff(day: date | None, now: datetime) -> bool:
    if day is None:
        return False
    cutoff = datetime.combine(day - timedelta(days=1), POLICY.change_cutoff, tzinfo=TZ)
    return now >= cutoff


def _empty_tables(engine) -> None:  # noqa: ANN001
    """Empty every table between examples (the ``db`` fixture's ``_truncate_all`` empties them
    after the test). ``DELETE`` child tables first: on PostgreSQL much faster than ``TRUNCATE``
    for a few rows, which matters for dozens of examples."""
    with engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())


class BookingMachine(RuleBasedStateMachine):
    engine = None  # set by the test
    seen: Counter = Counter()  # what the run exercised (checked at the end)

    requests = Bundle("requests")

    def __init__(self) -> None:
        super().__init__()
        self.now = NOW
        self.model: dict[int, RequestModel] = {}

    def teardown(self) -> None:
        _empty_tables(self.engine)

    # ------------------------------------------------------------ set-up

    @initialize(limits=st.lists(st.sampled_from([1, 2, 3, 10]), min_size=3, max_size=3), kit_out=st.sampled_from([None, None, 0, 1]))
    def area(self, limits: list[int], kit_out: int | None) -> None:
        with session_scope(self.engine, write=True) as s:
            setup_area(s)
            teams = s.exec(select(Team).order_by(Team.id)).all()
            for team, limit in zip(teams, limits, strict=True):
                team.max_visits_per_day = limit
            if kit_out is not None:  # a general team's kit is out of service from the start
                kit = s.exec(select(RecordingKit).where(RecordingKit.team_id == teams[kit_out].id)).one()
                kit.state = KitState.OUT_OF_SERVICE
            s.flush()

    # ------------------------------------------------------------ steps

    @rule(target=requests, availability=availabilities, group=groups, channel=channels, kel=st.integers(0, 17), dlat=st.integers(-20, 20), dlon=st.integers(-20, 20))
    def new_request(self, availability: list[dict], group: str, channel: str, kel: int, dlat: int, dlon: int) -> int:
        with session_scope(self.engine, write=True) as s:
            req = make_request(s, availability, group=group, channel=channel)
            home = s.exec(select(Kelurahan).order_by(Kelurahan.code)).all()[kel]
            resident = s.get(Resident, req.resident_id)
            resident.lat, resident.lon = home.lat + dlat * 0.0002, home.lon + dlon * 0.0002  # type: ignore[union-attr]
            request_id = req.id
        self.model[request_id] = RequestModel(request_id, channel, group, availability)  # type: ignore[arg-type]
        return request_id  # type: ignore[return-value]

    def _record(self, m: RequestModel, result: slots.OfferResult) -> None:
        assert len(result.offers) <= POLICY.max_offer_count
        assert result.reason in (None, "OUTSIDE_AVAILABILITY", "NO_CAPACITY", "NO_SKILL", "NO_TEAMS")
        assert (result.reason in ("NO_CAPACITY", "NO_SKILL", "NO_TEAMS")) == (not result.offers)
        with session_scope(self.engine) as s:
            horizon = set(slots.horizon_days(s, self.now, POLICY))
        frozen = _frozen(m.availability)
        m.batch = []
        for o in result.offers:
            assert o.expires_at == self.now + POLICY.hold_for(m.channel)
            assert o.day > self.now.astimezone(TZ).date() and o.day in horizon, "offers lie in the coming working days"
            if result.reason is None:
                assert inside_availability(o.day, o.start, o.end, frozen), f"offer {o} outside {m.availability}"
            m.offers[o.offer_id] = OfferSeen(o.offer_id, o.day, o.start, o.end, o.expires_at, result.reason, frozen)
            m.batch.append(o.offer_id)

    def _offer(self, m: RequestModel, availability: list[dict] | None, k: int) -> slots.OfferResult | None:
        expect_refusal = m.cancelled or after_cutoff(m.booked_day, self.now)
        try:
            with session_scope(self.engine, write=True) as s:
                result = slots.make_offers(s, m.id, self.now, TRAVEL, POLICY, availability=availability, k=k)
        except Conflict:
            assert expect_refusal, "offers refused for an open request before the cutoff"
            self.seen["offer:refused"] += 1
            return None
        assert not expect_refusal, "offers made for a cancelled request or a booking past its cutoff"
        if availability is not None:
            m.availability = availability
        self._record(m, result)
        self.seen[f"offer:{result.reason}"] += 1
        return result

    def _confirm(self, m: RequestModel, offer_id: str, *, fresh: bool = False) -> str:
        seen = m.offers[offer_id]
        live = offer_id in m.batch and seen.expires_at > self.now and not m.cancelled
        try:
            with session_scope(self.engine, write=True) as s:
                try:
                    booking = slots.confirm(s, m.id, offer_id, self.now, TRAVEL, POLICY)
                    outcome = "booked"
                    assert (booking.window_start, booking.window_end) == (seen.start, seen.end)
                    assert s.get(TeamDay, booking.team_day_id).day == seen.day  # type: ignore[union-attr]
                except slots.SlotTaken as exc:  # 409 with fresh offers, committed
                    outcome = "taken"
                    taken = exc.offers
        except Conflict:
            # a cancelled request, or moving a booking past its cutoff
            assert m.cancelled or after_cutoff(m.booked_day, self.now), "confirmation refused without reason"
            self.seen["confirm:refused"] += 1
            return "refused"
        self.seen[f"confirm:{outcome}" + (":moved" if outcome == "booked" and m.booked_day else "")] += 1
        if outcome == "booked":
            assert live, "a stale, expired or cancelled offer was booked"
            assert not after_cutoff(m.booked_day, self.now), "a booking was moved after its cutoff"
            m.booked_day = seen.day
            m.batch = []
        else:
            assert not fresh, "an offer confirmed the moment it was made (no one else acting) was taken"
            assert not m.cancelled
            self._record(m, taken)
        return outcome

    @rule(req=requests, availability=st.none() | availabilities, k=st.integers(1, 5))
    def offer(self, req: int, availability: list[dict] | None, k: int) -> None:
        self._offer(self.model[req], availability, k)

    @rule(req=requests, data=st.data())
    def confirm_any(self, req: int, data) -> None:  # noqa: ANN001
        """Any offer this family ever saw: current, stale (replaced) or expired."""
        m = self.model[req]
        if m.offers:
            self._confirm(m, data.draw(st.sampled_from(list(m.offers))))

    @precondition(lambda self: any(m.batch for m in self.model.values()))
    @rule(data=st.data())
    def confirm_current(self, data) -> None:  # noqa: ANN001
        """A family with live offers picks one of them (it may have expired meanwhile)."""
        m = data.draw(st.sampled_from([m for _, m in sorted(self.model.items()) if m.batch]))
        self._confirm(m, data.draw(st.sampled_from(list(m.batch))))

    @precondition(lambda self: any(m.booked_day for m in self.model.values()))
    @rule(data=st.data(), availability=availabilities, pick=st.integers(0, 4))
    def reschedule(self, data, availability: list[dict], pick: int) -> None:  # noqa: ANN001
        """A booked family gives new times, gets new offers and confirms one of them at once."""
        m = data.draw(st.sampled_from([m for _, m in sorted(self.model.items()) if m.booked_day]))
        result = self._offer(m, availability, POLICY.offer_count)
        if result is None or not result.offers:
            return
        with session_scope(self.engine) as s:
            old = slots.booking_of(s, m.id)
        assert old is not None
        outcome = self._confirm(m, result.offers[pick % len(result.offers)].offer_id, fresh=True)
        if outcome == "booked":
            with session_scope(self.engine) as s:
                assert s.get(Booking, old[0].id).status == BookingStatus.RESCHEDULED  # type: ignore[union-attr]

    @precondition(lambda self: any(m.batch for m in self.model.values()))
    @rule(data=st.data(), dlat=st.integers(-20, 20), first=st.booleans())
    def race(self, data, dlat: int, first: bool) -> None:  # noqa: ANN001
        """Two families got the same capacity (offers made in overlapping transactions): a new
        request with the same wishes gets a copy of a live hold, then both confirm, in either order.
        Whoever comes second books only if the team-day can still take the visit."""
        a = data.draw(st.sampled_from([m for _, m in sorted(self.model.items()) if m.batch]))
        seen = a.offers[data.draw(st.sampled_from(a.batch))]
        with session_scope(self.engine, write=True) as s:
            req = make_request(s, a.availability, group=a.group, channel=a.channel)
            home = s.get(Resident, s.get(VisitRequest, a.id).resident_id)  # type: ignore[union-attr]
            resident = s.get(Resident, req.resident_id)
            resident.lat, resident.lon = home.lat + dlat * 0.0003, home.lon - dlat * 0.0002  # type: ignore[union-attr]
            original = s.exec(select(SlotHold).where(SlotHold.offer_id == seen.offer_id)).one()
            copy = SlotHold(
                offer_id=f"race{original.id}x{req.id}",
                request_id=req.id,
                team_day_id=original.team_day_id,
                window_start=original.window_start,
                window_end=original.window_end,
                expires_at=original.expires_at,
            )
            s.add(copy)
            req.status = RequestStatus.OFFERED
            b = RequestModel(req.id, a.channel, a.group, a.availability)  # type: ignore[arg-type]
        b.offers[copy.offer_id] = OfferSeen(copy.offer_id, seen.day, seen.start, seen.end, seen.expires_at, seen.reason, seen.availability)
        b.batch = [copy.offer_id]
        self.model[b.id] = b
        order = [(a, seen.offer_id), (b, copy.offer_id)]
        for m, offer_id in order if first else reversed(order):
            self.seen[f"race:{self._confirm(m, offer_id)}"] += 1

    @precondition(lambda self: sum(not m.cancelled for m in self.model.values()) >= 2)
    @rule(data=st.data(), staff=st.booleans(), go=st.integers(0, 1))
    def cancel(self, data, staff: bool, go: int) -> None:  # noqa: ANN001
        """Rarer than the rest (it ends a request's story); mostly a booked request."""
        if go:
            return
        booked = [m for _, m in sorted(self.model.items()) if m.booked_day]
        pool = booked if booked and data.draw(st.booleans()) else [m for _, m in sorted(self.model.items())]
        m = data.draw(st.sampled_from(pool))
        expect_refusal = m.cancelled or (not staff and after_cutoff(m.booked_day, self.now))
        try:
            with session_scope(self.engine, write=True) as s:
                slots.cancel(s, m.id, self.now, POLICY, staff=staff)
        except Conflict:
            assert expect_refusal, "a cancellation was refused without reason"
            self.seen["cancel:refused"] += 1
            return
        assert not expect_refusal, "a cancellation went through that must be refused"
        self.seen["cancel:" + ("booked" if m.booked_day else "open")] += 1
        m.cancelled, m.booked_day, m.batch = True, None, []

    @rule(minutes=clock_steps)
    def advance_clock(self, minutes: int) -> None:
        self.now = self.now + timedelta(minutes=minutes)

    # ------------------------------------------------------------ after every step

    @invariant()
    def promises_are_kept(self) -> None:
        if not self.model:
            return
        with session_scope(self.engine) as s:
            assert_routes_keep_promises(s, self.now, TRAVEL)
            confirmed = s.exec(select(Booking).where(Booking.status == BookingStatus.CONFIRMED)).all()
            per_request: dict[int, list[Booking]] = {}
            for b in confirmed:
                per_request.setdefault(b.request_id, []).append(b)
            odgj_teams = {t.team_id for t in s.exec(select(TeamSkill).where(TeamSkill.skill == "odgj")).all()}
            for request_id, m in self.model.items():
                req = s.get(VisitRequest, request_id)
                assert req is not None
                mine = per_request.get(request_id, [])
                assert len(mine) <= 1, f"request {request_id} holds {len(mine)} confirmed bookings"
                assert (req.status == RequestStatus.BOOKED) == (len(mine) == 1), (req.status, len(mine))
                if m.cancelled:
                    assert req.status == RequestStatus.CANCELLED and not mine
                if not mine:
                    assert m.booked_day is None
                    continue
                booking = mine[0]
                td = s.get(TeamDay, booking.team_day_id)
                hold = s.get(SlotHold, booking.hold_id) if booking.hold_id else None
                assert td is not None and hold is not None, "a booking without its offer"
                seen = m.offers.get(hold.offer_id)
                assert seen is not None, "booked something never offered to this family"
                assert (td.day, booking.window_start, booking.window_end) == (seen.day, seen.start, seen.end)
                assert td.day == m.booked_day
                assert seen.reason == "OUTSIDE_AVAILABILITY" or inside_availability(td.day, booking.window_start, booking.window_end, seen.availability), (
                    f"booking {td.day} {booking.window_start}-{booking.window_end} outside {seen.availability}"
                )
                resident = s.get(Resident, req.resident_id)
                if resident is not None and resident.group_mental:
                    assert td.team_id in odgj_teams, "an ODGJ visit booked on a team without the skill"


def test_random_booking_sequences_keep_every_promise(db) -> None:
    BookingMachine.engine = db
    BookingMachine.seen.clear()
    try:
        run_state_machine_as_test(BookingMachine, settings=SETTINGS)
    finally:
        BookingMachine.engine = None
    seen = BookingMachine.seen
    print(dict(seen))
    # the run did exercise the interesting paths (guards against a vacuous pass; loose enough to
    # survive changes in ids or ordering between runs in different suites)
    for key in ("confirm:booked", "confirm:booked:moved", "offer:None", "offer:OUTSIDE_AVAILABILITY"):
        assert seen[key] > 0, f"no {key} in {dict(seen)}"
    assert seen["confirm:taken"] + seen["race:taken"] > 0, f"no confirmation was refused: {dict(seen)}"
    assert seen["cancel:booked"] + seen["cancel:open"] > 0, f"nothing was cancelled: {dict(seen)}"
