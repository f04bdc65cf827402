"""Travel-time providers: geodesic sanity, OSRM against a local fake server, caching."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from geopy.distance import geodesic
from hypothesis import given, settings
from hypothesis import strategies as st

from routing.travel import (
    CachedTravelTimes,
    GeodesicTravelTimes,
    OsrmTravelTimes,
    Point,
    TravelTimeError,
    _ceil_minutes,
    decode_polyline,
    encode_polyline,
)

# Kota Mojokerto: city centre, the Dispendukcapil office area, and a house in Kranggan.
CENTRE = (-7.4722, 112.4336)
EAST = (-7.4722, 112.4472)  # ~1.5 km east
SOUTH = (-7.4850, 112.4336)  # ~1.4 km south
POINTS = [CENTRE, EAST, SOUTH]


def test_geodesic_mojokerto_is_a_few_minutes() -> None:
    m = GeodesicTravelTimes().matrix(POINTS)
    # 1.5 km * 1.3 detour / 25 km/h = 4.68 min -> 5
    assert m[0][1] == 5
    assert all(m[i][i] == 0 for i in range(3))
    assert all(m[i][j] == m[j][i] for i in range(3) for j in range(3))
    assert all(2 <= m[i][j] <= 10 for i in range(3) for j in range(3) if i != j)
    # slower and with more detour: longer
    slow = GeodesicTravelTimes(detour=1.6, speed_kmh=15).matrix(POINTS)
    assert slow[0][1] > m[0][1]


def _geopy_minutes(a: Point, b: Point, detour: float, speed: float) -> int:
    """The definition: geopy's geodesic distance times the detour over the speed, rounded up."""
    return _ceil_minutes(geodesic(a, b).km * detour / speed * 60)


_lat = st.floats(-89.0, 89.0)
_lon = st.floats(-180.0, 180.0)
_near = st.floats(-0.05, 0.05)  # up to ~5 km: town distances, where minute boundaries are dense


@settings(max_examples=400, deadline=None)
@given(lat=_lat, lon=_lon, dlat=_near, dlon=_near, detour=st.floats(1.0, 2.0), speed=st.floats(5.0, 80.0))
def test_geodesic_minutes_equal_geopys_for_nearby_points(lat: float, lon: float, dlat: float, dlon: float, detour: float, speed: float) -> None:
    a, b = (lat, lon), (lat + dlat, lon + dlon)
    assert GeodesicTravelTimes(detour, speed).minutes(a, b) == _geopy_minutes(a, b, detour, speed)


@settings(max_examples=300, deadline=None)
@given(a=st.tuples(_lat, _lon), b=st.tuples(_lat, _lon))
def test_geodesic_minutes_equal_geopys_anywhere(a: Point, b: Point) -> None:
    assert GeodesicTravelTimes().minutes(a, b) == _geopy_minutes(a, b, 1.3, 25.0)


def test_geodesic_minutes_on_minute_boundaries_need_the_exact_distance() -> None:
    """Points placed so the distance lands within a few metres of a whole minute (the shortcut's
    band cannot decide those): still exactly geopy's minutes."""
    provider = GeodesicTravelTimes()
    km_per_minute = provider.speed_kmh / 60 / provider.detour
    for minutes in range(1, 40):
        for metres in (-3.0, -0.5, 0.0, 0.5, 3.0):
            east = geodesic(kilometers=minutes * km_per_minute + metres / 1000).destination(CENTRE, 90)
            b = (east.latitude, east.longitude)
            assert provider.minutes(CENTRE, b) == _geopy_minutes(CENTRE, b, provider.detour, provider.speed_kmh)


def test_geodesic_rejects_nonsense_parameters() -> None:
    with pytest.raises(ValueError):
        GeodesicTravelTimes(speed_kmh=0)


# ------------------------------------------------------------------------ fake OSRM server


def osrm_coordinates(segment: str) -> list[Point]:
    """The points of a table request's path segment: ``polyline(...)`` or ``lon,lat;lon,lat``."""
    text = unquote(segment)
    if text.startswith("polyline(") and text.endswith(")"):
        return decode_polyline(text[len("polyline(") : -1])
    return [(float(lat), float(lon)) for lon, lat in (c.split(",") for c in text.split(";"))]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.floats(-89.0, 89.0), st.floats(-179.0, 179.0)), max_size=30))
def test_polyline_round_trips_points_to_five_decimals(points: list[Point]) -> None:
    decoded = decode_polyline(encode_polyline(points))
    assert len(decoded) == len(points)
    assert all(abs(a - c) <= 0.5e-5 + 1e-9 and abs(b - d) <= 0.5e-5 + 1e-9 for (a, b), (c, d) in zip(points, decoded, strict=True))


