"""Route feasibility in plain Python and the diagnosis of dropped stops.

The checks here mirror the OR-Tools model of :mod:`routing.solver` (windows on service start,
service time, breaks that may be taken while driving or waiting but never during a service,
shift end, maximum visits, capacity). Breaks are placed greedily, so a route reported infeasible
here might in rare cases still be feasible for the solver; the diagnosis is deterministic.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from routing.model import Break, DropReason, Problem, Shift, Stop, TimeWindow


@dataclass(frozen=True)
class ShiftStart:
    """Where and when a shift's open part begins, after its done stops."""

    location: int
    time: int
    visits: int  # done visits already made
    load: int  # demand already taken by done visits
    breaks: tuple[Break, ...]  # breaks still to take (those whose window is past are taken)


def done_stops(problem: Problem, shift: Shift) -> list[Stop]:
    """Done stops pinned to ``shift``, in pin order (position, then input order)."""
    done = [s for s in problem.stops if s.done and s.pin is not None and s.pin.shift_id == shift.id]
    return sorted(done, key=lambda s: s.pin.position if s.pin.position is not None else 1 << 30)


def done_schedule(problem: Problem, shift: Shift) -> list[tuple[Stop, int, int]]:
    """(stop, arrival, service start) of the done stops, driven back to back from the shift start.

    Done stops are in the past: their windows are not checked, each starts on arrival.
    """
    out = []
    loc, t = shift.start_location, shift.start
    for stop in done_stops(problem, shift):
        t += problem.durations[loc][stop.location]
        out.append((stop, t, t))
        t += stop.service
        loc = stop.location
    return out


def shift_start(problem: Problem, shift: Shift) -> ShiftStart:
    """The open part of ``shift``: after its done stops, with the breaks still to take."""
    sched = done_schedule(problem, shift)
    if not sched:
        return ShiftStart(shift.start_location, shift.start, 0, 0, shift.breaks)
    last, _, start = sched[-1]
    t = start + last.service
    breaks = tuple(b for b in shift.breaks if b.window.end >= t)
    load = sum(s.demand for s, _, _ in sched)
    return ShiftStart(last.location, t, len(sched), load, breaks)


def _service_start(windows: Sequence[TimeWindow], arrival: int) -> int | None:
    """Earliest service start at or after ``arrival`` inside one of ``windows``."""
    best = None
    for w in windows:
        if w.end >= arrival:
            s = max(arrival, w.start)
            best = s if best is None else min(best, s)
    return best


def _arrive(t: int, travel: int, breaks: Sequence[Break]) -> int | None:
    """Arrival after leaving at ``t``, driving ``travel`` and taking ``breaks`` on the way."""
    busy = travel
    last_end = t
    for b in breaks:
        bs = max(last_end, b.window.start)
        if bs > b.window.end:
            return None
        last_end = bs + b.duration
        busy += b.duration
    return max(t + busy, last_end)


def route_fits(problem: Problem, shift: Shift, seq: Sequence[Stop], start: ShiftStart | None = None) -> bool:
    """Whether ``shift`` can visit ``seq`` in this order (after its done stops)."""
    st = start or shift_start(problem, shift)
    if shift.max_visits is not None and st.visits + len(seq) > shift.max_visits:
        return False
    if shift.capacity is not None and st.load + sum(s.demand for s in seq) > shift.capacity:
        return False
    if any(not s.skills <= shift.skills for s in seq):
        return False
    d = problem.durations
    t, loc = st.time, st.location
    pending = sorted(st.breaks, key=lambda b: (b.window.start, b.window.end))
    for stop in seq:
        travel = d[loc][stop.location]
        windows = [w for w in stop.windows if w.end >= shift.start and w.start <= shift.end]
        arrival = _arrive(t, travel, ())
        s = _service_start(windows, arrival)
        if s is None:
            return False
        taken: list[Break] = []
        while pending:
            b = pending[0]
            with_break = _arrive(t, travel, taken + [b])
            if with_break is None:
                return False
            s_with = _service_start(windows, with_break)
            postponable = max(s + stop.service, b.window.start) <= b.window.end
            if s_with == s or not postponable:
                if s_with is None:
                    return False
                taken.append(pending.pop(0))
                s = s_with
            else:
                break
        t, loc = s + stop.service, stop.location
    back = _arrive(t, d[loc][shift.end_location], pending)
    return back is not None and back <= shift.end


def _rank(stop: Stop) -> tuple[bool, int]:
    return (stop.required, stop.priority)


def _fits_somewhere(problem: Problem, shift: Shift, route: list[Stop], stop: Stop) -> bool:
    start = shift_start(problem, shift)
    return any(route_fits(problem, shift, route[:i] + [stop] + route[i:], start) for i in range(len(route) + 1))


def _allowed_shifts(problem: Problem, stop: Stop) -> list[Shift]:
    shifts = [sh for sh in problem.shifts if stop.skills <= sh.skills]
    if stop.pin is not None:
        shifts = [sh for sh in shifts if sh.id == stop.pin.shift_id]
    return shifts


def _overlaps(stop: Stop, shift: Shift) -> bool:
    return any(w.start <= shift.end and w.end >= shift.start for w in stop.windows)


def diagnose(problem: Problem, routes: dict[str, list[str]], dropped: Sequence[str]) -> dict[str, DropReason]:
    """Why each dropped stop is out of the plan.

    ``routes`` maps shift id -> planned stop ids (done stops excluded). Reasons, first match wins:
    NO_SKILL (no shift, or not the pinned one, has all its skills), NO_SHIFT_OVERLAP (no window
    overlaps such a shift), UNREACHABLE (it does not fit any of those shifts even alone),
    PRIORITY (on every shift it fits alone, the visits ranked above it - required first, then
    higher priority - already leave no room), CAPACITY (otherwise: the fitting team-days are full
    with visits of equal or lower rank).
    """
    by_id = {s.id: s for s in problem.stops}
    out: dict[str, DropReason] = {}
    for sid in dropped:
        stop = by_id[sid]
        skilled = _allowed_shifts(problem, stop)
        if not skilled:
            out[sid] = DropReason.NO_SKILL
            continue
        overlapping = [sh for sh in skilled if _overlaps(stop, sh)]
        if not overlapping:
            out[sid] = DropReason.NO_SHIFT_OVERLAP
            continue
        fitting = [sh for sh in overlapping if route_fits(problem, sh, [stop])]
        if not fitting:
            out[sid] = DropReason.UNREACHABLE
            continue
        out[sid] = DropReason.PRIORITY
        for sh in fitting:
            above = [by_id[x] for x in routes.get(sh.id, []) if _rank(by_id[x]) > _rank(stop)]
            if _fits_somewhere(problem, sh, above, stop):
                out[sid] = DropReason.CAPACITY
                break
    return out
