"""Travel times for the domain: a lazily filled, memoised matrix over the planner's locations.

The planner's insertion query only looks at a few pairs (neighbours in a route and the new
home), so with the default geodesic provider each pair is computed when first asked for and
kept for the life of the process. A provider that answers whole tables (OSRM) is asked once
per set of locations instead (``routing.travel.CachedTravelTimes``).
"""

from __future__ import annotations

from collections.abc import Sequence

from geographiclib.geodesic import Geodesic
from geopy.distance import ELLIPSOIDS

from routing.travel import CachedTravelTimes, GeodesicTravelTimes, OsrmTravelTimes, TravelTimes, _ceil_minutes

Point = tuple[float, float]

_PAIR_CACHE: dict[tuple[Point, Point], int] = {}
_PAIR_CACHE_MAX = 500_000


# geopy's ``geodesic(a, b).km`` builds a Geodesic object and parses two Points on every call
# (half of an offer's travel-time cost with a cold cache); this is the very same computation
# (geographiclib on geopy's WGS-84 ellipsoid in km, distance only), bit for bit.
_GEOPY_WGS84 = Geodesic(ELLIPSOIDS["WGS-84"][0], ELLIPSOIDS["WGS-84"][2])
_DISTANCE = Geodesic.DISTANCE


def _geodesic_minutes(provider: GeodesicTravelTimes):  # noqa: ANN202
    detour, speed = provider.detour, provider.speed_kmh

    def minutes(a: Point, b: Point) -> int:
        km = _GEOPY_WGS84.Inverse(a[0], a[1], b[0], b[1], _DISTANCE)["s12"]
        return _ceil_minutes(km * detour / speed * 60)

    return minutes


def _key(p: Point) -> Point:
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
    """``m[i][j]``: minutes from ``points[i]`` to ``points[j]``, computed on first use."""

    def __init__(self, points: Sequence[Point], provider: GeodesicTravelTimes) -> None:
        self.points = [_key(p) for p in points]
        self._provider = provider
        # exactly GeodesicTravelTimes (not a subclass that may compute differently): the fast path
        self._minutes = _geodesic_minutes(provider) if type(provider) is GeodesicTravelTimes else provider.minutes
        self._rows = [_LazyRow(self, i) for i in range(len(self.points))]

    def minutes(self, i: int, j: int) -> int:
        if i == j:
            return 0
        a, b = self.points[i], self.points[j]
        if a == b:
            return 0
        key = (a, b) if a <= b else (b, a)
        value = _PAIR_CACHE.get(key)
        if value is None:
            if len(_PAIR_CACHE) > _PAIR_CACHE_MAX:
                _PAIR_CACHE.clear()
            value = _PAIR_CACHE[key] = self._minutes(a, b)
        return value

    def __getitem__(self, i):  # type: ignore[override]
        return self._rows[i]

    def __len__(self) -> int:
        return len(self._rows)

    def dense(self) -> tuple[tuple[int, ...], ...]:
        n = len(self.points)
        return tuple(tuple(self.minutes(i, j) for j in range(n)) for i in range(n))


class TravelService:
    """Matrices for a list of points, from the configured provider."""

    def __init__(self, provider: TravelTimes | None = None) -> None:
        self.provider = provider or GeodesicTravelTimes()
        self._cached = None if isinstance(self.provider, GeodesicTravelTimes) else CachedTravelTimes(self.provider)

    def matrix(self, points: Sequence[Point]) -> Sequence[Sequence[int]]:
        if self._cached is None:
            return LazyMatrix(points, self.provider)  # type: ignore[arg-type]
        return self._cached.matrix(points)


def travel_service(osrm_url: str = "", detour: float = 1.3, speed_kmh: float = 25.0) -> TravelService:
    if osrm_url:
        return TravelService(OsrmTravelTimes(osrm_url))
    return TravelService(GeodesicTravelTimes(detour=detour, speed_kmh=speed_kmh))