class FakeOsrm(BaseHTTPRequestHandler):
    mode = "ok"  # set per test through the fixture
    requests: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server API)
        type(self).requests.append(self.path)
        mode = type(self).mode
        if mode == "sleep":
            time.sleep(1.0)
        if mode == "500":
            self._send(500, b"Internal Server Error", "text/plain")
            return
        if mode == "invalid":
            self._send(400, json.dumps({"code": "InvalidQuery", "message": "Query string malformed"}).encode())
            return
        url = urlsplit(self.path)
        coords = osrm_coordinates(url.path.split("/")[-1])
        n = len(coords)
        query = parse_qs(url.query)
        sources = [int(k) for k in query["sources"][0].split(";")] if "sources" in query else list(range(n))
        destinations = [int(k) for k in query["destinations"][0].split(";")] if "destinations" in query else list(range(n))
        durations: list[list[float | None]] = [[0.0 if i == j else 60.0 * abs(i - j) + 0.5 for j in destinations] for i in sources]
        if mode == "null":
            durations[0][n - 1] = None
        body = {"code": "Ok", "durations": durations, "query": parse_qs(url.query)}
        self._send(200, json.dumps(body).encode())

    def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # client gave up (timeout)
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture()
def osrm() -> Iterator[tuple[str, type[FakeOsrm]]]:
    handler = type("Handler", (FakeOsrm,), {"mode": "ok", "requests": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()


def test_osrm_good_table(osrm: tuple[str, type[FakeOsrm]]) -> None:
    base, handler = osrm
    provider = OsrmTravelTimes(base + "/", timeout=2.0)
    m = provider.matrix(POINTS)
    provider.close()
    # 60.5 s -> 2 min (rounded up), 120.5 s -> 3 min
    assert m == [[0, 2, 3], [2, 0, 2], [3, 2, 0]]
    [path] = handler.requests
    assert path.startswith("/table/v1/driving/polyline(")  # compact coordinates
    assert osrm_coordinates(urlsplit(path).path.split("/")[-1]) == POINTS
    assert "annotations=duration" in path


def test_osrm_single_point_needs_no_request(osrm: tuple[str, type[FakeOsrm]]) -> None:
    base, handler = osrm
    assert OsrmTravelTimes(base).matrix([CENTRE]) == [[0]]
    assert handler.requests == []


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("500", "HTTP 500"),
        ("invalid", "code 'InvalidQuery': Query string malformed"),
        ("null", "no route from point 0 to point 2"),
        ("sleep", "did not answer within 0.2 s"),
    ],
)
def test_osrm_failures_raise_clear_errors(osrm: tuple[str, type[FakeOsrm]], mode: str, message: str) -> None:
    base, handler = osrm
    handler.mode = mode
    with pytest.raises(TravelTimeError, match=message):
        OsrmTravelTimes(base, timeout=0.2).matrix(POINTS)


def test_osrm_unreachable_server_raises() -> None:
    # Port 9 on localhost: nothing listens (connection refused).
    with pytest.raises(TravelTimeError, match="request failed"):
        OsrmTravelTimes("http://127.0.0.1:9", timeout=0.5).matrix(POINTS)


def test_osrm_falls_back(osrm: tuple[str, type[FakeOsrm]]) -> None:
    base, handler = osrm
    handler.mode = "500"
    geodesic = GeodesicTravelTimes()
    assert OsrmTravelTimes(base, fallback=geodesic).matrix(POINTS) == geodesic.matrix(POINTS)


# ------------------------------------------------------------------------------ cache


class CountingTravelTimes:
    def __init__(self) -> None:
        self.calls: list[list[Point]] = []
        self.inner = GeodesicTravelTimes()

    def matrix(self, points: Sequence[Point]) -> list[list[int]]:
        self.calls.append(list(points))
        return self.inner.matrix(points)


def test_cache_reuses_matrix_for_same_set_in_any_order() -> None:
    inner = CountingTravelTimes()
    cache = CachedTravelTimes(inner, maxsize=4)
    first = cache.matrix(POINTS)
    assert first == inner.inner.matrix(POINTS)
    assert cache.matrix(POINTS) == first
    shuffled = [SOUTH, CENTRE, EAST]
    assert cache.matrix(shuffled) == inner.inner.matrix(shuffled)
    # Repeats and sub-metre noise are the same set of points.
    noisy = [(CENTRE[0] + 1e-7, CENTRE[1]), EAST, SOUTH, EAST]
    assert cache.matrix(noisy) == inner.inner.matrix([CENTRE, EAST, SOUTH, EAST])
    assert len(inner.calls) == 1


def test_cache_evicts_least_recently_used() -> None:
    inner = CountingTravelTimes()
    cache = CachedTravelTimes(inner, maxsize=1)
    cache.matrix(POINTS)
    cache.matrix(POINTS[:2])
    cache.matrix(POINTS)
    assert len(inner.calls) == 3


def test_cache_in_front_of_osrm(osrm: tuple[str, type[FakeOsrm]]) -> None:
    base, handler = osrm
    cache = CachedTravelTimes(OsrmTravelTimes(base))
    forward = cache.matrix(POINTS)
    backward = cache.matrix(list(reversed(POINTS)))
    assert backward == [[forward[2 - i][2 - j] for j in range(3)] for i in range(3)]
    assert len(handler.requests) == 1
