"""Offer and confirm latency through the real web application: ``python -m app.bench_booking``.

1. A fresh SQLite database in a temporary folder (``JEMPUT_DATA_DIR``/``JEMPUT_DATABASE_URL``
   are set before the application is imported), migrated with ``app.migrate.upgrade``.
2. The Kota Mojokerto service area, office and calendar (``visits.intake.service_area``,
   ``visits.demo``), 10 teams (two with the ODGJ skill), a daily limit of 14 visits.
3. A background load of about 10 booked visits per team on each of the next 10 working days
   (Friday shifts are 3 hours: fewer), so that the ≥ 200 measured confirmations still find room
   and end the run at about 12 per team-day (7-hour shifts are then nearly full). They are built feasibly but quickly: the homes are inserted
   one by one into ``routing.insertion.CommittedRoutes`` (the same exact insertion check the
   offers use) and written as ``Booking`` rows, each team-day with a current ``Plan`` in the
   committed route's order (as the re-planner leaves it); everything is then read back with
   ``visits.booking.slots.build_world`` and every team-day re-checked with ``schedule_route``.
4. ``--requests`` (default 240) new eligible requests with tracking tokens (only the SHA-256
   is stored, as ``visits.intake.tracking`` does), varied availability, every sixth one ODGJ.
5. The application (``app.main.create_app``) served by uvicorn on 127.0.0.1 (a free port) in
   a thread of this process, ONE worker; an ``httpx`` client posts, one request at a time,
   ``/api/v1/track/{token}/offers`` and then ``/api/v1/track/{token}/confirm`` with the
   first offer. The first ``--warmup`` requests are not counted.
   ``--replan on`` (default) keeps the application's background re-planning (each confirmation
   queues a solve of its team-day in a worker thread of the same process, as deployed);
   ``--replan off`` measures the booking path alone.

Prints p50/p95/max per endpoint, the status codes and the machine. Targets: offer p95 ≤ 150 ms,
confirm p95 ≤ 100 ms (exit status 1 when missed; ``--profile`` adds a cProfile of the server
side of both endpoints).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time as clock
from datetime import date, datetime, time, timedelta
from pathlib import Path

from app.bench_common import Report, ServerProfile, environment

OFFER_P95_TARGET_MS = 150.0
CONFIRM_P95_TARGET_MS = 100.0
TEAMS = 10
ODGJ_TEAMS = (3, 8)  # 1-based team numbers with the ODGJ skill
VISITS_PER_TEAM_DAY = 10  # background; the measured confirmations bring Monday-Thursday to about 12
DAYS = 10
MAX_VISITS_PER_DAY = 14


# ---------------------------------------------------------------- data


def _setup_area(session) -> list[int]:  # noqa: ANN001
    from sqlmodel import select

    from visits.demo import ensure_calendar, ensure_teams
    from visits.intake.service_area import KOTA_MOJOKERTO_CENTRE, ensure_office, ensure_service_area
    from visits.models import RecordingKit, Team, TeamSkill

    ensure_service_area(session)
    ensure_office(session, "Dispendukcapil", "Kota Mojokerto", *KOTA_MOJOKERTO_CENTRE)
    ensure_teams(session)  # Tim 1, Tim 2, Tim 3 (ODGJ)
    ensure_calendar(session)
    for n in range(4, TEAMS + 1):
        if session.exec(select(Team).where(Team.name == f"Tim {n}")).first() is None:
            team = Team(name=f"Tim {n}")
            session.add(team)
            session.flush()
            session.add(RecordingKit(code=f"KIT-{n:02d}", team_id=team.id))
            if n in ODGJ_TEAMS:
                session.add(TeamSkill(team_id=team.id, skill="odgj"))
    teams = session.exec(select(Team).order_by(Team.id)).all()
    for team in teams:
        team.max_visits_per_day = MAX_VISITS_PER_DAY
    session.flush()
    return [t.id for t in teams]


def _new_resident(session, rng: random.Random, kelurahan, serial: int, group: str):  # noqa: ANN001
    from visits.demo import nik_for
    from visits.models import Resident

    kel = kelurahan[serial % len(kelurahan)]
    female = rng.random() < 0.55
    age = rng.randint(60, 92) if group == "elderly" else rng.randint(18, 70)
    birth = date(2026 - age, rng.randint(1, 12), rng.randint(1, 28))
    resident = Resident(
        nik=nik_for(kel.code.split(".")[2], birth, female, serial if serial < 10_000 else 5_000 + serial % 5_000),  # 4 digits (a NIK has 16)
        full_name=f"Warga Bench {serial}",
        birth_date=birth,
        sex="F" if female else "M",
        marital_status="married",
        group_elderly=group == "elderly",
        group_disabled=group == "disabled",
        group_mental=group == "mental",
        group_bedridden=group == "bedridden",
        street=f"Jl. Bench No. {serial % 97 + 1}",
        rt="001",
        rw="001",
        kelurahan_id=kel.id,
        lat=kel.lat + rng.uniform(-0.004, 0.004),
        lon=kel.lon + rng.uniform(-0.004, 0.004),
    )
    session.add(resident)
    return resident


def _new_request(session, resident, serial: int, status: str, availability: list[dict], token_hash: str, now: datetime):  # noqa: ANN001
    from visits.models import Channel, ConsentBy, VisitRequest

    request = VisitRequest(
        reference=f"B{serial:07d}",
        tracking_token_hash=token_hash,
        resident_id=resident.id,
        channel=Channel.WEB,
        status=status,
        kk_number=f"357601010115{serial % 10_000:04d}",
        kk_check_at_visit=True,
        companion_name="Pendamping",
        companion_phone="+6281234567890",
        companion_relation="anak",
        availability=availability,
        consent_by=ConsentBy.GUARDIAN,
        consent_at=now,
        received_at=now,
        first_answer_at=now,
        due_at=now + timedelta(days=1),
    )
    session.add(request)
    return request


def build_background(session, now: datetime, rng: random.Random) -> dict[str, int]:  # noqa: ANN001
    """About 12 feasible bookings per team-day on the next working days (see the module doc)."""
    from sqlmodel import select

    import routing
    from routing.insertion import CommittedRoutes
    from routing.schedule import schedule_route
    from visits.booking import slots
    from visits.intake.tracking import hash_token, new_token
    from visits.models import Booking, Kelurahan, Plan, PlanStatus, PlanStop, RequestStatus, TeamDay
    from visits.planning.calendar import team_shifts
    from visits.planning.translate import Horizon, service_needs, shift_id, to_routing_shift
    from visits.planning.travel import TravelService

    policy = slots.SlotPolicy(horizon_days=DAYS)
    days = slots.horizon_days(session, now, policy)
    horizon = Horizon(base=days[0])
    kelurahan = session.exec(select(Kelurahan).order_by(Kelurahan.code)).all()
    office = slots.office_point(session)

    # every home first (the matrix is lazy: only the pairs the insertion looks at are computed)
    working = team_shifts(session, days)
    wanted = len(working) * VISITS_PER_TEAM_DAY
    candidates = []
    home: dict[int, int] = {}
    for serial in range(1, int(wanted * 1.6) + 1):
        group = ("elderly", "elderly", "elderly", "disabled", "bedridden", "mental")[serial % 6]
        resident = _new_resident(session, rng, kelurahan, serial, group)
        candidates.append((serial, resident, group))
        home[serial] = len(candidates)  # its position in the located points (0 is the office)
    session.flush()
    located = TravelService().locate([office] + [(r.lat, r.lon) for _, r, _ in candidates])
    matrix = located.matrix
    shifts = {shift_id(ts.team_id, ts.day): (ts, to_routing_shift(ts, horizon, located.indices[0])) for ts in working}
    routes = CommittedRoutes(matrix, [(rs, []) for _, rs in shifts.values()])
    per_day: dict[date, int] = dict.fromkeys(days, 0)
    per_day_target = {d: sum(1 for ts, _ in shifts.values() if ts.day == d) * VISITS_PER_TEAM_DAY for d in days}
    booked: list[tuple[int, object, str, object, routing.TimeWindow, str]] = []
    needs_cache = {}
    for serial, resident, group in candidates:
        open_days = [d for d in days if per_day[d] < per_day_target[d]]
        if not open_days:
            break
        day = open_days[serial % len(open_days)]
        needs = needs_cache.get(group) or needs_cache.setdefault(group, service_needs(session, resident))
        stop = routing.Stop(id=f"c{serial}", location=located.indices[home[serial]], service=needs.minutes, windows=(routing.TimeWindow(0, 1),), skills=needs.skills)
        first = horizon.minute(day, time(8))
        hours = [routing.TimeWindow(first + 60 * h, first + 60 * h + 60) for h in range(7)]
        rng.shuffle(hours)
        found = routes.recommend(stop, hours[:3], k=1) or routes.recommend(stop, hours, k=1)
        if not found:
            continue
        ins = found[0]
        routes.commit(ins, stop)
        per_day[day] += 1
        booked.append((serial, resident, group, needs, ins.window, ins.shift_id))

    # write the bookings, and each team-day's current plan in the committed route's order (as
    # the re-planner leaves it); then read everything back the way the offers do and re-check it
    team_days: dict[str, TeamDay] = {}
    booking_of_stop: dict[str, Booking] = {}
    for serial, resident, _group, needs, window, sid in booked:
        ts, _ = shifts[sid]
        if sid not in team_days:
            team_days[sid] = slots.team_day_for(session, ts.team_id, ts.day)
        availability = [{"weekday": ts.day.weekday(), "start": "08:00", "end": "15:00"}]
        request = _new_request(session, resident, serial, RequestStatus.BOOKED, availability, hash_token(new_token()), now)
        session.flush()
        booking = Booking(
            request_id=request.id,
            team_day_id=team_days[sid].id,
            window_start=horizon.time_of(window.start),  # type: ignore[attr-defined]
            window_end=horizon.time_of(window.end),
            service_minutes=needs.minutes,
        )  # type: ignore[attr-defined]
        session.add(booking)
        booking_of_stop[f"c{serial}"] = booking
    session.flush()
    for sid, td in team_days.items():
        _, rs = shifts[sid]
        stops = list(routes.route(sid).stops)
        route = schedule_route(rs, stops, matrix)
        assert route is not None, sid
        plan = Plan(team_day_id=td.id, version=td.version, status=PlanStatus.CURRENT, solver_status="bench", objective=0, travel_minutes=route.travel)
        session.add(plan)
        session.flush()
        for position, visit in enumerate(route.visits):
            session.add(
                PlanStop(
                    plan_id=plan.id,
                    position=position,
                    booking_id=booking_of_stop[visit.stop_id].id,
                    arrival=horizon.time_of(visit.arrival),
                    start=horizon.time_of(visit.start),
                    end=horizon.time_of(visit.end),
                )
            )
    session.flush()
    world = slots.build_world(session, days, TravelService(), now, include_holds=False)
    broken = sum(1 for sid in world.shifts if schedule_route(world.shifts[sid], list(world.routes.route(sid).stops), world.matrix) is None)
    if broken:
        raise SystemExit(f"background load: {broken} team-days cannot keep their bookings")
    total = len(booked)
    return {"team_days": len(shifts), "bookings": total, "days": len(days)}


def make_bench_requests(session, count: int, rng: random.Random, now: datetime) -> list[str]:  # noqa: ANN001
    """``count`` eligible requests; returns their tracking tokens (only hashes are stored)."""
    from sqlmodel import select

    from visits.intake.tracking import hash_token, new_token
    from visits.models import Kelurahan, RequestStatus

    kelurahan = session.exec(select(Kelurahan).order_by(Kelurahan.code)).all()
    tokens = []
    for i in range(count):
        serial = 50_000 + i
        group = ("elderly", "elderly", "elderly", "disabled", "bedridden", "mental")[i % 6]
        resident = _new_resident(session, rng, kelurahan, serial, group)
        session.flush()
        start = rng.choice((8, 9, 10, 11, 13))
        availability = [{"weekday": rng.randint(0, 4), "start": f"{start:02d}:00", "end": f"{min(start + rng.choice((2, 3, 4)), 15):02d}:00"}]
        if rng.random() < 0.5:
            availability.append({"weekday": rng.randint(0, 4), "start": "08:00", "end": "11:00"})
        token = new_token()
        _new_request(session, resident, serial, RequestStatus.ELIGIBLE, availability, hash_token(token), now)
        tokens.append(token)
    session.flush()
    return tokens


# ---------------------------------------------------------------- server and client


def _profiled_services() -> ServerProfile:
    """Wrap the booking service's offer and confirm in one shared cProfile (server side only)."""
    from visits.booking import service as booking

    profile = ServerProfile()
    booking.offer = profile.wrap(booking.offer)  # type: ignore[method-assign]
    booking.confirm = profile.wrap(booking.confirm)  # type: ignore[method-assign]
    return profile


