"""Hand-checked schedules of tiny routes (times in minutes since midnight of day 0)."""

from __future__ import annotations

import itertools
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from routing.model import Break, PlannedBreak, Route, Shift, Stop, TimeWindow, Visit
from routing.schedule import check_route, schedule_route

# Locations: 0 office, 1 and 2 homes. office<->1: 10, office<->2: 10, 1<->2: 5.
D = (
    (0, 10, 10),
    (10, 0, 5),
    (10, 5, 0),
)
W = TimeWindow


def shift(start: int = 480, end: int = 900, breaks: tuple[Break, ...] = (), **kw: object) -> Shift:
    return Shift("s1", "team", 0, 0, 0, start, end, breaks=breaks, **kw)  # type: ignore[arg-type]


def stop(sid: str, location: int, service: int, *windows: TimeWindow, **kw: object) -> Stop:
    return Stop(sid, location, service, tuple(windows), **kw)  # type: ignore[arg-type]


def test_waits_for_window() -> None:
    # leave 08:00 (480), drive 10 -> arrive 490, window opens 540: wait 50, serve 540-570,
    # drive 5 -> b at 575, serve 575-605, drive 10 -> office at 615.
    a = stop("a", 1, 30, W(540, 600))
    b = stop("b", 2, 30, W(480, 900))
    route = schedule_route(shift(), [a, b], D)
    assert route == Route(
        shift_id="s1",
        visits=(Visit("a", 490, 540, 570, 50), Visit("b", 575, 575, 605, 0)),
        breaks=(),
        start=480,
        end=615,
        travel=25,
        duration=135,
    )
    assert check_route(shift(), [a, b], route, D) == []


def test_several_windows_picks_first_reachable() -> None:
    # a serves 490-610; b reached at 615, after its first window (480-600) closed,
    # so it starts when the second window opens at 660 (waiting 45).
    a = stop("a", 1, 120, W(480, 900))
    b = stop("b", 2, 30, W(660, 700), W(480, 600))  # unsorted on purpose
    route = schedule_route(shift(), [a, b], D)
    assert route is not None
    assert route.visits[1] == Visit("b", 615, 660, 690, 45)
    assert route.end == 700


def test_unreachable_window_is_infeasible() -> None:
    # a ends at 610; b's only window closed at 600.
    a = stop("a", 1, 120, W(480, 900))
    b = stop("b", 2, 30, W(480, 600))
    assert schedule_route(shift(), [a, b], D) is None


def test_break_absorbed_by_waiting_on_site() -> None:
    # Break 30 min, start in [600, 660]. a: 490-520. b reached at 525 but opens at 700:
    # the break is taken on site at b from 600 to 630 and costs nothing: b still 700-730.
    # (Taking it "as early as possible" or "as late as possible" would push b or the return.)
    brk = Break(W(600, 660), 30)
    a = stop("a", 1, 30, W(480, 900))
    b = stop("b", 2, 30, W(700, 700))
    sh = shift(end=745, breaks=(brk,))
    route = schedule_route(sh, [a, b], D)
    assert route is not None
    assert route.visits == (Visit("a", 490, 490, 520, 0), Visit("b", 525, 700, 730, 175))
    assert route.breaks == (PlannedBreak(600, 630),)
    assert route.end == 740
    assert check_route(sh, [a, b], route, D) == []


def test_break_before_leaving_when_window_closes_before_arrival() -> None:
    # Break start must be in [480, 485]: taken at the office 480-510 before the first drive.
    # a reached at 520, served 520-550; office again at 560.
    brk = Break(W(480, 485), 30)
    a = stop("a", 1, 30, W(480, 900))
    sh = shift(breaks=(brk,))
    route = schedule_route(sh, [a], D)
    assert route is not None
    assert route.breaks == (PlannedBreak(480, 510),)
    assert route.visits == (Visit("a", 520, 520, 550, 0),)
    assert route.end == 560


def test_break_between_visits_when_window_tight() -> None:
    # a 490-610 (120 min). Break must start in [600, 620]: a's service runs to 610, so the break
    # is 610-640 at a (it cannot wait for the 615 arrival at b? it could: 615 is inside the
    # window too; both lead to b at 645). b served 645-675, office 685.
    brk = Break(W(600, 620), 30)
    a = stop("a", 1, 120, W(480, 900))
    b = stop("b", 2, 30, W(480, 900))
    sh = shift(breaks=(brk,))
    route = schedule_route(sh, [a, b], D)
    assert route is not None
    assert route.visits[1].start == 645
    assert len(route.breaks) == 1 and 600 <= route.breaks[0].start <= 620
    assert route.end == 685
    assert check_route(sh, [a, b], route, D) == []


