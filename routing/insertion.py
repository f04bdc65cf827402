"""Slot offers without a full solve: where could one more visit go in the committed routes?

Build a :class:`CommittedRoutes` once from the committed team-days (a shift with no stops is an
empty route and takes insertions too); ask :meth:`CommittedRoutes.recommend` for each new
request; after a booking, :meth:`CommittedRoutes.commit` (or :meth:`CommittedRoutes.set_route`)
rebuilds the one route that changed.

Each route keeps, per position and per set of breaks already taken, the earliest time the team
can leave that place (forward) and the latest time it may be ready at the next place with the
rest of the route still feasible (backward; this is the slack, with break placement included).
Inserting at position ``p`` is then a check over the break sets: the new visit may start in
``[earliest ready there, latest end there - service]`` for some set, intersected with the
candidate window. It is exact: the same rules (breaks may be taken on the way, see
:mod:`routing.schedule`) and the same state dominance as :func:`routing.schedule.schedule_route`,
so an offer is feasible by ``schedule_route`` and every insertion ``schedule_route`` accepts is
considered.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from routing.model import Shift, Stop, TimeWindow
from routing.schedule import (
    INF,
    Durations,
    Times,
    earliest_start,
    fits_shift,
    latest_start,
    ordered_windows,
    route_locations,
    shift_breaks,
)


@dataclass(frozen=True)
class Insertion:
    shift_id: str
    window: TimeWindow  # the candidate window the new visit's service starts in
    position: int  # index among the shift's committed stops the new stop takes (0: first)
    start: int  # earliest feasible service start of the new visit
    added_travel: int  # minutes of driving the insertion adds to the route


@dataclass(frozen=True)
class Gap:
    """A position in a route and the service starts a new visit could have there (any window)."""

    position: int
    added_travel: int
    starts: tuple[tuple[float, float], ...]  # (earliest, latest) service start, one per set of breaks taken

    def earliest_in(self, window: TimeWindow) -> float:
        best = INF
        for low, high in self.starts:
            begin = max(low, window.start)
            if begin <= min(high, window.end):
                best = min(best, begin)
        return best


class RouteIndex:
    """Forward earliest and backward latest times of one committed route (see module doc)."""

    serial: int  # set by routing.improve._Horizon: identifies this version of the route

    def __init__(self, shift: Shift, stops: Sequence[Stop], durations: Durations) -> None:
        self.shift = shift
        self.stops: tuple[Stop, ...] = tuple(stops)
        self._durations = durations
        self._plan = shift_breaks(shift)
        self._locations = route_locations(shift, self.stops)
        self._departs = self._forward()  # per place 0..n: earliest leave times
        self._arrives = self._backward()  # per place 1..n+1 (index - 1): latest ready times
        self._fits = fits_shift(shift, self.stops)
        latest = self._latest_leave_from(0, self._arrives[0])
        self.feasible = self._fits and any(t <= late for t, late in zip(self._departs[0], latest, strict=True))
        self.demand = sum(s.demand for s in self.stops)

    def _forward(self) -> list[Times]:
        plan = self._plan
        departs = [plan.start(self.shift.start)]
        for i, stop in enumerate(self.stops, start=1):
            travel = self._durations[self._locations[i - 1]][self._locations[i]]
            ready = plan.cross(departs[-1], travel)[0]
            windows = ordered_windows(stop)
            departs.append([earliest_start(windows, t) + stop.service for t in ready])
        return departs

    def _backward(self) -> list[Times]:
        final: Times = [-INF] * self._plan.full + [self.shift.end]
        arrives = [final]
        for i in range(len(self.stops), 0, -1):
            stop = self.stops[i - 1]
            windows = ordered_windows(stop)
            ends = self._latest_leave_from(i, arrives[-1])
            arrives.append([latest_start(windows, t - stop.service) for t in ends])
        arrives.reverse()
        return arrives

    def _latest_leave_from(self, place: int, next_ready: Times) -> Times:
        travel = self._durations[self._locations[place]][self._locations[place + 1]]
        return self._plan.cross_back(next_ready, travel)

    def accepts(self, stop: Stop) -> bool:
        """Skills, visit count and capacity allow one more ``stop`` (times not checked).

        A route infeasible in time may still take a stop: with travel times that break the
        triangle inequality, a detour can be faster; :meth:`gaps` is exact either way.
        """
        shift = self.shift
        if not self._fits or not stop.skills <= shift.skills:
            return False
        if shift.max_visits is not None and len(self.stops) >= shift.max_visits:
            return False
        return shift.capacity is None or self.demand + stop.demand <= shift.capacity

    def gaps(self, location: int, service: int, earliest: float = -INF, latest: float = INF) -> list[Gap]:
        """Positions where a visit at ``location`` can start within [earliest, latest], cheapest first.

        Each position is first screened by a necessary condition (no breaks taken before the new
        visit, all taken after it: the loosest bounds), once without travel (travel is never
        negative, and looking it up may mean computing it) and once with it, before the exact
        per-break-set check.
        """
        durations, plan = self._durations, self._plan
        gaps: list[Gap] = []
        for position in range(len(self.stops) + 1):
            departs, arrives = self._departs[position], self._arrives[position]
            if max(departs[0], earliest) > min(arrives[-1] - service, latest):
                continue
            before, after = self._locations[position], self._locations[position + 1]
            travel_in, travel_out = durations[before][location], durations[location][after]
            if max(departs[0] + travel_in, earliest) > min(arrives[-1] - travel_out - service, latest):
                continue
            ready = plan.cross(departs, travel_in)[0]
            ends = plan.cross_back(arrives, travel_out)
            starts = tuple((low, end - service) for low, end in zip(ready, ends, strict=True) if low <= end - service)
            if starts:
                added = travel_in + travel_out - durations[before][after]
                gaps.append(Gap(position, added, starts))
        gaps.sort(key=lambda g: (g.added_travel, g.position))
        return gaps

    def start_at(self, position: int, stop: Stop, replace_next: bool = False) -> float:
        """Earliest service start of ``stop`` inserted at ``position`` (in any of its windows), or INF.

        With ``replace_next`` the stop takes the place of ``self.stops[position]`` instead (that
        stop leaves the route). Times only: skills, visit count and capacity are not checked.
        """
        plan, durations, locations = self._plan, self._durations, self._locations
        after = position + 2 if replace_next else position + 1
        before_loc, after_loc = locations[position], locations[after]
        ready = plan.cross(self._departs[position], durations[before_loc][stop.location])[0]
        ends = plan.cross_back(self._arrives[after - 1], durations[stop.location][after_loc])
        best = INF
        for window in ordered_windows(stop):
            for low, end in zip(ready, ends, strict=True):
                begin = max(low, window.start)
                if begin <= min(end - stop.service, window.end) and begin < best:
                    best = begin
        return best

    def best_insertion(self, gaps: list[Gap], window: TimeWindow) -> Insertion | None:
        """Least added travel, then earliest start, then first position, inside ``window``."""
        best: Insertion | None = None
        for gap in gaps:
            if best is not None and gap.added_travel > best.added_travel:
                break
            start = gap.earliest_in(window)
            if start < INF and (best is None or start < best.start):
                best = Insertion(self.shift.id, window, gap.position, int(start), gap.added_travel)
        return best


def _rank(insertion: Insertion) -> tuple[int, int, int, str, int, int]:
    w = insertion.window
    return (w.day, insertion.added_travel, insertion.start, insertion.shift_id, w.start, w.end)


class CommittedRoutes:
    """The committed routes of a planning horizon, indexed for insertion queries."""

    def __init__(self, durations: Durations, routes: Iterable[tuple[Shift, Sequence[Stop]]] = ()) -> None:
        self._durations = durations
        self._routes: dict[str, RouteIndex] = {}
        for shift, stops in routes:
            self.set_route(shift, stops)

    def set_route(self, shift: Shift, stops: Sequence[Stop]) -> RouteIndex:
        """(Re)build the index of one shift's committed stops, in visiting order."""
        index = RouteIndex(shift, stops, self._durations)
        self._routes[shift.id] = index
        return index

    def put(self, index: RouteIndex) -> RouteIndex:
        """Adopt an index built earlier over the same durations (e.g. kept from an earlier query)."""
        if index._durations is not self._durations:
            raise ValueError("the route was indexed over another duration matrix")
        self._routes[index.shift.id] = index
        return index

    def route(self, shift_id: str) -> RouteIndex:
        return self._routes[shift_id]

    def recommend(
        self,
        stop: Stop,
        windows: Sequence[TimeWindow],
        k: int = 5,
        distinct_windows: bool = True,
    ) -> list[Insertion]:
        """The ``k`` best feasible insertions of ``stop`` with its service starting in a window.

        ``stop.windows`` is ignored: each candidate window is tried in its place. At most one
        result per (shift, window): the shift's least added travel, then earliest start. With
        ``distinct_windows`` only the best shift per window is kept, so the offers are ``k``
        different slots. Sorted by (window day, added travel, start, shift id, window).
        """
        by_day: dict[int, list[TimeWindow]] = {}
        for window in sorted(set(windows), key=lambda w: (w.start, w.end)):
            by_day.setdefault(window.day, []).append(window)
        eligible = [index for index in self._routes.values() if index.accepts(stop)]
        found: list[Insertion] = []
        for day in sorted(by_day):  # results rank by day first: stop once k are certain
            found += _insertions_on_day(stop, by_day[day], eligible)
            if len({o.window for o in found} if distinct_windows else found) >= k:
                break
        found.sort(key=_rank)
        if distinct_windows:
            found = _first_per_window(found)
        return found[:k]

    def commit(self, insertion: Insertion, stop: Stop) -> RouteIndex:
        """Book ``stop`` as offered: it joins the route with the offer's window as its only window."""
        index = self._routes[insertion.shift_id]
        booked = replace(stop, windows=(insertion.window,))
        stops = [*index.stops[: insertion.position], booked, *index.stops[insertion.position :]]
        new_index = RouteIndex(index.shift, stops, self._durations)
        if not new_index.feasible:
            raise ValueError(f"insertion of {stop.id} into {insertion.shift_id} is no longer feasible")
        self._routes[insertion.shift_id] = new_index
        return new_index


def _insertions_on_day(stop: Stop, windows: list[TimeWindow], routes: list[RouteIndex]) -> list[Insertion]:
    """Best insertion per (shift, window) for one day's windows (sorted by start)."""
    earliest, latest = windows[0].start, max(w.end for w in windows)
    found: list[Insertion] = []
    for index in routes:
        shift = index.shift
        if shift.start > latest or shift.end < earliest:
            continue
        overlapping = [w for w in windows if w.start <= shift.end and w.end >= shift.start]
        if not overlapping:
            continue
        gaps = index.gaps(stop.location, stop.service, overlapping[0].start, max(w.end for w in overlapping))
        for window in overlapping if gaps else ():
            insertion = index.best_insertion(gaps, window)
            if insertion is not None:
                found.append(insertion)
    return found


def _first_per_window(ranked: list[Insertion]) -> list[Insertion]:
    seen: set[TimeWindow] = set()
    kept: list[Insertion] = []
    for insertion in ranked:
        if insertion.window not in seen:
            seen.add(insertion.window)
            kept.append(insertion)
    return kept
