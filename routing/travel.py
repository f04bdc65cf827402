"""Travel-time matrices in whole minutes between (lat, lon) points.

Providers share the :class:`TravelTimes` protocol: ``GeodesicTravelTimes`` (offline estimate),
``OsrmTravelTimes`` (an OSRM server's ``table`` service, optionally falling back to another
provider) and ``CachedTravelTimes`` (memoises any provider per set of points).
"""

from __future__ import annotations

import logging
import math
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Protocol

import httpx
from geographiclib.geodesic import Geodesic  # type: ignore[import-untyped]
from geopy.distance import ELLIPSOIDS  # type: ignore[import-untyped]

log = logging.getLogger(__name__)

Point = tuple[float, float]  # (lat, lon)
Matrix = list[list[int]]


class TravelTimeError(RuntimeError):
    """Travel times could not be obtained (service down, bad answer, unroutable point...)."""


class TravelTimes(Protocol):
    def matrix(self, points: Sequence[Point]) -> Matrix:
        """Minutes from ``points[i]`` to ``points[j]`` at ``[i][j]``; 0 on the diagonal."""
        ...


def _ceil_minutes(minutes: float) -> int:
    # Round first so that 3.0000000001 (float noise) stays 3.
    return math.ceil(round(minutes, 6))


# geopy's ``geodesic(a, b).km`` builds a Geodesic object and parses two Points on every call;
# this is the very same computation (geographiclib on geopy's WGS-84 ellipsoid, in km, distance
# only), bit for bit, at half the cost: it is the hot path of a slot offer with a cold cache.
_WGS84 = Geodesic(ELLIPSOIDS["WGS-84"][0], ELLIPSOIDS["WGS-84"][2])
_MEAN_RADIUS_KM = 6371.0088
_SPHERE_LOW, _SPHERE_HIGH = 0.994, 1.005  # geodesic / great-circle: measured [0.99442, 1.00449]


def _great_circle_km(a: Point, b: Point) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * _MEAN_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


class GeodesicTravelTimes:
    """Straight-line (WGS-84 geodesic) distance times a detour factor, at a constant speed."""

    def __init__(self, detour: float = 1.3, speed_kmh: float = 25.0) -> None:
        if detour <= 0 or speed_kmh <= 0:
            raise ValueError("detour and speed_kmh must be positive")
        self.detour = detour
        self.speed_kmh = speed_kmh

    def km(self, a: Point, b: Point) -> float:
        return _WGS84.Inverse(a[0], a[1], b[0], b[1], Geodesic.DISTANCE)["s12"]

    def minutes(self, a: Point, b: Point) -> int:
        """Whole minutes for the geodesic distance: exactly ``ceil(km * detour / speed * 60)``.

        Shortcut, still exact: the geodesic lies within [0.9944, 1.0045] times the great-circle
        distance on the mean sphere (for any pair on WGS-84), and rounding up to minutes is
        monotone; when both ends of that band give the same minute, so does the geodesic, and
        the geodesic itself (fifty times dearer) is only computed near a minute's boundary.
        """
        scale = self.detour / self.speed_kmh * 60
        sphere = _great_circle_km(a, b)
        low, high = _ceil_minutes(sphere * _SPHERE_LOW * scale), _ceil_minutes(sphere * _SPHERE_HIGH * scale)
        if low == high:
            return low
        return _ceil_minutes(self.km(a, b) * self.detour / self.speed_kmh * 60)

    def matrix(self, points: Sequence[Point]) -> Matrix:
        n = len(points)
        out = [[0] * n for _ in range(n)]
        for i in range(n):
            for j in range(i + 1, n):
                out[i][j] = out[j][i] = self.minutes(points[i], points[j])
        return out