def _prepare(url: str, args: argparse.Namespace) -> tuple[random.Random, datetime, dict, list[str], float]:
    """Migrate ``url``, load the service area, the background bookings and the measured requests:
    (the seeded random source, now, the background load's figures, the requests' tokens, seconds)."""
    from app.db import get_engine, session_scope
    from app.migrate import upgrade
    from visits.types import utcnow

    rng = random.Random(args.seed)
    t0 = clock.perf_counter()
    upgrade(url)
    now = utcnow()
    with session_scope(get_engine(), write=True) as session:
        _setup_area(session)
    with session_scope(get_engine(), write=True) as session:
        load = build_background(session, now, rng)
    with session_scope(get_engine(), write=True) as session:
        tokens = make_bench_requests(session, args.requests + args.warmup, rng, now)
    return rng, now, load, tokens, clock.perf_counter() - t0


def run(args: argparse.Namespace) -> int:
    folder = Path(tempfile.mkdtemp(prefix="jemput-bench-"))
    url = environment(folder)

    from app.db import get_engine, session_scope
    from app.liveserver import LiveServer
    from app.main import create_app

    report = Report()
    say = report.say
    rng, now, load, tokens, setup_seconds = _prepare(url, args)
    from app.deps import travel_times

    travel_times().forget()  # the server starts cold, as after a restart

    import httpx

    app = create_app()
    if args.replan == "off":
        from visits.planning import replan

        replan.schedule_replan = lambda team_day_ids: []  # the lifespan hands commits to it
    profile = _profiled_services() if args.profile else None
    offers_ms: list[float] = []
    confirm_ms: list[float] = []
    offer_codes: dict[int, int] = {}
    confirm_codes: dict[int, int] = {}
    reasons: dict[str, int] = {}
    with LiveServer(app) as base, httpx.Client(base_url=base, timeout=30) as client:
        for i, token in enumerate(tokens):
            counted = i >= args.warmup
            body = None
            if i % 4 == 3:  # a counter-proposal now and then
                body = {"availability": [{"weekday": rng.randint(0, 4), "start": "09:00", "end": "13:00"}]}
            t = clock.perf_counter()
            r = client.post(f"/api/v1/track/{token}/offers", json=body) if body else client.post(f"/api/v1/track/{token}/offers")
            elapsed = (clock.perf_counter() - t) * 1000
            if counted:
                offers_ms.append(elapsed)
                offer_codes[r.status_code] = offer_codes.get(r.status_code, 0) + 1
            if r.status_code != 200:
                say(f"offers {r.status_code}: {r.text[:300]}")
                continue
            data = r.json()
            reason = (data.get("reason") or {}).get("code") or "in availability"
            if counted:
                reasons[reason] = reasons.get(reason, 0) + 1
            if not data["offers"]:
                continue
            t = clock.perf_counter()
            r = client.post(f"/api/v1/track/{token}/confirm", json={"offer_id": data["offers"][0]["offer_id"]})
            elapsed = (clock.perf_counter() - t) * 1000
            if counted:
                confirm_ms.append(elapsed)
                confirm_codes[r.status_code] = confirm_codes.get(r.status_code, 0) + 1
            if r.status_code not in (200, 409):
                say(f"confirm {r.status_code}: {r.text[:300]}")

    from sqlmodel import func, select

    from visits.models import Plan

    queue = getattr(app.state, "replan_queue", None)  # stopped with the server, after its last jobs ran
    drained = queue is None or queue.wait_idle(300)
    outcomes = dict(sorted(queue.outcomes.items())) if queue is not None else {}
    from visits.models import TeamDay

    with session_scope(get_engine()) as session:
        replans = session.exec(select(func.count()).select_from(Plan).where(Plan.solver_status != "bench")).one()
        touched = session.exec(select(TeamDay).where(TeamDay.version > 0)).all()
        current = {(p.team_day_id, p.version) for p in session.exec(select(Plan).where(Plan.status == "current")).all()}
        up_to_date = sum(1 for td in touched if (td.id, td.version) in current)

    report.header("Jemput booking benchmark (python -m app.bench_booking)", args.seed)
    say("database: SQLite (WAL) file in a temporary folder; server: uvicorn, 1 worker, in-process thread on 127.0.0.1; client: httpx, sequential")
    say(
        f"background re-planning after each confirmation: {args.replan}"
        + (
            f" (solver in a separate process); plans written by re-plans: {replans}{'' if drained else ' (queue not drained)'}; re-plan outcomes {outcomes}; team-days changed by the run whose current plan is of their latest version: {up_to_date}/{len(touched)}"
            if args.replan == "on"
            else ""
        )
    )
    say(
        f"background load: {load['bookings']} confirmed bookings on {load['team_days']} team-days ({TEAMS} teams x {load['days']} working days, "
        f"~{load['bookings'] / max(1, load['team_days']):.1f} per team-day, each with a current plan; re-checked feasible); set-up {setup_seconds:.1f} s"
    )
    say(f"measured: {len(offers_ms)} offer requests, {len(confirm_ms)} confirmations (after {args.warmup} warm-up requests); travel-time cache cold at start")
    say(f"offer answers: {dict(sorted(reasons.items()))}; offer status codes: {offer_codes}; confirm status codes: {confirm_codes}")
    say("")
    report.table_head("endpoint (ms)", width=42)
    report.row("POST /api/v1/track/{token}/offers", offers_ms, OFFER_P95_TARGET_MS, width=42)
    report.row("POST /api/v1/track/{token}/confirm", confirm_ms, CONFIRM_P95_TARGET_MS, width=42)
    report.load()
    report.profile("server-side profile of the booking service's offer + confirm (cumulative):", profile, 45)
    return report.finish(args.output, folder, args.keep)


