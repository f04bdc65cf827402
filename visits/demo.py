"""Demo data for Kota Mojokerto (``jemput seed-demo``): idempotent, fictional people only."""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlmodel import Session, col, select

from visits.intake.service import first_answer_due
from visits.intake.service_area import KOTA_MOJOKERTO_CENTRE, ensure_office, ensure_service_area
from visits.intake.tracking import hash_token, new_token
from visits.models import (
    Booking,
    Channel,
    ConsentBy,
    Kelurahan,
    OutreachResident,
    RecordingKit,
    RequestStatus,
    Resident,
    Role,
    ServiceRule,
    ShiftPattern,
    Team,
    TeamSkill,
    User,
    VisitRequest,
)
from visits.outreach.importer import RESIDENT_FIELDS
from visits.outreach.service import OutreachConfig, import_list
from visits.types import utcnow

DEMO_TEAMS = (("Tim 1", ()), ("Tim 2", ()), ("Tim 3", ("odgj",)))
DEMO_SERVICE_MINUTES = {"elderly": 20, "disabled": 30, "bedridden": 30, "mental": 60}
DEMO_REQUEST_COUNT = 60
DEMO_TIMEZONE = "Asia/Jakarta"  # Kota Mojokerto
FIRST_NAMES = ("Siti", "Sri", "Suparmi", "Sumarni", "Kasiyem", "Budi", "Slamet", "Sutrisno", "Wagiman", "Paimin", "Rukmini", "Tumini", "Ahmad", "Yuliati", "Dewi")
LAST_NAMES = ("Rahayu", "Wahyuni", "Susanto", "Hartono", "Prasetyo", "Lestari", "Purnomo", "Setiawati", "Kurniawan", "Handayani")
STREETS = ("Jl. Mawar", "Jl. Melati", "Jl. Kenanga", "Gg. Mangga", "Jl. Anggrek", "Gg. Kelapa", "Jl. Flamboyan")


@dataclass
class SeedReport:
    created_users: dict[str, tuple[str, str]] = field(default_factory=dict)  # role -> (username, password)
    existing_users: list[str] = field(default_factory=list)
    requests_added: list[tuple[str, str]] = field(default_factory=list)  # (reference, tracking token)
    area_rows_added: int = 0
    bookings_added: int = 0
    outreach_added: int = 0  # residents on the demo's not-yet-recorded list


def nik_for(kecamatan: str, birth: date, female: bool, serial: int) -> str:
    """A well-formed NIK: province+city (3576), kecamatan, DDMMYY (+40 day for women), serial."""
    day = birth.day + (40 if female else 0)
    return f"3576{kecamatan}{day:02d}{birth.month:02d}{birth.year % 100:02d}{serial:04d}"


def kk_for(kecamatan: str, issued: date, serial: int) -> str:
    """A well-formed KK number: 6-digit region code, DDMMYY issue date, serial."""
    return f"3576{kecamatan}{issued.day:02d}{issued.month:02d}{issued.year % 100:02d}{serial:04d}"


def ensure_teams(session: Session) -> list[Team]:
    teams = []
    for i, (name, skills) in enumerate(DEMO_TEAMS, start=1):
        team = session.exec(select(Team).where(Team.name == name)).first()
        if team is None:
            team = Team(name=name, max_visits_per_day=10)
            session.add(team)
            session.flush()
            assert team.id is not None
            for skill in skills:
                session.add(TeamSkill(team_id=team.id, skill=skill))
            session.add(RecordingKit(code=f"KIT-{i:02d}", team_id=team.id))
        teams.append(team)
    session.flush()
    return teams


def ensure_calendar(session: Session) -> None:
    """Office default hours: Mon–Thu 08:00–15:00 with a 30-min break, Friday 08:00–11:00."""
    if session.exec(select(ShiftPattern).where(ShiftPattern.team_id.is_(None))).first() is not None:  # type: ignore[union-attr]
        return
    for weekday in range(4):
        session.add(ShiftPattern(weekday=weekday, start_time=time(8), end_time=time(15), break_earliest=time(11, 30), break_latest=time(12, 30), break_minutes=30))
    session.add(ShiftPattern(weekday=4, start_time=time(8), end_time=time(11)))
    for group, minutes in DEMO_SERVICE_MINUTES.items():
        session.add(ServiceRule(served_group=group, minutes=minutes, required_skill="odgj" if group == "mental" else None))
    session.flush()


