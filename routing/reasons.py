"""Where a shift's open part begins (after its done stops) and the diagnosis of dropped stops.

Feasibility is the exact rule of :mod:`routing.schedule` (breaks may be taken on the way), applied
to the open part of a shift as a shift of its own (:func:`open_shift`): the same thing the OR-Tools
vehicle of :mod:`routing.solver` sees, so a stop diagnosed as fitting really fits.

Done stops (re-planning a day) come in two forms:

* with ``Stop.done_at`` (the minute their service started): history. The team stands at
  ``shift.start_location`` at ``shift.start`` ("here, now"); the done visits are reported at their
  recorded times and never re-timed; only the rest of the day is planned.
* without it: laid back to back from ``shift.start`` at ``shift.start_location`` (their windows are
  not checked, each starts on arrival); the open part starts where and when the last one ends.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from routing.model import Break, DropReason, Problem, Shift, Stop
from routing.schedule import route_feasible


@dataclass(frozen=True)
class ShiftStart:
    """Where and when a shift's open part begins, after its done stops."""

    location: int
    time: int
    visits: int  # done visits already made
    load: int  # demand already taken by done visits
    breaks: tuple[Break, ...]  # breaks still to take (those whose window is past are taken)


def done_stops(problem: Problem, shift: Shift) -> list[Stop]:
    """Done stops pinned to ``shift``, in visiting order (recorded start, else pin position)."""
    pinned = [(s, s.pin) for s in problem.stops if s.done and s.pin is not None and s.pin.shift_id == shift.id]
    done = [s for s, _ in pinned]
    if any(s.done_at is not None for s in done):
        return sorted(done, key=lambda s: s.done_at if s.done_at is not None else -1)
    ordered = sorted(pinned, key=lambda sp: sp[1].position if sp[1].position is not None else 1 << 30)
    return [s for s, _ in ordered]


def done_schedule(problem: Problem, shift: Shift) -> list[tuple[Stop, int, int]]:
    """(stop, arrival, service start) of the done stops (see the module doc for both forms)."""
    done = done_stops(problem, shift)
    if any(s.done_at is not None for s in done):
        return [(s, s.done_at, s.done_at) for s in done]  # type: ignore[misc]
    out = []
    loc, t = shift.start_location, shift.start
    for stop in done:
        t += problem.durations[loc][stop.location]
        out.append((stop, t, t))
        t += stop.service
        loc = stop.location
    return out


def _breaks_left(shift: Shift, time: int) -> tuple[Break, ...]:
    """Breaks that can still be taken from ``time`` (the others count as taken)."""
    return tuple(b for b in shift.breaks if max(b.window.start, time) <= min(b.window.end, shift.end - b.duration))


def shift_start(problem: Problem, shift: Shift) -> ShiftStart:
    """The open part of ``shift``: after its done stops, with the breaks still to take."""
    sched = done_schedule(problem, shift)
    if not sched:
        return ShiftStart(shift.start_location, shift.start, 0, 0, shift.breaks)
    load = sum(s.demand for s, _, _ in sched)
    if sched[0][0].done_at is not None:  # history: the team is here, now
        return ShiftStart(shift.start_location, shift.start, len(sched), load, _breaks_left(shift, shift.start))
    last, _, start = sched[-1]
    t = start + last.service
    return ShiftStart(last.location, t, len(sched), load, _breaks_left(shift, t))


def open_shift(shift: Shift, start: ShiftStart) -> Shift:
    """The open part of ``shift`` as a shift of its own: what its OR-Tools vehicle sees."""
    if start.time == shift.start and start.location == shift.start_location and not start.visits and not start.load:
        return shift
    return replace(
        shift,
        start=start.time,
        start_location=start.location,
        breaks=start.breaks,
        max_visits=None if shift.max_visits is None else max(shift.max_visits - start.visits, 0),
        capacity=None if shift.capacity is None else max(shift.capacity - start.load, 0),
    )


def route_fits(problem: Problem, shift: Shift, seq: Sequence[Stop], start: ShiftStart | None = None) -> bool:
    """Whether ``shift`` can visit ``seq`` in this order (after its done stops); exact."""
    st = start or shift_start(problem, shift)
    return route_feasible(open_shift(shift, st), seq, problem.durations)


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
