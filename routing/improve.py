"""Whole-horizon repair: put dropped stops back into any team-day, exactly.

The day-by-day search (:func:`routing.solver._search_by_day`) decides each day on its own; a stop
left out on its last day may still fit a gap on an earlier day, or after moving another visit to
one of its other days. :func:`repair` works on the open parts of all routes at once with the exact
insertion index of :mod:`routing.insertion` (the same rules as :mod:`routing.schedule`):

1. *insert*: each dropped stop (most important first) goes to its cheapest feasible position in
   any shift (skills, pins, visit count, capacity, windows, breaks);
2. *eject*: otherwise it takes the place of a planned stop ``r`` when ``r`` can move to a
   feasible position elsewhere (often a team-day on another of its windows), or - when ``r``
   ranks below it (required first, then priority) - even if ``r`` must be dropped.

Passes repeat while they serve more stops and time is left. Stops pinned with a position are not
moved (their order among the pinned stops is kept by leaving them where they are).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

from routing.insertion import RouteIndex
from routing.model import Problem, Shift, Stop
from routing.reasons import open_shift, shift_start
from routing.schedule import INF


def _rank(stop: Stop) -> tuple[bool, int]:
    return (stop.required, max(stop.priority, 1))


def _movable(stop: Stop) -> bool:
    return not stop.done and (stop.pin is None or stop.pin.position is None)


class _Horizon:
    def __init__(self, problem: Problem, routes: Mapping[str, Sequence[str]]) -> None:
        self.durations = problem.durations
        self.by_id = {s.id: s for s in problem.stops}
        self.shifts = {sh.id: open_shift(sh, shift_start(problem, sh)) for sh in problem.shifts}
        self._serial = 0
        self.index = {sid: self._build(sh, [self.by_id[x] for x in routes.get(sid, ())]) for sid, sh in self.shifts.items()}
        self._candidates: dict[str, list[str]] = {}
        self._best: dict[tuple[str, int], tuple[int, int] | None] = {}  # (stop, route serial) -> (added, position)
        self.deadline = INF
        self.budget = 0  # replacements an ejection may still try (set per dropped stop)

    def _build(self, shift: Shift, stops: Sequence[Stop]) -> RouteIndex:
        index = RouteIndex(shift, stops, self.durations)
        self._serial += 1
        index.serial = self._serial  # identifies this version of the route
        return index

    def candidates(self, stop: Stop) -> list[str]:
        """Shifts that may take ``stop`` by skills, pin and window overlap (cached)."""
        found = self._candidates.get(stop.id)
        if found is None:
            found = [
                sid
                for sid, sh in self.shifts.items()
                if stop.skills <= sh.skills and (stop.pin is None or stop.pin.shift_id == sid) and any(w.start <= sh.end and w.end >= sh.start for w in stop.windows)
            ]
            self._candidates[stop.id] = found
        return found

    def _best_in(self, stop: Stop, index: RouteIndex) -> tuple[int, int] | None:
        """(added travel, position) of the cheapest feasible insertion into one route (cached)."""
        key = (stop.id, index.serial)
        if key in self._best:
            return self._best[key]
        found = None
        if index.accepts(stop):
            lo = min(w.start for w in stop.windows)
            hi = max(w.end for w in stop.windows)
            for gap in index.gaps(stop.location, stop.service, lo, hi):
                if any(gap.earliest_in(w) < INF for w in stop.windows):
                    found = (gap.added_travel, gap.position)
                    break
        self._best[key] = found
        return found

    def best(self, stop: Stop, skip: str | None = None) -> tuple[int, str, int] | None:
        """(added travel, shift id, position) of the cheapest feasible insertion of ``stop``."""
        best: tuple[int, str, int] | None = None
        for sid in self.candidates(stop):
            if sid == skip:
                continue
            found = self._best_in(stop, self.index[sid])
            if found is not None and (best is None or found[0] < best[0]):
                best = (found[0], sid, found[1])
        return best

    def put(self, sid: str, position: int, stop: Stop) -> None:
        index = self.index[sid]
        self.index[sid] = self._build(index.shift, [*index.stops[:position], stop, *index.stops[position:]])

    def swap(self, sid: str, position: int, stop: Stop) -> None:
        """``stop`` takes the place of the stop at ``position``."""
        index = self.index[sid]
        self.index[sid] = self._build(index.shift, [*index.stops[:position], stop, *index.stops[position + 1 :]])

    def take(self, sid: str, position: int) -> None:
        index = self.index[sid]
        self.index[sid] = self._build(index.shift, [*index.stops[:position], *index.stops[position + 1 :]])

    def insert(self, stop: Stop, only: str | None = None) -> bool:
        if only is None:
            found = self.best(stop)
        else:
            one = self._best_in(stop, self.index[only])
            found = None if one is None else (one[0], only, one[1])
        if found is None:
            return False
        self.put(found[1], found[2], stop)
        return True

    def eject(self, stop: Stop, depth: int = 1, banned: frozenset[str] = frozenset()) -> str | None:
        """Serve ``stop`` in place of a planned one, which moves elsewhere - directly or, with
        ``depth`` > 1, by taking the place of yet another stop that moves (an ejection chain).

        Returns '' on success, the id of a stop that had to be dropped for it (only at the top of
        a chain and only when it ranks below ``stop``), or None when nothing works (the routes
        are then unchanged).
        """
        fallback: tuple[str, int] | None = None
        banned = banned | {stop.id}
        if self.budget <= 0 or time.perf_counter() >= self.deadline:
            return None
        for sid in self.candidates(stop):
            index = self.index[sid]
            if not index.feasible or not stop.skills <= index.shift.skills:
                continue
            for k, other in enumerate(index.stops):
                if other.id in banned or not _movable(other) or not _fits_counts(index, other, stop):
                    continue
                if index.start_at(k, stop, replace_next=True) == INF:
                    continue
                self.budget -= 1
                elsewhere = self.best(other, skip=sid)  # other routes are unchanged by the swap
                if elsewhere is not None:
                    self.swap(sid, k, stop)
                    self.put(elsewhere[1], elsewhere[2], other)
                    return ""
                saved = dict(self.index)
                self.swap(sid, k, stop)
                if self.insert(other, only=sid):
                    return ""
                if depth > 1 and self.eject(other, depth - 1, banned) == "":
                    return ""
                if fallback is None and not banned - {stop.id} and _rank(stop) > _rank(other):
                    fallback = (sid, k)
                self.index = saved
                if self.budget <= 0:
                    break
        if fallback is not None:
            sid, k = fallback
            dropped = self.index[sid].stops[k].id
            self.swap(sid, k, stop)
            return dropped
        return None

    def routes(self) -> dict[str, list[str]]:
        return {sid: [s.id for s in index.stops] for sid, index in self.index.items() if index.stops}


def _fits_counts(index: RouteIndex, out: Stop, into: Stop) -> bool:
    """Visit count and capacity allow swapping ``out`` for ``into`` (skills checked by the caller)."""
    shift = index.shift
    return shift.capacity is None or index.demand - out.demand + into.demand <= shift.capacity


def _order(stop: Stop) -> tuple:
    return (not stop.required, -max(stop.priority, 1), sum(w.end - w.start for w in stop.windows), stop.id)


def repair(
    problem: Problem,
    routes: Mapping[str, Sequence[str]],
    deadline: float,
    max_depth: int = 4,
    budget: int = 1000,
    total_budget: int = 20000,
) -> tuple[dict[str, list[str]], dict]:
    """Routes (shift id -> stop ids of the open part) with dropped stops put back where possible.

    The input routes must be feasible; the output routes are feasible by the same exact rules.
    Returns the routes and counts for the plan's meta data.
    """
    horizon = _Horizon(problem, routes)
    horizon.deadline = deadline
    planned = {x for ids in routes.values() for x in ids}
    dropped = sorted((s for s in problem.stops if s.id not in planned and _movable(s)), key=_order)
    inserted = ejected = lost = passes = 0
    depth = 1
    work_left = total_budget
    while dropped and work_left > 0 and time.perf_counter() < deadline:
        passes += 1
        progress = False
        left: list[Stop] = []
        for stop in dropped:
            if time.perf_counter() >= deadline:
                left.append(stop)
                continue
            if horizon.insert(stop):
                inserted += 1
                progress = True
                continue
            horizon.budget = min(budget, work_left)
            out = horizon.eject(stop, depth)
            work_left -= min(budget, work_left) - horizon.budget
            if out is None:
                left.append(stop)
            else:
                ejected += 1
                progress = True
                if out:
                    lost += 1
                    left.append(horizon.by_id[out])
        dropped = sorted(left, key=_order)
        if not progress:
            if depth >= max_depth:
                break
            depth += 1  # deeper chains only once the cheap moves are exhausted
    meta = {
        "inserted": inserted,
        "ejected": ejected,
        "displaced": lost,
        "passes": passes,
        "depth": depth,
        "work": total_budget - work_left,
    }
    return horizon.routes(), meta