def ensure_users(session: Session, teams: list[Team], report: SeedReport) -> None:
    from visits.staff.users import create_user

    for role in Role:
        username = f"demo-{role.value}"
        if session.exec(select(User).where(User.username == username)).first() is not None:
            report.existing_users.append(username)
            continue
        password = secrets.token_urlsafe(12)
        team_id = teams[0].id if role == Role.OFFICER else None
        create_user(session, username, role.value, password, team_id=team_id, full_name=f"Demo {role.value}")
        report.created_users[role.value] = (username, password)


def ensure_requests(session: Session, count: int = DEMO_REQUEST_COUNT, seed: int = 3576) -> list[tuple[str, str]]:
    """About ``count`` fictional requests across kelurahan and groups (skipped when present).

    Returns (reference, tracking token) for the requests added: the tokens exist nowhere else."""
    kelurahan = session.exec(select(Kelurahan).order_by(Kelurahan.code)).all()
    today = date.today()
    added: list[tuple[str, str]] = []
    for i in range(count):
        reference = f"DEMO-{i:04d}"
        if session.exec(select(VisitRequest.id).where(VisitRequest.reference == reference)).first() is not None:
            continue
        rng = random.Random(seed * 1000 + i)  # one stream per request: re-runs see the same people
        kel = kelurahan[i % len(kelurahan)]
        kec = kel.code.split(".")[2]
        female = rng.random() < 0.55
        group = ("elderly", "elderly", "elderly", "disabled", "bedridden", "mental")[i % 6]
        age = rng.randint(60, 92) if group == "elderly" else rng.randint(18, 70)
        birth = date(today.year - age, rng.randint(1, 12), rng.randint(1, 28))
        nik = nik_for(kec, birth, female, 9000 + i)
        resident = Resident(
            nik=nik,
            full_name=f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
            birth_date=birth,
            sex="F" if female else "M",
            marital_status=rng.choice(("married", "widowed", "single")) if age >= 17 else "single",
            group_elderly=group == "elderly",
            group_disabled=group == "disabled",
            disability_type="tunadaksa" if group == "disabled" else None,
            group_mental=group == "mental",
            group_bedridden=group == "bedridden",
            street=f"{rng.choice(STREETS)} No. {rng.randint(1, 80)}",
            rt=f"{rng.randint(1, 9):03d}",
            rw=f"{rng.randint(1, 5):03d}",
            kelurahan_id=kel.id,
            lat=kel.lat + rng.uniform(-0.003, 0.003),
            lon=kel.lon + rng.uniform(-0.003, 0.003),
        )
        session.add(resident)
        session.flush()
        assert resident.id is not None
        phone_channel = i % 5 == 0
        received = utcnow() - timedelta(hours=rng.randint(1, 72))
        token = new_token()
        session.add(
            VisitRequest(
                reference=reference,
                tracking_token_hash=hash_token(token),
                resident_id=resident.id,
                channel=Channel.PHONE if phone_channel else Channel.WEB,
                status=RequestStatus.NEEDS_REVIEW if phone_channel else RequestStatus.ELIGIBLE,
                kk_number=kk_for(kec, date(2015 + i % 9, 1 + i % 12, 1 + i % 28), 1 + i),
                kk_check_at_visit=True,
                companion_name=f"{rng.choice(FIRST_NAMES)} (keluarga)",
                companion_phone=f"+62812{rng.randint(10_000_000, 99_999_999)}",
                companion_relation=rng.choice(("anak", "cucu", "menantu", "saudara")),
                availability=[{"weekday": rng.randint(0, 3), "start": "08:00", "end": "12:00"}, {"weekday": 4, "start": "08:00", "end": "11:00"}],
                consent_by=ConsentBy.GUARDIAN,
                consent_at=received,
                kelurahan_letter=rng.random() < 0.4,
                received_at=received,
                first_answer_at=None,  # an eligible request is answered by its slot offers (ensure_bookings gives some)
                due_at=first_answer_due(session, received, DEMO_TIMEZONE),
            )
        )
        added.append((reference, token))
    session.flush()
    return added


