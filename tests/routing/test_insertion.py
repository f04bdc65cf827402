"""Insertion queries: hand-checked cases and a brute-force comparison on random instances."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from routing.insertion import CommittedRoutes, Insertion
from routing.model import Break, Shift, Stop, TimeWindow
from routing.schedule import schedule_route

W = TimeWindow
DAY = 1440

# Locations on a line: 0 office at km 0, 1 at km 1, 2 at km 2, 3 at km 3; 10 min per km.
LINE = tuple(tuple(10 * abs(i - j) for j in range(4)) for i in range(4))


def shift(sid: str = "s1", day: int = 0, start: int = 480, end: int = 900, **kw: object) -> Shift:
    base = day * DAY
    return Shift(sid, "team-" + sid, day, 0, 0, base + start, base + end, **kw)  # type: ignore[arg-type]


def stop(sid: str, location: int, service: int = 30, *windows: TimeWindow, **kw: object) -> Stop:
    return Stop(sid, location, service, tuple(windows), **kw)  # type: ignore[arg-type]


def new(location: int, service: int = 30, **kw: object) -> Stop:
    return stop("new", location, service, **kw)


def inserted(routes: CommittedRoutes, offer: Insertion, stop_: Stop) -> list[Stop]:
    committed = list(routes.route(offer.shift_id).stops)
    committed.insert(offer.position, replace(stop_, windows=(offer.window,)))
    return committed


def test_best_position_by_added_travel() -> None:
    # Committed: km 1 then km 3. New stop at km 2 costs nothing between them (10 + 10 - 20 = 0),
    # 20 extra at the start or end.
    a, c = stop("a", 1, 30, W(480, 900)), stop("c", 3, 30, W(480, 900))
    routes = CommittedRoutes(LINE, [(shift(), [a, c])])
    [offer] = routes.recommend(new(2), [W(480, 900)], k=3)
    assert (offer.position, offer.added_travel) == (1, 0)
    # office 480 -> a 490-520 -> new at 530
    assert offer.start == 530
    assert schedule_route(routes.route("s1").shift, inserted(routes, offer, new(2)), LINE) is not None


def test_refuses_insertion_that_pushes_a_committed_stop_out_of_its_window() -> None:
    # c must start by 530: office -> a (490-520) -> c at 540 already? No: a at km1 serves
    # 490-520, c at km3 reached 540 > 530. So commit only c (reached at 510, starts 510).
    c = stop("c", 3, 30, W(480, 530))
    routes = CommittedRoutes(LINE, [(shift(), [c])])
    # Before c: office -> new (km2, 500-530) -> c at 540 > 530: refused.
    # After c: c 510-540 -> new at 550: accepted, added travel 10 + 20 - 30 = 0.
    offers = routes.recommend(new(2), [W(480, 900)], k=5, distinct_windows=False)
    assert [(o.position, o.start, o.added_travel) for o in offers] == [(1, 550, 0)]
    # A window that needs the new visit before c has no offer at all.
    assert routes.recommend(new(2), [W(480, 520)]) == []


def test_skills_max_visits_and_capacity() -> None:
    a = stop("a", 1, 30, W(480, 900))
    plain = shift("plain")
    odgj = shift("odgj", skills=frozenset({"odgj"}))
    full = shift("full", skills=frozenset({"odgj"}), max_visits=1)
    routes = CommittedRoutes(LINE, [(plain, []), (odgj, [a]), (full, [a])])
    offers = routes.recommend(new(1, skills=frozenset({"odgj"})), [W(480, 900)], k=5, distinct_windows=False)
    assert [o.shift_id for o in offers] == ["odgj"]
    tight = CommittedRoutes(LINE, [(shift(capacity=1), [replace(a, demand=1)])])
    assert tight.recommend(new(1, demand=1), [W(480, 900)]) == []
    assert tight.recommend(new(1), [W(480, 900)]) != []


def test_empty_shift_and_shift_overlap() -> None:
    routes = CommittedRoutes(LINE, [(shift("d0"), []), (shift("d1", day=1), [])])
    windows = [W(DAY + 540, DAY + 600), W(540, 600), W(2 * DAY + 540, 2 * DAY + 600), W(300, 360)]
    offers = routes.recommend(new(3), windows, k=5)
    # Day 0 first, then day 1; no team on day 2; 05:00-06:00 is before the shift.
    assert [(o.shift_id, o.window, o.position, o.start, o.added_travel) for o in offers] == [
        ("d0", W(540, 600), 0, 540, 60),
        ("d1", W(DAY + 540, DAY + 600), 0, DAY + 540, 60),
    ]


def test_window_end_limits_and_return_by_shift_end() -> None:
    # New stop at km 3 (30 min away), 60 min service, shift ends 900: must start by 810.
    routes = CommittedRoutes(LINE, [(shift(), [])])
    assert routes.recommend(new(3, 60), [W(811, 870)]) == []
    [offer] = routes.recommend(new(3, 60), [W(780, 840)])
    assert offer.start == 780


def test_break_must_still_fit() -> None:
    # Break 60 min starting in [720, 720]. Committed a at km1 must start in [780, 800].
    # New stop (km1, 60 min) in window 660-720: 660-720 ends exactly when the break starts,
    # break 720-780 at km1, a at 780: fits. Window 690-720 pushes the break out -> no offer.
    brk = Break(W(720, 720), 60)
    a = stop("a", 1, 30, W(780, 800))
    routes = CommittedRoutes(LINE, [(shift(breaks=(brk,)), [a])])
    [offer] = routes.recommend(new(1, 60), [W(660, 720)])
    assert (offer.position, offer.start) == (0, 660)
    assert routes.recommend(new(1, 60), [W(661, 720)]) == []
    sh = routes.route("s1").shift
    assert schedule_route(sh, inserted(routes, offer, new(1, 60)), LINE) is not None


def test_break_absorbed_in_waiting_time() -> None:
    # Break 30 min in [600, 700]; committed a (km2) at [720, 730]. New stop at km1 in 600-660,
    # 30 min: the break can be taken before it or after it while waiting for a.
    brk = Break(W(600, 700), 30)
    a = stop("a", 2, 30, W(720, 730))
    routes = CommittedRoutes(LINE, [(shift(breaks=(brk,)), [a])])
    [offer] = routes.recommend(new(1), [W(600, 660)])
    assert offer.start == 600 and offer.position == 0


def test_break_taken_on_the_way_makes_room() -> None:
    # Break 30 min starting exactly at 600; committed c (km 3) must start at 640.
    # New stop at km 1, 30 min, window 560-560: serve 560-590, drive towards c 590-600, lunch on
    # the way 600-630, drive the last 10 min: c at 640. (Breaks only at a place would give 650.)
    # Starting one minute later (561) makes c 641: no offer.
    brk = Break(W(600, 600), 30)
    c = stop("c", 3, 30, W(640, 640))
    routes = CommittedRoutes(LINE, [(shift(breaks=(brk,)), [c])])
    [offer] = routes.recommend(new(1), [W(560, 560)])
    assert (offer.position, offer.start, offer.added_travel) == (0, 560, 0)
    assert routes.recommend(new(1), [W(561, 561)]) == []
    trial = schedule_route(routes.route("s1").shift, inserted(routes, offer, new(1)), LINE)
    assert trial is not None and trial.visits[1].arrival == 640 and trial.breaks[0].start == 600


def test_distinct_windows_keeps_best_shift_per_window_and_k() -> None:
    near = shift("near")
    far = shift("far")
    routes = CommittedRoutes(LINE, [(near, [stop("a", 1, 30, W(480, 900))]), (far, [])])
    windows = [W(540 + 60 * i, 600 + 60 * i) for i in range(5)]
    offers = routes.recommend(new(1), windows, k=3)
    assert len(offers) == 3 and len({o.window for o in offers}) == 3
    assert {o.shift_id for o in offers} == {"near"}  # 0 added travel vs 20 from the office
    both = routes.recommend(new(1), windows[:1], k=5, distinct_windows=False)
    assert [o.shift_id for o in both] == ["near", "far"]


def test_commit_books_the_window_and_rebuilds() -> None:
    routes = CommittedRoutes(LINE, [(shift(), [])])
    [offer] = routes.recommend(new(2), [W(600, 600)])
    index = routes.commit(offer, new(2))
    assert [s.windows for s in index.stops] == [(W(600, 600),)]
    assert routes.recommend(new(2), [W(600, 600)]) == []  # one team cannot be there twice
    with pytest.raises(ValueError):
        routes.commit(offer, new(2))


# ---------------------------------------------------------------- brute force comparison


def _earliest_start(sh: Shift, stops: list[Stop], position: int, x: Stop, w: TimeWindow) -> int | None:
    """Smallest t such that x can start in [w.start, t] at ``position``: binary search."""

    def ok(last: int) -> bool:
        trial = [*stops[:position], replace(x, windows=(W(w.start, last),)), *stops[position:]]
        return schedule_route(sh, trial, MATRIX) is not None

    if not ok(w.end):
        return None
    low, high = w.start, w.end
    while low < high:
        mid = (low + high) // 2
        low, high = (low, mid) if ok(mid) else (mid + 1, high)
    return low


def brute_force(routes: Sequence[tuple[Shift, list[Stop]]], x: Stop, windows: list[TimeWindow], k: int, distinct: bool) -> list[Insertion]:
    found = []
    for sh, stops in routes:
        for w in set(windows):
            options = []
            for position in range(len(stops) + 1):
                start = _earliest_start(sh, stops, position, x, w)
                if start is not None:
                    locs = [sh.start_location, *(s.location for s in stops), sh.end_location]
                    a, b = locs[position], locs[position + 1]
                    added = MATRIX[a][x.location] + MATRIX[x.location][b] - MATRIX[a][b]
                    options.append((added, start, position))
            if options:
                added, start, position = min(options)
                found.append(Insertion(sh.id, w, position, start, added))
    found.sort(key=lambda o: (o.window.day, o.added_travel, o.start, o.shift_id, o.window.start, o.window.end))
    if distinct:
        seen: set[TimeWindow] = set()
        found = [o for o in found if not (o.window in seen or seen.add(o.window))]  # type: ignore[func-returns-value]
    return found[:k]


# Five places with travel times that break the triangle inequality on purpose (0 -> 3 -> 4).
MATRIX = (
    (0, 7, 12, 5, 30),
    (7, 0, 6, 9, 11),
    (12, 6, 0, 4, 8),
    (5, 9, 4, 0, 3),
    (30, 11, 8, 3, 0),
)

window_st = st.builds(lambda s, n: W(s, s + n), st.integers(470, 880), st.integers(0, 120))
stop_st = st.tuples(
    st.integers(1, 4),
    st.integers(5, 60),
    st.lists(window_st, min_size=1, max_size=2),
    st.sampled_from([frozenset(), frozenset({"odgj"})]),
)
shift_st = st.tuples(
    st.integers(0, 1),  # day
    st.integers(540, 960),  # end
    st.lists(st.tuples(st.integers(600, 780), st.integers(0, 60), st.integers(10, 45)), max_size=2),
    st.sampled_from([frozenset(), frozenset({"odgj"})]),
    st.sampled_from([None, 2, 3]),
    st.lists(stop_st, max_size=4),
)


@settings(max_examples=200, deadline=None)
@given(
    shifts=st.lists(shift_st, min_size=1, max_size=3),
    x=stop_st,
    candidate_starts=st.lists(st.tuples(st.integers(0, 1), st.integers(450, 900)), min_size=1, max_size=6),
    length=st.sampled_from([0, 30, 60]),
    k=st.integers(1, 6),
    distinct=st.booleans(),
)
def test_matches_brute_force(
    shifts: list[tuple[Any, ...]],
    x: tuple[Any, ...],
    candidate_starts: list[tuple[int, int]],
    length: int,
    k: int,
    distinct: bool,
) -> None:
    routes = []
    for i, (day, end, breaks, skills, max_visits, stops) in enumerate(shifts):
        base = day * DAY
        sh = Shift(
            f"s{i}",
            f"t{i}",
            day,
            0,
            0,
            base + 480,
            base + end,
            breaks=tuple(Break(W(base + b, base + b + slack), d) for b, slack, d in breaks),
            skills=skills,
            max_visits=max_visits,
        )
        committed = [Stop(f"c{i}.{j}", loc, svc, tuple(W(base + w.start, base + w.end) for w in ws), skills=sk) for j, (loc, svc, ws, sk) in enumerate(stops)]
        routes.append((sh, committed))
    new_stop = Stop("x", x[0], x[1], (), skills=x[3])
    windows = [W(d * DAY + s, d * DAY + s + length) for d, s in candidate_starts]
    expected = brute_force(routes, new_stop, windows, k, distinct)
    index = CommittedRoutes(MATRIX, routes)
    assert index.recommend(new_stop, windows, k=k, distinct_windows=distinct) == expected


def test_insertion_benchmark_fails_above_the_p95_target(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from routing import bench_insertion

    assert bench_insertion.main(["--queries", "30", "--days", "5"]) == 0
    monkeypatch.setattr(bench_insertion, "P95_LIMIT_MS", 0.0)
    assert bench_insertion.main(["--queries", "30", "--days", "5"]) == 1
    assert "FAILED" in capsys.readouterr().out