def test_break_at_office_after_return() -> None:
    # a 490-520, back at 530. Break window [600, 620] after the return: taken at the office
    # 600-630, which must still end by the shift end.
    brk = Break(W(600, 620), 30)
    a = stop("a", 1, 30, W(480, 900))
    route = schedule_route(shift(breaks=(brk,)), [a], D)
    assert route is not None
    assert route.end == 530
    assert route.breaks == (PlannedBreak(600, 630),)
    assert schedule_route(shift(end=620, breaks=(brk,)), [a], D) is None


def test_empty_shift_still_needs_its_break() -> None:
    assert schedule_route(shift(breaks=(Break(W(600, 620), 30),)), [], D) is not None
    assert schedule_route(shift(breaks=(Break(W(950, 960), 30),)), [], D) is None


def test_return_late_is_infeasible() -> None:
    # a 490-610, back at 620: fine with a 620 end, not with 619.
    a = stop("a", 1, 120, W(480, 900))
    assert schedule_route(shift(end=620), [a], D) is not None
    assert schedule_route(shift(end=619), [a], D) is None


def test_max_visits_capacity_and_skills() -> None:
    a = stop("a", 1, 10, W(480, 900))
    b = stop("b", 2, 10, W(480, 900))
    assert schedule_route(shift(max_visits=1), [a, b], D) is None
    assert schedule_route(shift(max_visits=2), [a, b], D) is not None
    odgj = stop("c", 1, 10, W(480, 900), skills=frozenset({"odgj"}))
    assert schedule_route(shift(), [odgj], D) is None
    assert schedule_route(shift(skills=frozenset({"odgj", "x"})), [odgj], D) is not None
    heavy = replace(a, demand=2)
    assert schedule_route(shift(capacity=1), [heavy], D) is None


def test_check_route_reports_violations() -> None:
    brk = Break(W(600, 620), 30)
    sh = shift(end=700, breaks=(brk,))
    a = stop("a", 1, 30, W(540, 560))
    b = stop("b", 2, 30, W(480, 900))
    bad = Route(
        shift_id="s1",
        visits=(Visit("a", 490, 530, 560, 40), Visit("b", 562, 562, 592, 0)),
        breaks=(PlannedBreak(580, 610),),
        start=480,
        end=710,
        travel=25,
        duration=230,
    )
    problems = check_route(sh, [a, b], bad, D)
    text = "\n".join(problems)
    assert "stop a: service starts at 530, outside its windows" in text
    assert "a -> b" in text  # 560 -> 562 leaves no 5 min drive
    assert "break at 580 starts outside its window" in text
    assert "overlaps visit b" in text
    assert "after the shift ends" in text


def test_check_route_lets_a_break_split_the_drive() -> None:
    # a ends 520, b starts 590: a 70 min gap. A 40 min drive with the 30 min break 535-565 in
    # the middle (drive 520-535, break, drive 565-590) fits: 70 - 30 = 40 minutes are free.
    brk = Break(W(520, 540), 30)
    far = ((0, 10, 10), (10, 0, 40), (10, 40, 0))
    sh = shift(breaks=(brk,))
    a = stop("a", 1, 30, W(480, 900))
    b = stop("b", 2, 30, W(480, 900))
    visits = (Visit("a", 490, 490, 520, 0), Visit("b", 590, 590, 620, 0))
    route = Route("s1", visits, (PlannedBreak(535, 565),), 480, 630, 60, 150)
    assert check_route(sh, [a, b], route, far) == []
    # A 31 minute break leaves 39 free minutes: the drive no longer fits.
    longer = replace(route, breaks=(PlannedBreak(535, 566),))
    assert any("40 min drive, only 39 min free" in p for p in check_route(sh, [a, b], longer, far))
    # Arriving at b at 580 is impossible: only 60 - 30 = 30 free minutes before it.
    early = replace(route, visits=(visits[0], Visit("b", 580, 590, 620, 10)))
    assert any("a -> b: 40 min drive, only 30 min free" in p for p in check_route(sh, [a, b], early, far))


def test_check_route_break_off_the_route_and_across_the_departure() -> None:
    # A solver may leave the office late and take the break there first: 480 break 480-510,
    # leave 510, a 520-550, back 560. Fine. A break 505-535 spans the departure at 510: refused.
    brk = Break(W(480, 520), 30)
    sh = shift(breaks=(brk,))
    a = stop("a", 1, 30, W(480, 900))
    route = Route("s1", (Visit("a", 520, 520, 550, 0),), (PlannedBreak(480, 510),), 510, 560, 20, 50)
    assert check_route(sh, [a], route, D) == []
    spans = replace(route, breaks=(PlannedBreak(505, 535),))
    assert any("spans the departure from the office at 510" in p for p in check_route(sh, [a], spans, D))