def ensure_bookings(session: Session, now: datetime, how_many: int = 24) -> int:
    """Book the first eligible demo requests into the coming days, so routes have visits."""
    from visits.booking import slots
    from visits.planning.travel import TravelService

    if session.exec(select(Booking)).first() is not None:
        return 0
    travel, policy, booked = TravelService(), slots.SlotPolicy(), 0
    ids = session.exec(select(col(VisitRequest.id)).where(VisitRequest.status == RequestStatus.ELIGIBLE).order_by(col(VisitRequest.id)).limit(how_many)).all()
    for request_id in ids:
        result = slots.make_offers(session, request_id, now, travel, policy, k=1)  # type: ignore[arg-type]
        if result.offers and result.reason is None:
            slots.confirm(session, request_id, result.offers[0].offer_id, now, travel, policy)  # type: ignore[arg-type]
            booked += 1
    return booked


DEMO_OUTREACH_KELURAHAN = 3  # the first kelurahan by code get a not-yet-recorded list
DEMO_OUTREACH_PER_KELURAHAN = 8


def ensure_outreach(session: Session, now: datetime, cfg: OutreachConfig, seed: int = 3576) -> int:
    """A fictional not-yet-recorded list (elderly residents who never asked) for the first
    kelurahan, imported as an office imports its own (``visits.outreach.service.import_list``:
    every row checked), so the call list and campaign plans have someone to call. Skipped when any
    list is held. Returns the residents added."""
    if session.exec(select(OutreachResident.id)).first() is not None:
        return 0
    today = cfg.today(now)
    rows: list[str] = [",".join((*RESIDENT_FIELDS, "phone"))]  # the columns the importer reads
    for k, kel in enumerate(session.exec(select(Kelurahan).order_by(Kelurahan.code)).all()[:DEMO_OUTREACH_KELURAHAN]):
        kec = kel.code.split(".")[2]
        for j in range(DEMO_OUTREACH_PER_KELURAHAN):
            i = k * DEMO_OUTREACH_PER_KELURAHAN + j
            rng = random.Random(seed * 7000 + i)
            female = rng.random() < 0.55
            birth = date(today.year - rng.randint(62, 90), rng.randint(1, 12), rng.randint(1, 28))
            phone = f"0812{rng.randint(10_000_000, 99_999_999)}" if j % 4 else ""  # some lists give no phone
            rows.append(
                ",".join(
                    (
                        nik_for(kec, birth, female, 7000 + i),
                        f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
                        birth.isoformat(),
                        "F" if female else "M",
                        kk_for(kec, date(2010 + i % 9, 1 + i % 12, 1 + i % 28), 700 + i),
                        f"{rng.choice(STREETS)} No. {rng.randint(1, 80)}",
                        str(rng.randint(1, 9)),
                        str(rng.randint(1, 5)),
                        kel.code,
                        phone,
                    )
                )
            )
    summary = import_list(session, "demo-belum-rekam.csv", ("\n".join(rows) + "\n").encode(), now=now, cfg=cfg)
    return summary.added


def seed_demo(session: Session, office_name: str, outreach: OutreachConfig | None = None) -> SeedReport:
    report = SeedReport()
    report.area_rows_added = ensure_service_area(session)
    ensure_office(session, office_name, "Kota Mojokerto, Jawa Timur", *KOTA_MOJOKERTO_CENTRE)
    teams = ensure_teams(session)
    ensure_calendar(session)
    ensure_users(session, teams, report)
    report.requests_added = ensure_requests(session)
    report.bookings_added = ensure_bookings(session, utcnow())
    if outreach is not None:
        report.outreach_added = ensure_outreach(session, utcnow(), outreach)
    return report
