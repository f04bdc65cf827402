"""Travel times for the domain, over location indices that stay put.

The planner's insertion query only looks at a few pairs (neighbours in a route and the new
home). With the default geodesic provider a :class:`TravelService` keeps one lazily filled
matrix over every point it has been asked about: a point keeps its index for the life of the
service, each pair is computed when first asked for and kept, and a route indexed once
(``routing.insertion.RouteIndex``) stays valid for the next request: :attr:`Located.routes`
is where the domain keeps those (see ``visits.booking.slots.build_world``).

With OSRM (road times, asymmetric) a :class:`RoadMatrix` plays the same part: points keep their
indices, and each pair is filled once, from the database first (:class:`TravelPairStore`, table
``travel_pair``: shared by every process and kept across days) and only then from the server, in
blocks within its table size (``routing.travel.plan_blocks``): a new home among the known ones
costs one row and one column of requests. The store and the in-process matrix are both caches,
safe to lose.
"""

from __future__ import annotations

import hashlib
import logging
import queue
import threading
from collections.abc import Callable, Iterable, MutableMapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine

from routing.travel import CachedTravelTimes, GeodesicTravelTimes, OsrmTravelTimes, TravelTimeError, TravelTimes, _ceil_minutes
from visits.planning.models import TravelPair

log = logging.getLogger("jemput.travel")

Point = tuple[float, float]

_PAIRS_MAX = 500_000  # memoised pairs per service (about 50 MB); cleared beyond
_ROUTES_MAX = 4_096  # route indexes kept per service; cleared beyond
_ROAD_POINTS_MAX = 4_000  # points of a RoadMatrix (n^2 minutes in memory); started afresh beyond
_QUERY_CHUNK = 400  # points per IN list when reading stored pairs
_UNKNOWN = -1


def _key(p: Point) -> Point:
    """Points closer than about a metre are one place (travel 0 between them)."""
    return (round(p[0], 5), round(p[1], 5))


def point_key(p: Point) -> int:
    """One integer for a point rounded to five decimals (the store's ``origin`` / ``destination``)."""
    lat, lon = round(p[0] * 100_000), round(p[1] * 100_000)
    return (lat + 9_000_000) * 40_000_000 + (lon + 18_000_000)


class TravelPairStore:
    """Road travel times in the database (``travel_pair``), shared by every process.

    :meth:`load` reads in a short transaction of its own. :meth:`save` hands the pairs to a
    writer thread (a lookup runs inside a request's transaction, which on SQLite holds the write
    lock): :meth:`flush` waits for it. A failed write is logged and forgotten: the pairs are
    asked again some day.
    """

    def __init__(self, engine: Engine | Callable[[], Engine], source: str) -> None:
        self._engine = engine
        self.source = source[:40]
        self._queue: queue.Queue[dict[tuple[int, int], float]] = queue.Queue()
        self._writer: threading.Thread | None = None
        self._lock = threading.Lock()

    def _bind(self) -> Engine:
        return self._engine if isinstance(self._engine, Engine) else self._engine()

    def load(self, origins: Iterable[int], destinations: Iterable[int]) -> dict[tuple[int, int], float]:
        """Stored seconds between any of ``origins`` and any of ``destinations``."""
        froms, tos = sorted(set(origins)), sorted(set(destinations))
        out: dict[tuple[int, int], float] = {}
        pair = TravelPair.__table__  # type: ignore[attr-defined]
        with self._bind().connect() as conn:
            for a in range(0, len(froms), _QUERY_CHUNK):
                for b in range(0, len(tos), _QUERY_CHUNK):
                    query = select(pair.c.origin, pair.c.destination, pair.c.seconds).where(
                        pair.c.source == self.source, pair.c.origin.in_(froms[a : a + _QUERY_CHUNK]), pair.c.destination.in_(tos[b : b + _QUERY_CHUNK])
                    )
                    out.update({(int(o), int(d)): float(sec) for o, d, sec in conn.execute(query)})
        return out

    def save(self, pairs: dict[tuple[int, int], float]) -> None:
        if not pairs:
            return
        with self._lock:
            if self._writer is None or not self._writer.is_alive():
                self._writer = threading.Thread(target=self._write_loop, name="travel-pairs", daemon=True)
                self._writer.start()
        self._queue.put(pairs)

    def flush(self) -> None:
        """Wait until every pair handed to :meth:`save` is written (or its write failed)."""
        self._queue.join()

    def _write_loop(self) -> None:
        while True:
            pairs = self._queue.get()
            try:
                self._write(pairs)
            except Exception as exc:  # noqa: BLE001 - a cache: the pairs are asked again later
                log.warning("travel pairs not stored (%s)", type(exc).__name__)
            finally:
                self._queue.task_done()

    def _write(self, pairs: dict[tuple[int, int], float]) -> None:
        engine = self._bind()
        insert = pg_insert if engine.dialect.name == "postgresql" else sqlite_insert
        rows = [{"source": self.source, "origin": o, "destination": d, "seconds": sec} for (o, d), sec in pairs.items()]
        with engine.begin() as conn:
            for k in range(0, len(rows), 2_000):
                conn.execute(insert(TravelPair).on_conflict_do_nothing(), rows[k : k + 2_000])


