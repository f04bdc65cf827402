"""Hand-checked small plans: windows, multi-day windows, breaks, skills, pins, done stops.

World: locations 0..4 on a line, 10 minutes between neighbours (``LINE[i][j] = 10 * |i - j|``);
the office is location 0. Times are absolute minutes (480 = 08:00 on day 0, 1440 = next midnight).
"""

from __future__ import annotations

import dataclasses

from routing import Break, DropReason, Pin, Plan, Problem, Shift, SolveParams, Stop, TimeWindow, solve
from routing.schedule import check_route

LINE = tuple(tuple(10 * abs(i - j) for j in range(5)) for i in range(5))
FAST = SolveParams(time_limit=5, iterations=300)


def shift(sid: str = "s1", start: int = 480, end: int = 720, **kw) -> Shift:
    return Shift(id=sid, team=sid, day=start // 1440, start_location=0, end_location=0, start=start, end=end, **kw)


def stop(sid: str, loc: int, service: int, *windows: tuple[int, int], **kw) -> Stop:
    return Stop(id=sid, location=loc, service=service, windows=tuple(TimeWindow(a, b) for a, b in windows), **kw)


def order(plan: Plan, shift_id: str) -> list[str]:
    route = plan.route(shift_id)
    return [v.stop_id for v in route.visits] if route else []


def test_window_waiting_and_times():
    # A (loc 1, 20 min) must start in 10:00-10:10, B (loc 2, 15 min) in 11:00-12:00.
    # Order A, B. B cannot start before 660, so the day ends at 660 + 15 + 20 = 695 at best.
    # Leaving as late as that allows: A as late as possible, 610-630, so leave at 600;
    # drive 10 -> arrive B 640, wait 20, B 660-675, drive 20 back -> 695. Travel 10 + 10 + 20.
    problem = Problem((stop("A", 1, 20, (600, 610)), stop("B", 2, 15, (660, 720))), (shift(),), LINE)
    plan = solve(problem, FAST)
    assert plan.dropped == ()
    route = plan.route("s1")
    a, b = route.visits
    assert (a.stop_id, a.arrival, a.start, a.end, a.waiting) == ("A", 610, 610, 630, 0)
    assert (b.stop_id, b.arrival, b.start, b.end, b.waiting) == ("B", 640, 660, 675, 20)
    assert (route.start, route.end, route.travel, route.duration) == (600, 695, 40, 95)


def test_second_window_used_when_first_is_taken():
    # X (30 min) must start in 08:15-08:40; Y (30 min, same place) may start in 08:20-08:30 or
    # 10:50-11:00. Y in its first window would end at >= 08:50, too late for X; X first ends at
    # >= 08:45, too late for Y's first window. So Y starts at 650 (10:50), not in the gap between.
    problem = Problem((stop("X", 1, 30, (495, 520)), stop("Y", 1, 30, (500, 510), (650, 660))), (shift(),), LINE)
    plan = solve(problem, FAST)
    assert order(plan, "s1") == ["X", "Y"]
    assert plan.route("s1").visits[1].start == 650


def test_windows_on_different_days():
    # Day 0 shift ends at 09:00; Z's day-0 window (10:00-10:10) misses it, its day-1 window
    # (1440 + 600 = 2040 .. 2050) fits the day-1 shift: Z is visited on day 1 at 2040.
    problem = Problem(
        (stop("Z", 2, 30, (600, 610), (2040, 2050)),),
        (shift("d0", 480, 540), shift("d1", 1920, 2160)),
        LINE,
    )
    plan = solve(problem, FAST)
    assert order(plan, "d0") == []
    assert order(plan, "d1") == ["Z"]
    z = plan.route("d1").visits[0]
    assert (z.arrival, z.start, z.end) == (2040, 2040, 2070)


def test_break_between_visits():
    # Break of 30 min must start in 10:00-10:30 (600-630) and cannot overlap a service.
    # A (loc 1, 60 min) starts in 560-570, B (same place, 20 min) in 640-650.
    # A at 570 would end 630 -> break 630-660 -> B too late; so A 560-620, break 620-650, B 650.
    problem = Problem(
        (stop("A", 1, 60, (560, 570)), stop("B", 1, 20, (640, 650))),
        (shift(breaks=(Break(TimeWindow(600, 630), 30),)),),
        LINE,
    )
    plan = solve(problem, FAST)
    route = plan.route("s1")
    assert [(v.stop_id, v.start) for v in route.visits] == [("A", 560), ("B", 650)]
    assert [(b.start, b.end) for b in route.breaks] == [(620, 650)]
    # Same place: the team is at B from 620 (arrival); its waiting time is the break.
    assert (route.visits[1].arrival, route.visits[1].waiting) == (620, 30)
    assert check_route(problem.shifts[0], list(problem.stops), route, LINE) == []


def test_break_taken_while_driving_shows_in_arrival():
    # Leaving A (loc 1) at 11:50 with a 30-min break window 12:00-12:05: the break is taken on
    # the way, so C (loc 4, 30 min drive) is reached at 11:50 + 30 + 30 = 12:50 = 770.
    problem = Problem(
        (stop("A", 1, 10, (700, 700)), stop("C", 4, 10, (700, 800))),
        (shift(end=900, breaks=(Break(TimeWindow(720, 725), 30),)),),
        LINE,
    )
    plan = solve(problem, FAST)
    route = plan.route("s1")
    assert order(plan, "s1") == ["A", "C"]
    assert route.visits[1].start == 770
    assert route.visits[1].arrival == 770
    assert 720 <= route.breaks[0].start <= 725
    assert check_route(problem.shifts[0], list(problem.stops), route, LINE) == []


def test_skill_goes_to_the_skilled_team():
    # Both teams could do P; only s2 has "odgj", so O goes to s2.
    problem = Problem(
        (stop("O", 1, 30, (480, 720), skills=frozenset({"odgj"})), stop("P", 2, 30, (480, 720))),
        (shift("s1", max_visits=1), shift("s2", skills=frozenset({"odgj"}), max_visits=1)),
        LINE,
    )
    plan = solve(problem, FAST)
    assert order(plan, "s2") == ["O"]
    assert order(plan, "s1") == ["P"]


# Asymmetric costs: 0->1->3->0 costs 30, 0->3->1->0 costs 150.
ASYM = (
    (0, 10, 10, 50, 10),
    (50, 0, 10, 10, 10),
    (10, 10, 0, 10, 10),
    (10, 50, 10, 0, 10),
    (10, 10, 10, 10, 0),
)


def test_pin_to_shift_and_position_order():
    free = Problem((stop("P0", 3, 10, (480, 720)), stop("P1", 1, 10, (480, 720))), (shift("s1"), shift("s2")), ASYM)
    assert [order(solve(free, FAST), s) for s in ("s1", "s2")] in (
        [["P1", "P0"], []],
        [[], ["P1", "P0"]],
    )
    pinned = Problem(
        (
            stop("P0", 3, 10, (480, 720), pin=Pin("s2", 0)),
            stop("P1", 1, 10, (480, 720), pin=Pin("s2", 1)),
        ),
        (shift("s1"), shift("s2")),
        ASYM,
    )
    plan = solve(pinned, FAST)
    assert order(plan, "s2") == ["P0", "P1"]  # the pinned order, though it costs 150 instead of 30
    assert plan.route("s2").travel == 150


def test_done_stops_stay_first_and_the_day_continues_after_them():
    # D1 (loc 2, 20 min) was already done on s1: 08:00 + 20 drive -> 500-520.
    # The open part starts there: E (loc 1, 10 min) reached at 530, ends 540, back at 550.
    problem = Problem(
        (
            stop("E", 1, 10, (480, 720)),
            stop("D1", 2, 20, (480, 490), pin=Pin("s1", 0), done=True),  # window already missed: ignored
        ),
        (shift("s1"),),
        LINE,
    )
    plan = solve(problem, FAST)
    route = plan.route("s1")
    assert [(v.stop_id, v.arrival, v.start, v.end) for v in route.visits] == [("D1", 500, 500, 520), ("E", 530, 530, 540)]
    assert (route.start, route.end, route.travel) == (480, 550, 40)
    assert plan.dropped == ()


def test_done_stops_count_toward_max_visits():
    problem = Problem(
        (stop("E", 1, 10, (480, 720)), stop("D1", 2, 20, (480, 720), pin=Pin("s1", 0), done=True)),
        (shift("s1", max_visits=1),),
        LINE,
    )
    plan = solve(problem, FAST)
    assert order(plan, "s1") == ["D1"]
    assert [d.stop_id for d in plan.dropped] == ["E"]


def test_pin_position_orders_pinned_stops_among_themselves_only():
    # Pin positions order the pinned stops, they are not route indexes: free X (loc 1) must
    # start by 08:10 (reached at 490 straight from the office), so it comes before P0 although
    # P0 is pinned at position 0: X 490-500, P0 (loc 3) 520-530, P1 (loc 4) 540-550, office 590.
    problem = Problem(
        (
            stop("P0", 3, 10, (480, 720), pin=Pin("s1", 0)),
            stop("P1", 4, 10, (480, 720), pin=Pin("s1", 1)),
            stop("X", 1, 10, (480, 490)),
        ),
        (shift("s1"),),
        LINE,
    )
    plan = solve(problem, FAST)
    assert plan.dropped == ()
    assert order(plan, "s1") == ["X", "P0", "P1"]
    assert [v.start for v in plan.route("s1").visits] == [490, 520, 540]


def test_pin_order_holds_when_a_pinned_stop_between_is_dropped():
    # P1 (pinned 1) cannot be served (its window is after the shift); P0 (loc 3, pinned 0) must
    # still come before P2 (loc 1, pinned 2) although the reverse order costs 30 instead of 150.
    problem = Problem(
        (
            stop("P0", 3, 10, (480, 720), pin=Pin("s1", 0)),
            stop("P1", 2, 10, (800, 900), pin=Pin("s1", 1)),
            stop("P2", 1, 10, (480, 720), pin=Pin("s1", 2)),
        ),
        (shift("s1"),),
        ASYM,
    )
    plan = solve(problem, FAST)
    assert order(plan, "s1") == ["P0", "P2"]
    assert [d.stop_id for d in plan.dropped] == ["P1"]


def test_replan_the_rest_of_the_day_from_where_the_team_stands():
    # The team did D1 (loc 2) at 08:20-08:40 and D2 (loc 3) at 09:00-09:30; it is now 10:00 and
    # the team stands at loc 4. The shift is re-planned from here and now: start 600 at loc 4,
    # the 30-min break (start 10:15-10:40) still to take. Left: booked B (loc 1, start 11:00-11:30,
    # 20 min) and E (loc 3, 10 min, any time).
    # E first: drive 10 -> E 610-620; towards B (20 min) with the break on the way or on
    # arrival: ready at 620 + 20 + 30 = 670; B 670-690; office (10) at 700. Travel 10 + 20 + 10.
    # (B first would end at 740 > 720.) The done visits keep their recorded times.
    here = shift("s1", start=600, end=720, breaks=(Break(TimeWindow(615, 640), 30),))
    here = dataclasses.replace(here, start_location=4)
    problem = Problem(
        (
            stop("D1", 2, 20, (480, 720), pin=Pin("s1"), done=True, done_at=500),
            stop("D2", 3, 30, (480, 720), pin=Pin("s1"), done=True, done_at=540),
            stop("B", 1, 20, (660, 690), pin=Pin("s1"), required=True),
            stop("E", 3, 10, (600, 720)),
        ),
        (here,),
        LINE,
    )
    plan = solve(problem, FAST)
    route = plan.route("s1")
    assert plan.dropped == ()
    assert [(v.stop_id, v.arrival, v.start, v.end) for v in route.visits] == [
        ("D1", 500, 500, 520),
        ("D2", 540, 540, 570),
        ("E", 610, 610, 620),
        ("B", 670, 670, 690),
    ]
    assert (route.start, route.end, route.travel) == (600, 700, 40)
    open_part = dataclasses.replace(route, visits=route.visits[2:])
    assert check_route(here, [problem.stops[3], problem.stops[2]], open_part, LINE) == []


def test_replan_from_now_counts_done_visits_toward_max_visits():
    here = dataclasses.replace(shift("s1", start=600, end=720, max_visits=2), start_location=4)
    problem = Problem(
        (
            stop("D1", 2, 20, (480, 720), pin=Pin("s1"), done=True, done_at=500),
            stop("E", 3, 10, (600, 720)),
            stop("F", 4, 10, (600, 720), priority=2),
        ),
        (here,),
        LINE,
    )
    plan = solve(problem, FAST)
    assert order(plan, "s1") == ["D1", "F"]
    assert [(d.stop_id, d.reason) for d in plan.dropped] == [("E", DropReason.PRIORITY)]
