"""Each drop reason on a hand-made case, and required stops winning over optional ones."""

from __future__ import annotations

from routing import Break, DropReason, Pin, Problem, SolveParams, TimeWindow, solve
from tests.routing.test_solver_cases import FAST, LINE, order, shift, stop


def reasons(problem: Problem) -> dict[str, DropReason]:
    return {d.stop_id: d.reason for d in solve(problem, FAST).dropped}


def test_no_skill():
    problem = Problem((stop("A", 1, 10, (480, 720), skills=frozenset({"sign"})),), (shift(),), LINE)
    assert reasons(problem) == {"A": DropReason.NO_SKILL}


def test_pinned_to_a_shift_without_the_skill_is_no_skill():
    problem = Problem(
        (stop("A", 1, 10, (480, 720), skills=frozenset({"odgj"}), pin=Pin("s1")),),
        (shift("s1"), shift("s2", skills=frozenset({"odgj"}))),
        LINE,
    )
    assert reasons(problem) == {"A": DropReason.NO_SKILL}


def test_no_shift_overlap():
    # Windows 13:20-15:00 and the next day; the only shift is 08:00-12:00 on day 0.
    problem = Problem((stop("A", 1, 10, (800, 900), (2240, 2300)),), (shift(),), LINE)
    assert reasons(problem) == {"A": DropReason.NO_SHIFT_OVERLAP}


def test_unreachable_too_far_for_the_window():
    # Loc 4 is 40 min away: earliest arrival 08:40 (520) > window end 08:10 (490).
    problem = Problem((stop("A", 4, 10, (480, 490)),), (shift(),), LINE)
    assert reasons(problem) == {"A": DropReason.UNREACHABLE}


def test_unreachable_no_time_to_get_back():
    # Service 11:40-12:10 at loc 1 (window 700-710, 30 min) ends after the shift end 12:00.
    problem = Problem((stop("A", 1, 30, (700, 710)),), (shift(),), LINE)
    assert reasons(problem) == {"A": DropReason.UNREACHABLE}


def test_unreachable_because_of_the_break():
    # A (loc 1, 60 min) in 10:00-10:05 would cover the whole break window 10:10-10:40 (30 min),
    # and the break cannot come before it either: A cannot fit the shift even alone.
    problem = Problem(
        (stop("A", 1, 60, (600, 605)),),
        (shift(breaks=(Break(TimeWindow(610, 640), 30),)),),
        LINE,
    )
    assert reasons(problem) == {"A": DropReason.UNREACHABLE}


def test_capacity_when_equal_priority_visits_fill_the_day():
    # One visit per day; A and B are alike: one is dropped because the day is full.
    problem = Problem((stop("A", 1, 10, (480, 720)), stop("B", 1, 10, (480, 720))), (shift(max_visits=1),), LINE)
    got = reasons(problem)
    assert list(got.values()) == [DropReason.CAPACITY]


def test_priority_when_higher_priority_visits_take_the_room():
    problem = Problem(
        (stop("L", 1, 10, (480, 720), priority=1), stop("H", 2, 10, (480, 720), priority=3)),
        (shift(max_visits=1),),
        LINE,
    )
    plan = solve(problem, FAST)
    assert order(plan, "s1") == ["H"]
    assert [(d.stop_id, d.reason) for d in plan.dropped] == [("L", DropReason.PRIORITY)]


def test_required_stop_kept_over_higher_priority_optional():
    # The booked visit wins even against an optional one of priority 5, and even when the
    # booked one is far away; the optional one is left out for it.
    problem = Problem(
        (stop("R", 4, 10, (480, 720), required=True), stop("O", 1, 10, (480, 720), priority=5)),
        (shift(max_visits=1),),
        LINE,
    )
    plan = solve(problem, FAST)
    assert order(plan, "s1") == ["R"]
    assert [(d.stop_id, d.reason) for d in plan.dropped] == [("O", DropReason.PRIORITY)]


def test_each_reason_in_one_plan_with_messages():
    # s1 takes one visit: "keep" (priority 3) wins it over "low" (priority 1), both pinned to it.
    # s2 takes one visit
    # too and only "twin" and "twin2" (loc 3, equal rank, pinned to s2) fit it: one of them is
    # out because the day is full.
    problem = Problem(
        (
            stop("skill", 1, 10, (480, 720), skills=frozenset({"sign"})),
            stop("overlap", 1, 10, (800, 900)),
            stop("far", 4, 10, (480, 490)),
            stop("keep", 2, 10, (480, 720), priority=3, pin=Pin("s1")),
            stop("low", 2, 10, (480, 720), priority=1, pin=Pin("s1")),
            stop("twin", 3, 10, (480, 720), pin=Pin("s2")),
            stop("twin2", 3, 10, (480, 720), pin=Pin("s2")),
        ),
        (shift("s1", max_visits=1), shift("s2", max_visits=1)),
        LINE,
    )
    plan = solve(problem, SolveParams(time_limit=5, iterations=300))
    assert order(plan, "s1") == ["keep"]
    got = {d.stop_id: d.reason for d in plan.dropped}
    twin_out = "twin2" if order(plan, "s2") == ["twin"] else "twin"
    assert got == {
        "skill": DropReason.NO_SKILL,
        "overlap": DropReason.NO_SHIFT_OVERLAP,
        "far": DropReason.UNREACHABLE,
        "low": DropReason.PRIORITY,
        twin_out: DropReason.CAPACITY,
    }
    assert set(DropReason) == set(got.values())
    low = next(d for d in plan.dropped if d.stop_id == "low")
    assert "prioritas" in low.message("id") and "higher-priority" in low.message("en")
    full = next(d for d in plan.dropped if d.stop_id == twin_out)
    assert "penuh" in full.message("id") and "full" in full.message("en")
