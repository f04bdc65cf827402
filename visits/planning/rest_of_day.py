"""The rest of a day from where the team stands (README, "Planner rules").

Once a team has recorded an outcome or reported running late (``visits.field``), its team-day
has a :class:`~visits.models.TeamStand`: the moment it is free again (``free_from``), where it
is (its GPS position, else the last home it visited, else the office) and the visits already
done. The re-planner then plans only the open part of the day, as a shift of its own: it starts
"here, now", keeps only the breaks that can still be taken, and counts the done visits against
the daily limit (``routing.reasons.open_shift``, exactly what the solver does with done stops
that carry their ``done_at``); see :func:`applies` for outcomes synced out of order. The done visits are history: their bookings are no longer
confirmed, so no plan holds them; every confirmed booking keeps its booked window.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import Session, select

import routing
from routing.reasons import ShiftStart, open_shift
from visits.models import TeamStand
from visits.planning.translate import Horizon

# Solver time for the rest of a day (the tablet waits for it, and a sync of many teams queues one
# re-plan per team behind one solver process): a handful of stops in one-hour booked windows with a
# feasible warm start. On the field benchmark's 12 rest-of-day problems (7-8 stops) the solver's
# answer after 10 ms, 0.1 s, 0.5 s and 2 s was the same on every one. The background queue's own
# limit (JEMPUT_REPLAN_TIME_LIMIT_SECONDS) applies when lower.
REST_OF_DAY_TIME_LIMIT = 0.1


@dataclass(frozen=True)
class Standing:
    """Where the team stands: ``point`` None means the office."""

    free_from: int  # absolute minutes on the horizon
    point: tuple[float, float] | None
    done: int
    live: bool = False  # reported live (running late); else where the last synced visit ended


def standing(session: Session, team_day_id: int, horizon: Horizon, day) -> Standing | None:  # noqa: ANN001 - day: date
    row = session.exec(select(TeamStand).where(TeamStand.team_day_id == team_day_id)).first()
    if row is None:
        return None
    point = (row.lat, row.lon) if row.lat is not None and row.lon is not None else None
    return Standing(horizon.minute(day, row.free_from), point, len(row.done), row.live)


def applies(stand: Standing, stops: Sequence[routing.Stop]) -> bool:
    """Whether to plan from ``stand``. A stand that comes from synced outcomes says where the
    team was when its last synced visit ended; a booked visit whose window closed before that has
    its outcome still queued on the tablet (outcomes may arrive out of order), so until it
    arrives the day is planned as before. A live report ("running late") always applies: the
    windows it closes are missed."""
    return stand.live or all(s.windows[-1].end >= stand.free_from for s in stops)


def breaks_left(shift: routing.Shift, start: int) -> tuple[routing.Break, ...]:
    """The breaks that can still be taken from ``start`` (the others count as taken)."""
    return tuple(b for b in shift.breaks if max(b.window.start, start) <= min(b.window.end, shift.end - b.duration))


def rest_of_day(shift: routing.Shift, stand: Standing, here: int | None) -> routing.Shift:
    """``shift`` from where the team stands: start ``stand.free_from`` at location ``here``
    (None: the shift's start, the office), the breaks still to take, the done visits counted."""
    start = min(max(shift.start, stand.free_from), shift.end)
    location = shift.start_location if here is None else here
    return open_shift(shift, ShiftStart(location, start, stand.done, 0, breaks_left(shift, start)))
