"""Travel times for the domain, over location indices that stay put.

The planner's insertion query only looks at a few pairs (neighbours in a route and the new
home). With the default geodesic provider a :class:`TravelService` keeps one lazily filled
matrix over every point it has been asked about: a point keeps its index for the life of the
service, each pair is computed when first asked for and kept, and a route indexed once
(``routing.insertion.RouteIndex``) stays valid for the next request: :attr:`Located.routes`
is where the domain keeps those (see ``visits.booking.slots.build_world``).

A provider that answers whole tables (OSRM) is asked once per set of points instead
(``routing.travel.CachedTravelTimes``); its indices are local to one call, so nothing is kept
between calls.
"""

from __future__ import annotations

import threading
from collections.abc import MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any

from routing.travel import CachedTravelTimes, GeodesicTravelTimes, OsrmTravelTimes, TravelTimes

Point = tuple[float, float]

_PAIRS_MAX = 500_000  # memoised pairs per service (about 50 MB); cleared beyond
_ROUTES_MAX = 4_096  # route indexes kept per service; cleared beyond


def _key(p: Point) -> Point:
    """Points closer than about a metre are one place (travel 0 between them)."""
    return (round(p[0], 5), round(p[1], 5))


class _LazyRow:
    __slots__ = ("_matrix", "_i")

    def __init__(self, matrix: LazyMatrix, i: int) -> None:
        self._matrix = matrix
        self._i = i

    def __getitem__(self, j: int) -> int:
        return self._matrix.minutes(self._i, j)

    def __len__(self) -> int:
        return len(self._matrix.points)


class LazyMatrix(Sequence):
    """``m[i][j]``: minutes between registered points ``i`` and ``j``, computed on first use.

    :meth:`index` registers a point (or finds it) and returns its index, which never changes.
    Safe to share between threads: registration takes a lock, lookups need none.
    """

    def __init__(self, provider: GeodesicTravelTimes) -> None:
        self.points: list[Point] = []
        self._where: dict[Point, int] = {}
        self._rows: list[_LazyRow] = []
        self._minutes = provider.minutes
        self._pairs: dict[int, int] = {}  # (low index << 32 | high index) -> minutes (the provider is symmetric)
        self._lock = threading.Lock()

    def index(self, point: Point) -> int:  # type: ignore[override]
        key = _key(point)
        found = self._where.get(key)
        if found is not None:
            return found
        with self._lock:
            found = self._where.get(key)
            if found is None:
                found = len(self.points)
                self.points.append(key)
                self._rows.append(_LazyRow(self, found))
                self._where[key] = found
        return found

    def minutes(self, i: int, j: int) -> int:
        if i == j:
            return 0
        pair = (i << 32 | j) if i < j else (j << 32 | i)
        value = self._pairs.get(pair)
        if value is None:
            if len(self._pairs) > _PAIRS_MAX:
                self._pairs.clear()
            value = self._pairs[pair] = self._minutes(self.points[i], self.points[j])
        return value

    def __getitem__(self, i: int) -> _LazyRow:  # type: ignore[override]
        return self._rows[i]

    def __len__(self) -> int:
        return len(self._rows)


@dataclass(frozen=True)
class Located:
    """A matrix covering some points, each point's index on it, and the route indexes kept for it."""

    matrix: Sequence[Sequence[int]]
    indices: list[int]
    routes: MutableMapping[Any, Any]


class TravelService:
    """Travel-time matrices from the configured provider (see the module doc)."""

    def __init__(self, provider: TravelTimes | None = None) -> None:
        self.provider = provider or GeodesicTravelTimes()
        if isinstance(self.provider, GeodesicTravelTimes):
            self._shared: LazyMatrix | None = LazyMatrix(self.provider)
            self._cached: CachedTravelTimes | None = None
        else:
            self._shared = None
            self._cached = CachedTravelTimes(self.provider)
        self._routes: dict[Any, Any] = {}

    def locate(self, points: Sequence[Point]) -> Located:
        """A matrix on which ``points[k]`` is location ``indices[k]``."""
        if self._shared is not None:
            if len(self._routes) > _ROUTES_MAX:
                self._routes.clear()
            return Located(self._shared, [self._shared.index(p) for p in points], self._routes)
        return Located(self._cached.matrix(points), list(range(len(points))), {})  # type: ignore[union-attr]

    def forget(self) -> None:
        """Drop every memoised pair and route (a cold start, e.g. for a benchmark)."""
        if self._shared is not None:
            self._shared = LazyMatrix(self.provider)  # type: ignore[arg-type]
        self._routes = {}


def travel_service(osrm_url: str = "", detour: float = 1.3, speed_kmh: float = 25.0) -> TravelService:
    if osrm_url:
        return TravelService(OsrmTravelTimes(osrm_url))
    return TravelService(GeodesicTravelTimes(detour=detour, speed_kmh=speed_kmh))