# ---------------------------------------------------------------- several processes on PostgreSQL

PLAN_P95_TARGET_S = 10.0


def _pg_database(server_url: str) -> str:
    """A fresh database on ``server_url``'s server for this run."""
    import secrets

    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(server_url)
    name = f"jemput_bench_{secrets.token_hex(4)}"
    admin = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return url.set(drivername="postgresql+psycopg", database=name).render_as_string(hide_password=False)


def _drop_pg_database(db_url: str) -> None:
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(db_url)
    admin = url.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')


def run_processes(args: argparse.Namespace) -> int:
    """The same measurement with ``--web-workers`` ``jemput serve`` processes and ``--job-workers``
    ``jemput worker`` processes on a fresh PostgreSQL database (``--postgres`` names the server):
    offers and confirmations alternate between the web processes (one client, one request at a
    time), and for each confirmation the time until its team-day has a plan of that version or a
    later one is measured (the job queue re-plans; a later change's plan covers it)."""
    import signal
    import subprocess

    folder = Path(tempfile.mkdtemp(prefix="jemput-bench-"))
    url = _pg_database(args.postgres)
    environment(folder)
    os.environ["JEMPUT_DATABASE_URL"] = url
    os.environ["JEMPUT_JOB_QUEUE"] = "postgres"

    import httpx
    import sqlalchemy
    from sqlmodel import select

    from app.db import get_engine, session_scope
    from app.liveserver import free_port
    from visits.intake.tracking import hash_token
    from visits.models import Booking, BookingStatus, Plan, TeamDay, VisitRequest
    from visits.types import utcnow

    rng, now, load, tokens, setup_seconds = _prepare(url, args)

    env = os.environ.copy()
    root = Path(__file__).resolve().parents[1]
    logs = [open(folder / f"{name}.log", "w") for name in ("web", "worker")]  # noqa: SIM115 - closed below
    ports = [free_port() for _ in range(args.web_workers)]
    processes = [subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--port", str(p)], cwd=root, env=env, stdout=logs[0], stderr=subprocess.STDOUT) for p in ports]
    processes += [subprocess.Popen([sys.executable, "-m", "app.cli", "worker", "--name", f"bench-{k}"], cwd=root, env=env, stdout=logs[1], stderr=subprocess.STDOUT) for k in range(args.job_workers)]
    bases = [f"http://127.0.0.1:{p}" for p in ports]
    offers_ms: list[float] = []
    confirm_ms: list[float] = []
    codes: dict[str, int] = {}
    changes: list[tuple[int, int, datetime]] = []  # (team-day, its version after the change, when)
    try:
        deadline = clock.monotonic() + 120
        for base in bases:
            while True:
                try:
                    if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if clock.monotonic() > deadline:
                    raise SystemExit(f"{base} did not start; see {folder / 'web.log'}")
                clock.sleep(0.3)
        with httpx.Client(timeout=60) as client:
            for i, token in enumerate(tokens):
                counted = i >= args.warmup
                t = clock.perf_counter()
                r = client.post(f"{bases[i % len(bases)]}/api/v1/track/{token}/offers")
                if counted:
                    offers_ms.append((clock.perf_counter() - t) * 1000)
                codes[f"offers {r.status_code}"] = codes.get(f"offers {r.status_code}", 0) + 1
                found = r.json().get("offers") if r.status_code == 200 else None
                if not found:
                    continue
                t = clock.perf_counter()
                r = client.post(f"{bases[(i + 1) % len(bases)]}/api/v1/track/{token}/confirm", json={"offer_id": found[0]["offer_id"]})
                if counted:
                    confirm_ms.append((clock.perf_counter() - t) * 1000)
                codes[f"confirm {r.status_code}"] = codes.get(f"confirm {r.status_code}", 0) + 1
                if r.status_code == 200 and counted:
                    booked_at = utcnow()
                    with session_scope(get_engine()) as session:
                        booking = session.exec(
                            select(Booking).join(VisitRequest).where(VisitRequest.tracking_token_hash == hash_token(token), Booking.status == BookingStatus.CONFIRMED)  # type: ignore[arg-type]
                        ).first()
                        td = session.get(TeamDay, booking.team_day_id) if booking else None
                    if td is not None:
                        changes.append((td.id, td.version, booked_at))  # type: ignore[arg-type]
        deadline = clock.monotonic() + 300
        waits: list[float] = []
        while clock.monotonic() < deadline:
            with session_scope(get_engine()) as session:
                plans = session.exec(select(Plan.team_day_id, Plan.version, Plan.created_at).where(Plan.solver_status != "bench")).all()
            first: dict[tuple[int, int], datetime] = {}
            for tid, version, created in plans:
                first[(tid, version)] = min(created, first.get((tid, version), created))
            waits = []
            for tid, version, at in changes:
                covering = [created for (t2, v2), created in first.items() if t2 == tid and v2 >= version]
                if covering:
                    waits.append(max(0.0, (min(covering) - at).total_seconds()))
            if len(waits) == len(changes):
                break
            clock.sleep(1)
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
        for log in logs:
            log.close()
    report = Report()
    report.header("Jemput booking benchmark, several processes on PostgreSQL (python -m app.bench_booking --postgres ...)", args.seed)
    report.say(
        f"database: PostgreSQL (a fresh database on {sqlalchemy.engine.make_url(args.postgres).host}); {args.web_workers} x jemput serve, {args.job_workers} x jemput worker; client: httpx, sequential, alternating web processes"
    )
    report.say(f"background load: {load['bookings']} confirmed bookings on {load['team_days']} team-days ({TEAMS} teams x {load['days']} working days); set-up {setup_seconds:.1f} s")
    report.say(f"status codes: {dict(sorted(codes.items()))}")
    report.say("")
    report.table_head(width=42)
    for name, values, target in (
        ("POST /api/v1/track/{token}/offers (ms)", offers_ms, OFFER_P95_TARGET_MS),
        ("POST /api/v1/track/{token}/confirm (ms)", confirm_ms, CONFIRM_P95_TARGET_MS),
        ("confirmation -> plan of its version (s)", waits, PLAN_P95_TARGET_S),
    ):
        if values:
            report.row(name, values, target, width=42)
        else:
            report.say(f"{name:<42} {0:>4}")
            report.ok = False
    if len(waits) < len(changes):
        report.say(f"team-days without a plan of their version after 300 s: {len(changes) - len(waits)} of {len(changes)}")
        report.ok = False
    report.load()
    if not args.keep:
        _drop_pg_database(url)
    return report.finish(args.output, folder, args.keep)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.bench_booking", description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=260, help="measured requests (offer + confirm each)")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--seed", type=int, default=3576)
    parser.add_argument("--output", default="", help="also write the report to this file")
    parser.add_argument("--profile", action="store_true", help="append a cProfile of the server side")
    parser.add_argument("--keep", action="store_true", help="keep the temporary database folder")
    parser.add_argument("--replan", choices=("on", "off"), default="on", help="background re-planning after confirmations (on: as deployed)")
    parser.add_argument("--postgres", default="", help="a PostgreSQL server URL: run with several processes there (a fresh database, dropped after)")
    parser.add_argument("--web-workers", type=int, default=2, help="with --postgres: jemput serve processes")
    parser.add_argument("--job-workers", type=int, default=2, help="with --postgres: jemput worker processes")
    args = parser.parse_args(argv)
    return run_processes(args) if args.postgres else run(args)


if __name__ == "__main__":
    sys.exit(main())
