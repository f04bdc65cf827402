"""Travel-time matrices in whole minutes between (lat, lon) points.

Providers share the :class:`TravelTimes` protocol: ``GeodesicTravelTimes`` (offline estimate),
``OsrmTravelTimes`` (an OSRM server's ``table`` service, optionally falling back to another
provider) and ``CachedTravelTimes`` (memoises any provider per set of points).

An OSRM ``table`` request is limited by the server's ``--max-table-size`` (sources x destinations
at most its square; osrm-routed's default is 100): :func:`plan_blocks` covers the pairs wanted with
requests within it, and :meth:`OsrmTravelTimes.seconds` asks only for the pairs wanted, so a new
point among known ones costs one row (and one column) of requests. Coordinates travel as a
polyline (precision 5, about a metre).
"""

from __future__ import annotations

import logging
import math
import threading
from collections import OrderedDict, defaultdict
from collections.abc import Iterable, Sequence
from typing import Protocol
from urllib.parse import quote

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


def encode_polyline(points: Sequence[Point], precision: int = 5) -> str:
    """Google's encoded polyline of ``(lat, lon)`` points (what OSRM reads as ``polyline(...)``)."""
    factor = 10**precision
    out: list[str] = []
    last_lat = last_lon = 0
    for lat, lon in points:
        ilat, ilon = round(lat * factor), round(lon * factor)
        for delta in (ilat - last_lat, ilon - last_lon):
            value = ~(delta << 1) if delta < 0 else delta << 1
            while value >= 0x20:
                out.append(chr((0x20 | (value & 0x1F)) + 63))
                value >>= 5
            out.append(chr(value + 63))
        last_lat, last_lon = ilat, ilon
    return "".join(out)


def decode_polyline(text: str, precision: int = 5) -> list[Point]:
    """The points of an encoded polyline (the inverse of :func:`encode_polyline`)."""
    factor = 10**precision
    values: list[int] = []
    shift = result = 0
    for char in text:
        byte = ord(char) - 63
        result |= (byte & 0x1F) << shift
        shift += 5
        if byte < 0x20:
            values.append(~(result >> 1) if result & 1 else result >> 1)
            shift = result = 0
    points: list[Point] = []
    lat = lon = 0
    for k in range(0, len(values) - 1, 2):
        lat += values[k]
        lon += values[k + 1]
        points.append((lat / factor, lon / factor))
    return points


Block = tuple[list[int], list[int]]  # (sources, destinations): indices into the points


def _chunks(items: list[int], size: int) -> list[list[int]]:
    return [items[k : k + size] for k in range(0, len(items), size)]