class OsrmTravelTimes:
    """Durations from an OSRM server: ``GET {base}/table/v1/{profile}/{lon,lat;...}``.

    Any failure (HTTP error, timeout, ``code`` other than ``"Ok"``, a ``null`` duration for an
    unroutable pair, a malformed answer) raises :class:`TravelTimeError`, unless a ``fallback``
    provider is given: then the failure is logged and the fallback answers.
    """

    def __init__(
        self,
        base_url: str,
        profile: str = "driving",
        timeout: float = 5.0,
        client: httpx.Client | None = None,
        fallback: TravelTimes | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.profile = profile
        self.timeout = timeout
        self.fallback = fallback
        self._owns_client = client is None
        self._client = client or httpx.Client()

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    def matrix(self, points: Sequence[Point]) -> Matrix:
        if len(points) < 2:
            return [[0] for _ in points]
        try:
            return self._fetch(points)
        except TravelTimeError as error:
            if self.fallback is None:
                raise
            log.warning("OSRM travel times unavailable, using fallback: %s", error)
            return self.fallback.matrix(points)

    def url(self, points: Sequence[Point]) -> str:
        coordinates = ";".join(f"{lon:.6f},{lat:.6f}" for lat, lon in points)
        return f"{self.base_url}/table/v1/{self.profile}/{coordinates}"

    def _fetch(self, points: Sequence[Point]) -> Matrix:
        url = self.url(points)
        try:
            response = self._client.get(url, params={"annotations": "duration"}, timeout=self.timeout)
        except httpx.TimeoutException as error:
            raise TravelTimeError(f"OSRM did not answer within {self.timeout} s ({url})") from error
        except httpx.HTTPError as error:
            raise TravelTimeError(f"OSRM request failed: {error!r} ({url})") from error
        body = _json_or_none(response)
        if response.status_code != 200 or not isinstance(body, dict) or body.get("code") != "Ok":
            raise TravelTimeError(_failure(response, body))
        return _minutes_matrix(body.get("durations"), len(points))


def _json_or_none(response: httpx.Response) -> object:
    try:
        return response.json()
    except ValueError:
        return None


def _failure(response: httpx.Response, body: object) -> str:
    if isinstance(body, dict):
        code, message = body.get("code"), body.get("message")
    else:
        code, message = None, response.text[:200]
    detail = f": {message}" if message else ""
    return f"OSRM answered HTTP {response.status_code} with code {code!r}{detail}"


def _minutes_matrix(durations: object, n: int) -> Matrix:
    if not isinstance(durations, list) or len(durations) != n or any(not isinstance(row, list) or len(row) != n for row in durations):
        raise TravelTimeError(f"OSRM answer has no {n}x{n} durations table")
    out = [[0] * n for _ in range(n)]
    for i, row in enumerate(durations):
        for j, seconds in enumerate(row):
            if seconds is None:
                raise TravelTimeError(f"OSRM found no route from point {i} to point {j}")
            out[i][j] = 0 if i == j else _ceil_minutes(seconds / 60)
    return out


class CachedTravelTimes:
    """Least-recently-used cache of matrices, keyed by the *set* of points.

    Points are rounded to ``precision`` decimal degrees (5: about 1 m). The same points in
    another order, or with repeats, reuse the cached matrix, permuted. Thread-safe.
    """

    def __init__(self, inner: TravelTimes, maxsize: int = 256, precision: int = 5) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        self.inner = inner
        self.maxsize = maxsize
        self.precision = precision
        self._cache: OrderedDict[tuple[Point, ...], Matrix] = OrderedDict()
        self._lock = threading.Lock()

    def matrix(self, points: Sequence[Point]) -> Matrix:
        rounded = [(round(lat, self.precision), round(lon, self.precision)) for lat, lon in points]
        key = tuple(sorted(set(rounded)))
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
        if cached is None:
            cached = self.inner.matrix(list(key))
            with self._lock:
                self._cache[key] = cached
                while len(self._cache) > self.maxsize:
                    self._cache.popitem(last=False)
        where = {point: i for i, point in enumerate(key)}
        rows = [where[p] for p in rounded]
        return [[cached[i][j] for j in rows] for i in rows]