def test_break_taken_on_the_way() -> None:
    # 1 <-> 2 is a 40 min drive here. a (loc 1) 490-520. The 30 min break must start in
    # [530, 535]: the team leaves a at 520, drives 10 min, stops for lunch on the way 530-560,
    # drives the remaining 30 min and reaches b at 590; b 590-620, office at 630.
    # (Taking the break only at a place would mean waiting at a until 530: b at 600.)
    far = ((0, 10, 10), (10, 0, 40), (10, 40, 0))
    brk = Break(W(530, 535), 30)
    a = stop("a", 1, 30, W(490, 490))
    b = stop("b", 2, 30, W(480, 900))
    sh = shift(breaks=(brk,))
    route = schedule_route(sh, [a, b], far)
    assert route == Route(
        shift_id="s1",
        visits=(Visit("a", 490, 490, 520, 0), Visit("b", 590, 590, 620, 0)),
        breaks=(PlannedBreak(530, 560),),
        start=480,
        end=630,
        travel=60,
        duration=150,
    )
    assert check_route(sh, [a, b], route, far) == []
    # b must start by 589: one minute too early for any break placement.
    assert schedule_route(sh, [a, replace(b, windows=(W(480, 589),))], far) is None


def test_breaks_may_be_taken_out_of_window_order() -> None:
    # L (50 min) must start in [600, 610], S (5 min) in [600, 612]. L first would push S past
    # 612; S first works: S 600-605, L 605-655. An empty day shows it.
    long_break, short_break = Break(W(600, 610), 50), Break(W(600, 612), 5)
    sh = shift(breaks=(long_break, short_break))
    route = schedule_route(sh, [], D)
    assert route is not None
    assert route.breaks == (PlannedBreak(600, 605), PlannedBreak(605, 655))
    assert check_route(sh, [], route, D) == []
    assert schedule_route(shift(breaks=(long_break, Break(W(600, 604), 5))), [], D) is not None
    assert schedule_route(shift(breaks=(long_break, Break(W(599, 599), 5))), [], D) is not None
    assert schedule_route(shift(breaks=(Break(W(600, 600), 50), Break(W(601, 649), 5))), [], D) is None


def test_schedule_is_accepted_by_check_route_on_many_orders() -> None:
    brk = Break(W(690, 750), 45)
    stops = [
        stop("a", 1, 25, W(480, 540), W(800, 840)),
        stop("b", 2, 40, W(600, 700)),
        stop("c", 1, 20, W(480, 900)),
    ]
    sh = shift(breaks=(brk,))
    feasible = 0
    for order in itertools.permutations(range(3)):
        ordered = [stops[i] for i in order]
        route = schedule_route(sh, ordered, D)
        if route is not None:
            feasible += 1
            assert check_route(sh, ordered, route, D) == []
    assert feasible > 0


def _ready_with_break_at(sh: Shift, stops: list[Stop], gap: int, begin: int) -> int | None:
    """Brute force: when the day is over, with the single break fixed to start at ``begin``
    between leaving place ``gap`` (at ``t <= begin``) and starting service at the next place,
    everything else as early as possible; None: infeasible. The team is then ready at
    ``max(t + travel, begin) + duration``: the drive stops for the break if it is not over yet,
    otherwise the team waits on site."""
    brk = sh.breaks[0]
    places = [sh.start_location, *(s.location for s in stops), sh.end_location]
    time = sh.start
    for i in range(1, len(places)):
        travel = D[places[i - 1]][places[i]]
        if i - 1 == gap:
            if begin < time:
                return None
            time = max(time + travel, begin) + brk.duration
        else:
            time += travel
        if i <= len(stops):
            starts = [max(time, w.start) for w in stops[i - 1].windows if max(time, w.start) <= w.end]
            if not starts:
                return None
            time = min(starts) + stops[i - 1].service
    return time if time <= sh.end else None


windows = st.builds(
    lambda start, length: W(start, start + length),
    st.integers(480, 840),
    st.integers(0, 90),
)


@settings(max_examples=300, deadline=None)
@given(
    data=st.lists(
        st.tuples(st.integers(1, 2), st.integers(5, 90), st.lists(windows, min_size=1, max_size=2)),
        min_size=0,
        max_size=4,
    ),
    break_start=st.integers(540, 780),
    break_slack=st.integers(0, 60),
    break_length=st.integers(15, 60),
    end=st.integers(600, 960),
)
def test_break_placement_matches_brute_force(data: list[tuple[int, int, list[TimeWindow]]], break_start: int, break_slack: int, break_length: int, end: int) -> None:
    stops = [stop(f"s{i}", loc, service, *ws) for i, (loc, service, ws) in enumerate(data)]
    brk = Break(W(break_start, break_start + break_slack), break_length)
    sh = shift(end=end, breaks=(brk,))
    brute = [_ready_with_break_at(sh, stops, gap, begin) for gap in range(len(stops) + 1) for begin in range(brk.window.start, brk.window.end + 1)]
    route = schedule_route(sh, stops, D)
    assert (route is not None) == any(t is not None for t in brute)
    if route is not None:
        assert check_route(sh, stops, route, D) == []