def _rectangles(sources: list[int], destinations: list[int], max_table_size: int) -> list[Block]:
    """``sources x destinations`` in blocks of at most ``max_table_size**2`` pairs and at most
    ``2 * max_table_size`` coordinates each (a short URL)."""
    if not sources or not destinations:
        return []

    def widths(short: int, long: int) -> tuple[int, int]:  # the shorter side first, the longer as wide as allowed
        a = min(short, max_table_size)
        return a, min(long, max(1, max_table_size * max_table_size // a), max(1, 2 * max_table_size - a))

    if len(sources) <= len(destinations):
        s, d = widths(len(sources), len(destinations))
    else:
        d, s = widths(len(destinations), len(sources))
    return [(a, b) for a in _chunks(sources, s) for b in _chunks(destinations, d)]


def plan_blocks(wanted: Iterable[tuple[int, int]], max_table_size: int) -> list[Block]:
    """Requests that cover every ordered pair ``(i, j)`` in ``wanted`` (``i != j``), each within
    ``max_table_size`` (sources x destinations <= its square).

    The points that pairs are missing for are covered greedily (most pairs first): their rows go
    in one set of blocks, and the columns toward them of the remaining points in another. A new
    point among many known ones is one row and one column; a cold start is the full table.
    """
    if max_table_size < 1:
        raise ValueError("max_table_size must be at least 1")
    partners: dict[int, set[int]] = defaultdict(set)
    out_of: dict[int, set[int]] = defaultdict(set)
    for i, j in wanted:
        if i != j:
            partners[i].add(j)
            partners[j].add(i)
            out_of[i].add(j)
    cover: set[int] = set()
    for point in sorted(partners, key=lambda p: (-len(partners[p]), p)):
        if partners[point] - cover:
            cover.add(point)
    rest = sorted(i for i in out_of if i not in cover and out_of[i])  # their wanted pairs all end in the cover
    if len(cover) >= len(partners) / 2:  # most points are missing pairs: the whole table, by rows
        cover.update(rest)
        rest = []
    rows = sorted(i for i in cover if out_of[i])
    row_destinations = sorted(set().union(*(out_of[i] for i in rows))) if rows else []
    rest_destinations = sorted(set().union(*(out_of[i] for i in rest))) if rest else []
    return _rectangles(rows, row_destinations, max_table_size) + _rectangles(rest, rest_destinations, max_table_size)


class OsrmTravelTimes:
    """Durations from an OSRM server: ``GET {base}/table/v1/{profile}/polyline(...)``, in blocks
    within ``max_table_size`` (see :func:`plan_blocks`).

    Any failure (HTTP error, timeout, ``code`` other than ``"Ok"``, a ``null`` duration for an
    unroutable pair, a malformed answer) raises :class:`TravelTimeError`, unless a ``fallback``
    provider is given: then the failure is logged and the fallback answers (:meth:`matrix` only).
    """

    def __init__(
        self,
        base_url: str,
        profile: str = "driving",
        timeout: float = 5.0,
        client: httpx.Client | None = None,
        fallback: TravelTimes | None = None,
        max_table_size: int = 100,
    ) -> None:
        if max_table_size < 1:
            raise ValueError("max_table_size must be at least 1")
        self.base_url = base_url.rstrip("/")
        self.profile = profile
        self.timeout = timeout
        self.fallback = fallback
        self.max_table_size = max_table_size
        self._owns_client = client is None
        self._client = client or httpx.Client()

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    def matrix(self, points: Sequence[Point]) -> Matrix:
        n = len(points)
        if n < 2:
            return [[0] for _ in points]
        try:
            seconds = self.seconds(points, ((i, j) for i in range(n) for j in range(n) if i != j))
        except TravelTimeError as error:
            if self.fallback is None:
                raise
            log.warning("OSRM travel times unavailable, using fallback: %s", error)
            return self.fallback.matrix(points)
        out = [[0] * n for _ in range(n)]
        for (i, j), value in seconds.items():
            out[i][j] = _ceil_minutes(value / 60)
        return out

    def seconds(self, points: Sequence[Point], wanted: Iterable[tuple[int, int]]) -> dict[tuple[int, int], float]:
        """Seconds from ``points[i]`` to ``points[j]`` for each wanted pair (and the others its
        blocks brought along); raises :class:`TravelTimeError`."""
        out: dict[tuple[int, int], float] = {}
        for sources, destinations in plan_blocks(wanted, self.max_table_size):
            out.update(self._block(points, sources, destinations))
        return out

    def url(self, points: Sequence[Point]) -> str:
        coordinates = quote(f"polyline({encode_polyline(points)})", safe="()")
        return f"{self.base_url}/table/v1/{self.profile}/{coordinates}"

    def _block(self, points: Sequence[Point], sources: list[int], destinations: list[int]) -> dict[tuple[int, int], float]:
        used = list(dict.fromkeys([*sources, *destinations]))  # the request's coordinates
        where = {p: k for k, p in enumerate(used)}
        url = self.url([points[p] for p in used])
        params = {"annotations": "duration", "sources": ";".join(str(where[p]) for p in sources), "destinations": ";".join(str(where[p]) for p in destinations)}
        try:
            response = self._client.get(url, params=params, timeout=self.timeout)
        except httpx.TimeoutException as error:
            raise TravelTimeError(f"OSRM did not answer within {self.timeout} s ({self.base_url})") from error
        except httpx.HTTPError as error:
            raise TravelTimeError(f"OSRM request failed: {error!r} ({self.base_url})") from error
        body = _json_or_none(response)
        if response.status_code != 200 or not isinstance(body, dict) or body.get("code") != "Ok":
            raise TravelTimeError(_failure(response, body))
        durations = body.get("durations")
        if not isinstance(durations, list) or len(durations) != len(sources) or any(not isinstance(row, list) or len(row) != len(destinations) for row in durations):
            raise TravelTimeError(f"OSRM answer has no {len(sources)}x{len(destinations)} durations table")
        out: dict[tuple[int, int], float] = {}
        for i, row in zip(sources, durations, strict=True):
            for j, value in zip(destinations, row, strict=True):
                if i == j:
                    continue
                if not isinstance(value, (int, float)) or isinstance(value, bool):
                    raise TravelTimeError(f"OSRM found no route from point {i} to point {j}")
                out[i, j] = float(value)
        return out


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