class RoadMatrix(Sequence):
    """``m[i][j]``: minutes from registered point ``i`` to point ``j`` (not symmetric), each pair
    filled once by :meth:`locate`, from the store when it has it, else from OSRM."""

    def __init__(self, provider: OsrmTravelTimes, store: TravelPairStore | None = None) -> None:
        self.provider = provider
        self.store = store
        self.points: list[Point] = []
        self._where: dict[Point, int] = {}
        self._rows: list[list[int]] = []
        self._lock = threading.Lock()
        self.asked = 0  # pairs asked of the server (for tests and diagnostics)

    def _index(self, point: Point) -> int:
        key = _key(point)
        found = self._where.get(key)
        if found is None:
            found = len(self.points)
            self.points.append(key)
            for row in self._rows:
                row.append(_UNKNOWN)
            self._rows.append([_UNKNOWN] * found + [0])
            self._where[key] = found
        return found

    def locate(self, points: Sequence[Point]) -> list[int] | None:
        """The points' indices, every pair among them filled; None when the matrix is full (start a new one)."""
        with self._lock:
            if len(self.points) + len(points) > _ROAD_POINTS_MAX:
                return None
            indices = [self._index(p) for p in points]
            wanted = sorted(set(indices))
            missing = self._missing(wanted)
        if missing:
            self._fill(missing)
        return indices

    def _missing(self, wanted: list[int]) -> list[tuple[int, int]]:
        if len(wanted) < 2:
            return []
        pick = itemgetter(*wanted)
        missing: list[tuple[int, int]] = []
        for i in wanted:
            values = pick(self._rows[i])
            if _UNKNOWN in values:
                missing.extend((i, j) for j, v in zip(wanted, values, strict=True) if v == _UNKNOWN)
        return missing

    def _fill(self, missing: list[tuple[int, int]]) -> None:
        found: dict[tuple[int, int], float] = {}
        if self.store is not None:
            keys = {i: point_key(self.points[i]) for pair in missing for i in pair}
            try:
                stored = self.store.load({keys[i] for i, _ in missing}, {keys[j] for _, j in missing})
            except Exception as exc:  # noqa: BLE001 - the store is a cache: ask the server
                log.warning("stored travel pairs unreadable (%s)", type(exc).__name__)
                stored = {}
            for i, j in missing:
                value = stored.get((keys[i], keys[j]))
                if value is not None:
                    found[i, j] = value
        rest = [pair for pair in missing if pair not in found]
        asked: dict[tuple[int, int], float] = {}
        if rest:
            local = sorted({i for pair in rest for i in pair})
            position = {p: k for k, p in enumerate(local)}
            answer = self.provider.seconds([self.points[p] for p in local], [(position[i], position[j]) for i, j in rest])  # raises TravelTimeError
            asked = {(local[a], local[b]): sec for (a, b), sec in answer.items()}
            self.asked += len(asked)
        with self._lock:
            for (i, j), sec in (found | asked).items():
                self._rows[i][j] = _ceil_minutes(sec / 60)
        if asked and self.store is not None:
            self.store.save({(point_key(self.points[i]), point_key(self.points[j])): sec for (i, j), sec in asked.items()})

    def __getitem__(self, i: int) -> list[int]:  # type: ignore[override]
        return self._rows[i]

    def __len__(self) -> int:
        return len(self._rows)


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

    def __init__(self, provider: TravelTimes | None = None, store: TravelPairStore | None = None) -> None:
        self.provider = provider or GeodesicTravelTimes()
        self.store = store
        self._shared: LazyMatrix | None = None
        self._road: RoadMatrix | None = None
        self._cached: CachedTravelTimes | None = None
        if isinstance(self.provider, GeodesicTravelTimes):
            self._shared = LazyMatrix(self.provider)
        elif isinstance(self.provider, OsrmTravelTimes):
            self._road = RoadMatrix(self.provider, store)
        else:
            self._cached = CachedTravelTimes(self.provider)
        self._routes: dict[Any, Any] = {}

    def locate(self, points: Sequence[Point]) -> Located:
        """A matrix on which ``points[k]`` is location ``indices[k]``."""
        if len(self._routes) > _ROUTES_MAX:
            self._routes.clear()
        if self._shared is not None:
            return Located(self._shared, [self._shared.index(p) for p in points], self._routes)
        if self._road is not None:
            return self._locate_road(points)
        return Located(self._cached.matrix(points), list(range(len(points))), {})  # type: ignore[union-attr]

    def _locate_road(self, points: Sequence[Point]) -> Located:
        road = self._road
        assert road is not None and isinstance(self.provider, OsrmTravelTimes)
        try:
            indices = road.locate(points)
            if indices is None:  # full: start afresh (the store keeps what was asked)
                road = self._road = RoadMatrix(self.provider, self.store)
                self._routes = {}
                indices = road.locate(points)
                if indices is None:
                    raise TravelTimeError(f"{len(points)} points are more than a road matrix holds")
        except TravelTimeError as error:
            if self.provider.fallback is None:
                raise
            log.warning("OSRM travel times unavailable, using fallback: %s", error)
            return Located(self.provider.fallback.matrix(points), list(range(len(points))), {})
        return Located(road, indices, self._routes)

    def forget(self) -> None:
        """Drop every memoised pair and route (a cold start, e.g. for a benchmark)."""
        if self._shared is not None:
            self._shared = LazyMatrix(self.provider)  # type: ignore[arg-type]
        if self._road is not None:
            self._road = RoadMatrix(self._road.provider, self.store)
        self._routes = {}


def osrm_source(osrm_url: str, profile: str = "driving") -> str:
    """The store's name for an OSRM server and profile (another server's times are never mixed in)."""
    return "osrm:" + hashlib.sha256(f"{osrm_url.rstrip('/')}|{profile}".encode()).hexdigest()[:32]


def travel_service(
    osrm_url: str = "",
    detour: float = 1.3,
    speed_kmh: float = 25.0,
    *,
    max_table_size: int = 100,
    engine: Engine | Callable[[], Engine] | None = None,
) -> TravelService:
    """The geodesic estimate (default), or OSRM road times kept in ``engine``'s ``travel_pair`` table."""
    if osrm_url:
        store = TravelPairStore(engine, osrm_source(osrm_url)) if engine is not None else None
        return TravelService(OsrmTravelTimes(osrm_url, max_table_size=max_table_size), store)
    return TravelService(GeodesicTravelTimes(detour=detour, speed_kmh=speed_kmh))
