"""Malformed problems are rejected with a ProblemError naming the offending item."""

from __future__ import annotations

import dataclasses

import pytest

from routing import Break, Pin, Problem, ProblemError, TimeWindow, solve
from tests.routing.test_solver_cases import LINE, shift, stop

GOOD = Problem((stop("A", 1, 10, (480, 720)), stop("B", 2, 10, (480, 720))), (shift(),), LINE)


def with_stop(**changes) -> Problem:
    return dataclasses.replace(GOOD, stops=(GOOD.stops[0], dataclasses.replace(GOOD.stops[1], **changes)))


@pytest.mark.parametrize(
    ("problem", "message"),
    [
        (with_stop(service=-5), "stop 'B' has a negative service"),
        (with_stop(windows=(TimeWindow(600, 500),)), "stop 'B' has a window ending (500) before it starts (600)"),
        (with_stop(windows=()), "stop 'B' has no time window"),
        (with_stop(location=7), "stop 'B': location index 7 is outside the 5x5 matrix"),
        (with_stop(id="A"), "duplicate stop id 'A'"),
        (with_stop(pin=Pin("nope")), "stop 'B' is pinned to unknown shift 'nope'"),
        (with_stop(done=True), "stop 'B' is done but not pinned"),
        (dataclasses.replace(GOOD, durations=LINE[:4]), "not square"),
        (dataclasses.replace(GOOD, durations=(*LINE[:4], (0, 1, 2))), "row 4 has 3 values, expected 5"),
        (dataclasses.replace(GOOD, durations=(*LINE[:4], (0, 1, 2, 3, -4))), "durations matrix row 4 has a negative"),
        (dataclasses.replace(GOOD, shifts=(shift(start=720, end=480),)), "shift 's1' ends (480) before it starts (720)"),
        (dataclasses.replace(GOOD, shifts=(shift(), shift())), "duplicate shift id 's1'"),
        (
            dataclasses.replace(GOOD, shifts=(shift(breaks=(Break(TimeWindow(800, 900), 30),)),)),
            "shift 's1' has a break that cannot be taken within the shift",
        ),
        (
            dataclasses.replace(GOOD, shifts=(shift(breaks=(Break(TimeWindow(600, 630), -5),)),)),
            "shift 's1' has a break with a negative duration",
        ),
        (
            dataclasses.replace(GOOD, shifts=(shift(breaks=(Break(TimeWindow(630, 600), 30),)),)),
            "shift 's1' has a break window ending before it starts",
        ),
        (with_stop(done_at=500), "stop 'B' has a done_at but is not done"),
        (
            with_stop(done=True, pin=Pin("s1"), done_at=500, windows=(TimeWindow(480, 720),)),
            "stop 'B' is done at 500, after shift 's1' (re)starts at 480",
        ),
        (
            dataclasses.replace(
                GOOD,
                stops=(
                    dataclasses.replace(GOOD.stops[0], done=True, pin=Pin("s1"), done_at=470),
                    dataclasses.replace(GOOD.stops[1], done=True, pin=Pin("s1")),
                ),
            ),
            "shift 's1': give every done stop a done_at, or none",
        ),
        (
            dataclasses.replace(GOOD, shifts=(dataclasses.replace(shift(), start_location=9),)),
            "shift 's1' start: location index 9",
        ),
    ],
)
def test_rejected_with_clear_message(problem: Problem, message: str):
    with pytest.raises(ProblemError, match=message.replace("(", r"\(").replace(")", r"\)")):
        solve(problem)


def test_problem_error_is_a_value_error():
    with pytest.raises(ValueError):
        solve(with_stop(service=-1))
