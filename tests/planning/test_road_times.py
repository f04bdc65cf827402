"""Road times that scale: OSRM tables in blocks within the server's table size, and pairs kept in
the database (``travel_pair``) so another process (or tomorrow) does not ask again.

The fake OSRM server here enforces ``--max-table-size 100`` as osrm-routed does (sources x
destinations at most 100 x 100, else ``TooBig``) and answers asymmetric durations computed from
the coordinates it was sent, so a matrix assembled from blocks in the wrong places cannot pass.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from sqlalchemy import func, select

from routing.travel import OsrmTravelTimes, Point, _ceil_minutes, decode_polyline, plan_blocks
from visits.models import TravelPair
from visits.planning.travel import TravelPairStore, TravelService, osrm_source, travel_service

LIMIT = 100
ROOT = Path(__file__).resolve().parents[2]


def road_seconds(a: Point, b: Point) -> float:
    """The fake road: Manhattan-ish distance, and uphill (northward) costs 47 s more."""
    metres = 111_000 * (abs(a[0] - b[0]) + abs(a[1] - b[1]))
    return 20.0 + metres / 7.0 + (47.0 if b[0] > a[0] else 0.0)


class FakeOsrm(BaseHTTPRequestHandler):
    requests: list[tuple[int, int]] = []  # (sources, destinations) of each request
    lock = threading.Lock()

    def do_GET(self) -> None:  # noqa: N802 (http.server API)
        url = urlsplit(self.path)
        segment = unquote(url.path.split("/")[-1])
        assert segment.startswith("polyline("), segment[:40]
        coords = decode_polyline(segment[len("polyline(") : -1])
        query = parse_qs(url.query)
        sources = [int(k) for k in query["sources"][0].split(";")] if "sources" in query else list(range(len(coords)))
        destinations = [int(k) for k in query["destinations"][0].split(";")] if "destinations" in query else list(range(len(coords)))
        with type(self).lock:
            type(self).requests.append((len(sources), len(destinations)))
        if len(sources) * len(destinations) > LIMIT * LIMIT:
            self._send(400, {"code": "TooBig", "message": "Too many table coordinates"})
            return
        durations = [[0.0 if i == j else road_seconds(coords[i], coords[j]) for j in destinations] for i in sources]
        self._send(200, {"code": "Ok", "durations": durations})

    def _send(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture()
def osrm() -> Iterator[tuple[str, type[FakeOsrm]]]:
    handler = type("Handler", (FakeOsrm,), {"requests": [], "lock": threading.Lock()})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()


def homes(n: int, seed: int = 7) -> list[Point]:
    """``n`` distinct homes around Kota Mojokerto, on the five-decimal grid."""
    rng = random.Random(seed)
    out: dict[Point, None] = {}
    while len(out) < n:
        out[(round(-7.47 + rng.uniform(-0.03, 0.03), 5), round(112.43 + rng.uniform(-0.03, 0.03), 5))] = None
    return list(out)


def expected(points: list[Point]) -> list[list[int]]:
    return [[0 if i == j else _ceil_minutes(road_seconds(a, b) / 60) for j, b in enumerate(points)] for i, a in enumerate(points)]


def test_blocks_cover_every_wanted_pair_within_the_table_size() -> None:
    rng = random.Random(3)
    for _ in range(40):
        n = rng.randint(2, 400)
        size = rng.choice([1, 3, 10, 100])
        wanted = {(rng.randrange(n), rng.randrange(n)) for _ in range(rng.randint(1, 3000))}
        wanted = {(i, j) for i, j in wanted if i != j}
        blocks = plan_blocks(wanted, size)
        covered = {(i, j) for sources, destinations in blocks for i in sources for j in destinations}
        assert wanted <= covered
        assert all(len(s) * len(d) <= size * size and len(set(s) | set(d)) <= 2 * size for s, d in blocks)


def test_a_new_home_among_known_ones_costs_a_row_and_a_column() -> None:
    n = 900
    new = n  # the new point's index; every pair among the 900 known already
    wanted = [(new, j) for j in range(n)] + [(i, new) for i in range(n)]
    blocks = plan_blocks(wanted, LIMIT)
    assert sum(len(s) * len(d) for s, d in blocks) == 2 * n  # nothing asked twice or needlessly
    assert len(blocks) == 2 * -(-n // (2 * LIMIT - 1))  # 5 requests for its row, 5 for its column


def test_a_900_point_matrix_is_assembled_from_blocks_within_the_limit(osrm: tuple[str, type[FakeOsrm]]) -> None:
    base, handler = osrm
    points = homes(900)
    provider = OsrmTravelTimes(base, max_table_size=LIMIT, timeout=10)
    try:
        m = provider.matrix(points)
    finally:
        provider.close()
    assert m == expected(points)
    assert len(handler.requests) == 81  # 9 x 9 blocks of 100 x 100
    assert all(s * d <= LIMIT * LIMIT for s, d in handler.requests)


def test_a_single_request_over_the_limit_is_refused_by_the_fake(osrm: tuple[str, type[FakeOsrm]]) -> None:
    """The fake really enforces the limit (so the tests above would catch one big request)."""
    base, handler = osrm
    provider = OsrmTravelTimes(base, max_table_size=LIMIT * 2, timeout=10)  # believes the server allows more
    with pytest.raises(Exception, match="TooBig"):
        provider.matrix(homes(150))
    provider.close()


def _stored(db) -> int:
    with db.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(TravelPair)).scalar_one())


def test_road_times_are_stored_and_a_second_process_asks_nothing(db, osrm: tuple[str, type[FakeOsrm]], tmp_path: Path) -> None:
    base, handler = osrm
    points = homes(900)
    first = travel_service(base, max_table_size=LIMIT, engine=db)
    located = first.locate(points)
    assert [[located.matrix[i][j] for j in located.indices] for i in located.indices] == expected(points)
    assert len(handler.requests) == 81
    assert first.store is not None
    first.store.flush()
    assert _stored(db) == 900 * 899

    # Another process, same database: every pair comes from the store, none from the server.
    (tmp_path / "points.json").write_text(json.dumps(points))
    script = (
        "import json, sys\n"
        "from app.db import get_engine\n"
        "from visits.planning.travel import travel_service\n"
        "points = [tuple(p) for p in json.load(open(sys.argv[2]))]\n"
        "located = travel_service(sys.argv[1], max_table_size=100, engine=get_engine).locate(points)\n"
        "print(json.dumps([[located.matrix[i][j] for j in located.indices] for i in located.indices]))\n"
    )
    done = subprocess.run([sys.executable, "-c", script, base, str(tmp_path / "points.json")], cwd=ROOT, env=os.environ.copy(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout) == expected(points)
    assert len(handler.requests) == 81  # nothing asked again

    # The next day, in a fresh service: one new home costs its row and its column, no more.
    fresh = travel_service(base, max_table_size=LIMIT, engine=db)
    more = [*points, (-7.4512, 112.4401)]
    located = fresh.locate(more)
    assert [[located.matrix[i][j] for j in located.indices] for i in located.indices] == expected(more)
    asked = handler.requests[81:]
    assert sum(s * d for s, d in asked) == 2 * 900 and len(asked) == 10
    assert fresh.store is not None
    fresh.store.flush()
    assert _stored(db) == 901 * 900


def test_another_server_never_reuses_these_times(db, osrm: tuple[str, type[FakeOsrm]]) -> None:
    base, handler = osrm
    points = homes(30)
    store = TravelPairStore(db, osrm_source(base))
    TravelService(OsrmTravelTimes(base, max_table_size=LIMIT), store).locate(points)
    store.flush()
    assert osrm_source(base) != osrm_source(base, "foot") != osrm_source("http://elsewhere:5000")
    other = TravelPairStore(db, osrm_source(base, "foot"))
    TravelService(OsrmTravelTimes(base, profile="foot", max_table_size=LIMIT), other).locate(points)
    assert len(handler.requests) == 2  # the second profile asked the server itself
