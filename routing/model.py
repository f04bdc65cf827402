"""Plain data for the planner: frozen dataclasses in, a Plan out.

Times are absolute minutes on one horizon (minute 0 = midnight of the horizon's first day;
day d starts at d * 1440). Durations are whole minutes. The duration matrix is indexed by
location index: ``problem.locations[i]`` is row/column ``i``.

This module imports nothing outside the standard library.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

MINUTES_PER_DAY = 1440


class ProblemError(ValueError):
    """The problem is malformed (negative duration, inverted window, matrix of wrong size...)."""


@dataclass(frozen=True)
class Location:
    """A place. ``lat``/``lon`` are informational; travel comes from the matrix."""

    index: int  # row/column in Problem.durations
    lat: float | None = None
    lon: float | None = None


@dataclass(frozen=True)
class TimeWindow:
    start: int  # absolute minutes, inclusive: service may start at `start` ...
    end: int  # ... and must start no later than `end`

    @property
    def day(self) -> int:
        return self.start // MINUTES_PER_DAY


@dataclass(frozen=True)
class Pin:
    """Keep a stop on a given shift, optionally ordered by ``position`` among the shift's pinned stops.

    ``position`` orders the pinned stops among themselves (a stop pinned at 0 comes before one
    pinned at 1, even when a stop between them is dropped); free stops may still be placed
    before, between or after them. It is not an absolute index in the route. Done stops use it
    for their visiting order when they carry no ``done_at``.
    """

    shift_id: str
    position: int | None = None


@dataclass(frozen=True)
class Stop:
    id: str
    location: int  # index into Problem.durations
    service: int  # minutes on site
    windows: tuple[TimeWindow, ...]  # one or more allowed windows for the service start
    skills: frozenset[str] = frozenset()  # the team must have all of these
    priority: int = 1  # higher is more important (used for drop penalties)
    required: bool = False  # a booked visit: kept whenever feasible, dropped only as last resort
    pin: Pin | None = None
    done: bool = False  # already visited (re-planning a day): kept first, in pin order, not moved
    # For a done stop: the minute its service started. Then the done stops are history (never
    # re-timed) and the shift's start/start_location are where the team stands now (see
    # routing.reasons); without it, done stops are laid back to back from the shift start.
    done_at: int | None = None
    demand: int = 0  # load units taken from the team's capacity (0 for E-KTP visits)


@dataclass(frozen=True)
class Break:
    window: TimeWindow  # the break must start inside this window
    duration: int


@dataclass(frozen=True)
class Shift:
    """One team on one day: a vehicle."""

    id: str
    team: str
    day: int  # day index on the horizon
    start_location: int
    end_location: int
    start: int  # absolute minutes
    end: int  # absolute minutes: back at end_location no later than this
    breaks: tuple[Break, ...] = ()
    skills: frozenset[str] = frozenset()
    max_visits: int | None = None
    capacity: int | None = None  # total Stop.demand the shift can take (None: unlimited)


@dataclass(frozen=True)
class Problem:
    stops: tuple[Stop, ...]
    shifts: tuple[Shift, ...]
    durations: tuple[tuple[int, ...], ...]  # minutes, square, indexed by location
    # Optional cost of driving i -> j when it differs from the duration (e.g. distance); same shape.
    arc_costs: tuple[tuple[int, ...], ...] | None = None
    locations: tuple[Location, ...] = ()  # optional coordinates, informational (used as search hints)


class Strategy(str, Enum):
    AUTO = "auto"
    PARALLEL_CHEAPEST_INSERTION = "parallel_cheapest_insertion"
    PATH_CHEAPEST_ARC = "path_cheapest_arc"
    LOCAL_CHEAPEST_INSERTION = "local_cheapest_insertion"


@dataclass(frozen=True)
class SolveParams:
    time_limit: float = 5.0  # seconds
    seed: int = 0
    strategy: Strategy = Strategy.AUTO
    # Search budget in iterations. None: stop on time_limit only (result may vary with machine
    # load). Set it for a reproducible plan: the search then stops after this many iterations
    # (time_limit stays a safety cap).
    iterations: int | None = None


class DropReason(str, Enum):
    NO_SKILL = "no_skill"  # no team has the skill
    NO_SHIFT_OVERLAP = "no_shift_overlap"  # no window overlaps any shift
    UNREACHABLE = "unreachable"  # unreachable in its window even straight from the office
    CAPACITY = "capacity"  # every fitting team-day is full
    PRIORITY = "priority"  # left out for higher-priority visits


DROP_MESSAGES: dict[DropReason, dict[str, str]] = {
    DropReason.NO_SKILL: {
        "id": "Tidak ada tim dengan keahlian yang dibutuhkan kunjungan ini; tugaskan petugas yang sesuai.",
        "en": "No team has the skill this visit needs; assign a suitable officer.",
    },
    DropReason.NO_SHIFT_OVERLAP: {
        "id": "Tidak ada jam kerja tim yang beririsan dengan waktu yang diminta; tawarkan waktu lain kepada keluarga.",
        "en": "No team shift overlaps the requested times; offer the family other times.",
    },
    DropReason.UNREACHABLE: {
        "id": "Tidak terjangkau dalam rentang waktunya meskipun berangkat langsung dari kantor; perlebar rentang waktu.",
        "en": "Unreachable within its window even straight from the office; widen the window.",
    },
    DropReason.CAPACITY: {
        "id": "Semua jadwal tim yang cocok sudah penuh; tambah tim atau hari layanan.",
        "en": "Every fitting team-day is full; add a team or a service day.",
    },
    DropReason.PRIORITY: {
        "id": "Ditunda karena ada kunjungan dengan prioritas lebih tinggi; jadwalkan ulang.",
        "en": "Left out for higher-priority visits; reschedule it.",
    },
}


@dataclass(frozen=True)
class Visit:
    stop_id: str
    arrival: int
    start: int  # service start
    end: int  # service end
    waiting: int  # start - arrival


@dataclass(frozen=True)
class PlannedBreak:
    start: int
    end: int


@dataclass(frozen=True)
class Route:
    shift_id: str
    visits: tuple[Visit, ...]
    breaks: tuple[PlannedBreak, ...]
    start: int  # leaves start_location
    end: int  # arrives at end_location
    travel: int  # minutes driving
    duration: int  # end - start


@dataclass(frozen=True)
class DroppedStop:
    stop_id: str
    reason: DropReason

    def message(self, lang: str = "id") -> str:
        return DROP_MESSAGES[self.reason].get(lang, DROP_MESSAGES[self.reason]["id"])


class PlanStatus(str, Enum):
    OPTIMAL = "optimal"
    FEASIBLE = "feasible"  # a plan (possibly with drops) was found
    TIMEOUT_FALLBACK = "fallback"  # nothing better than the initial/greedy plan


@dataclass(frozen=True)
class Plan:
    routes: tuple[Route, ...]
    dropped: tuple[DroppedStop, ...]
    objective: int
    status: PlanStatus
    runtime_s: float
    meta: dict = field(default_factory=dict, compare=False)

    def route(self, shift_id: str) -> Route | None:
        for r in self.routes:
            if r.shift_id == shift_id:
                return r
        return None
