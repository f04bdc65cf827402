"""Visit planning: plain dataclasses in, a Plan out.

Depends on the standard library, OR-Tools (the model and its local search; GLOP for the capacity
bound), PyVRP (a first search phase whose routes warm-start OR-Tools), and geopy/httpx for travel
times (:mod:`routing.travel`). Never on the web app, the database or ``visits``.

Modules: :mod:`routing.model` (the dataclasses), :mod:`routing.solver` (``solve``/``validate``),
:mod:`routing.schedule` (exact timing of one route and ``check_route``; the break rule),
:mod:`routing.insertion` (slot offers), :mod:`routing.improve` (whole-horizon repair),
:mod:`routing.reasons` (drop reasons, done stops), :mod:`routing.bound` (capacity bound),
:mod:`routing.bench` / :mod:`routing.bench_insertion` (benchmarks).
"""

from routing.model import (
    DROP_MESSAGES,
    MINUTES_PER_DAY,
    Break,
    DroppedStop,
    DropReason,
    Location,
    Pin,
    Plan,
    PlannedBreak,
    PlanStatus,
    Problem,
    ProblemError,
    Route,
    Shift,
    SolveParams,
    Stop,
    Strategy,
    TimeWindow,
    Visit,
)
from routing.solver import solve, validate

__all__ = [
    "MINUTES_PER_DAY",
    "DROP_MESSAGES",
    "Break",
    "DropReason",
    "DroppedStop",
    "Location",
    "Pin",
    "Plan",
    "PlanStatus",
    "PlannedBreak",
    "Problem",
    "ProblemError",
    "Route",
    "Shift",
    "SolveParams",
    "Stop",
    "Strategy",
    "TimeWindow",
    "Visit",
    "solve",
    "validate",
]
