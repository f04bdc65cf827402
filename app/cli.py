"""The ``jemput`` console command. Every command honours ``JEMPUT_DATABASE_URL``."""

from __future__ import annotations

import argparse
import sys

from app.settings import get_settings


def _url() -> str:
    return get_settings().resolved_database_url()


def cmd_migrate(_: argparse.Namespace) -> int:
    from app.migrate import upgrade

    upgrade(_url())
    print("database is at the latest migration")
    return 0


def cmd_seed_demo(_: argparse.Namespace) -> int:
    from app.db import session_scope
    from visits.demo import seed_demo
    from visits.outreach.service import OutreachConfig

    with session_scope(write=True) as session:
        report = seed_demo(session, get_settings().office_name, OutreachConfig.from_settings(get_settings()))
    print(f"service area rows added: {report.area_rows_added}; demo requests added: {len(report.requests_added)}; bookings: {report.bookings_added}; outreach list: {report.outreach_added} residents")
    base = get_settings().public_base_url.rstrip("/")
    for reference, token in report.requests_added[1:4]:
        print(f"  demo family tracking link ({reference}): {base}/track/{token}")
    for role, (username, password) in report.created_users.items():
        print(f"  demo {role:8s} user: {username}  password: {password}")
    if report.existing_users:
        print(f"  demo users kept as they were (passwords unchanged): {', '.join(report.existing_users)}")
    print("Demo passwords are random and shown only once. Never use demo accounts in production.")
    return 0


TIMEZONES = {"WIB": "Asia/Jakarta", "WITA": "Asia/Makassar", "WIT": "Asia/Jayapura"}


def _env_line(name: str, value: str) -> str:
    return f'{name}="' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def cmd_init_office(args: argparse.Namespace) -> int:
    """Set up an office: its service area from a CSV file (all rows checked before anything is
    stored), its row (address, location) and its settings file (name, phone, prefix, time zone)."""
    from pathlib import Path
    from zoneinfo import available_timezones

    import phonenumbers

    from app.db import session_scope
    from app.settings import OFFICE_FILE
    from visits.intake.area_file import AreaFileError, import_area, parse_area, set_office

    prefix = args.region_prefix.strip()
    timezone = TIMEZONES.get(args.timezone.upper(), args.timezone)
    problems = []
    if not (prefix.isdigit() and len(prefix) == 4):
        problems.append("--region-prefix must be the 4-digit Kemendagri code of the city or regency, e.g. 3516")
    if timezone not in available_timezones():
        problems.append("--timezone must be WIB, WITA, WIT or a time zone name such as Asia/Jakarta")
    if not (-11.5 <= args.lat <= 6.5 and 94.5 <= args.lon <= 141.5):
        problems.append("--lat/--lon must be a point in Indonesia")
    try:
        phone_ok = phonenumbers.is_possible_number(phonenumbers.parse(args.phone, "ID"))
    except phonenumbers.NumberParseException:
        phone_ok = False
    if not phone_ok:
        problems.append("--phone is not a phone number")
    if not args.name.strip():
        problems.append("--name is empty")
    if problems:
        for p in problems:
            print(f"error: {p}", file=sys.stderr)
        return 2
    try:
        rows = parse_area(Path(args.area).read_text(encoding="utf-8"), prefix)
        with session_scope(write=True) as session:
            kecamatan, kelurahan = import_area(session, rows)
            set_office(session, name=args.name.strip(), address=(args.address or args.name).strip(), lat=args.lat, lon=args.lon)
    except AreaFileError as exc:
        print(f"error: {args.area}: {exc}; nothing was stored", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: cannot read {args.area}: {exc.strerror}", file=sys.stderr)
        return 2
    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    lines = [
        _env_line("JEMPUT_OFFICE_NAME", args.name.strip()),
        _env_line("JEMPUT_OFFICE_PHONE", args.phone.strip()),
        _env_line("JEMPUT_REGION_PREFIX", prefix),
        _env_line("JEMPUT_TIMEZONE", timezone),
    ]
    (settings.data_dir / OFFICE_FILE).write_text("\n".join(lines) + "\n", encoding="utf-8")
    get_settings.cache_clear()
    print(f"office set up: {kecamatan} kecamatan, {kelurahan} kelurahan; settings in {settings.data_dir / OFFICE_FILE} (the environment still overrides them)")
    return 0


def cmd_create_user(args: argparse.Namespace) -> int:
    from sqlmodel import select

    from app.db import session_scope
    from visits.errors import DomainError
    from visits.models import Team
    from visits.staff.users import create_user

    password = sys.stdin.readline().rstrip("\r\n")
    if len(password) < 8:
        print("error: the password (read from standard input) must have at least 8 characters", file=sys.stderr)
        return 2
    try:
        with session_scope(write=True) as session:
            team_id = None
            if args.team:
                team = session.exec(select(Team).where(Team.name == args.team)).first()
                if team is None:
                    print(f"error: no team named {args.team!r}", file=sys.stderr)
                    return 2
                team_id = team.id
            user = create_user(session, args.username, args.role, password, team_id=team_id, full_name=args.full_name or "")
            print(f"created user {user.username} ({user.role})")
    except DomainError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def cmd_send_notifications(args: argparse.Namespace) -> int:
    """Send due messages, one committed transaction per message."""
    from app.db import session_scope
    from visits.notifications import SendReport, provider_from_settings, send_pending

    settings = get_settings()
    provider = provider_from_settings(settings)
    total = SendReport()
    while True:
        with session_scope(write=True) as session:
            report = send_pending(session, provider, limit=1, max_attempts=settings.notify_max_attempts, backoff_seconds=settings.notify_backoff_seconds)
        total.sent, total.retried, total.failed = total.sent + report.sent, total.retried + report.retried, total.failed + report.failed
        if report.sent + report.retried + report.failed == 0 or total.sent + total.retried + total.failed >= args.batch:
            break
    print(f"notifications sent: {total.sent}; to retry: {total.retried}; given up: {total.failed}")
    return 0


def cmd_purge_uploads(_: argparse.Namespace) -> int:
    """Delete KK files and outreach rows past their retention periods (run daily)."""
    from app.db import session_scope
    from visits.intake.uploads import purge_expired
    from visits.outreach.service import purge_expired as purge_outreach

    with session_scope(write=True) as session:
        count = purge_expired(session, get_settings().upload_dir)
        outreach = purge_outreach(session)
    print(f"KK files deleted after their retention period: {count}")
    print(f"outreach rows deleted after their retention period: {outreach}")
    return 0


def cmd_new_data_key(args: argparse.Namespace) -> int:
    """Print a fresh item for JEMPUT_DATA_KEYS (the key is shown only here)."""
    from visits.pii import new_key_spec

    print(new_key_spec(args.id))
    return 0


def cmd_rotate_data_key(args: argparse.Namespace) -> int:
    """Re-seal every NIK and KK number under the current data key (and re-hash NIKs), in batches."""
    from app.db import session_scope
    from visits.intake.rotation import SEALED, keys_in_use, rotate_batch
    from visits.pii import keyring

    current = keyring().current.id
    for table, column, *_ in SEALED:
        after, resealed, rehashed = 0, 0, 0
        while True:
            with session_scope(write=True) as session:  # one transaction per batch: writers are never held up long
                step = rotate_batch(session, table.name, after, args.batch, column)
            if step.last_id is None:
                break
            after, resealed, rehashed = step.last_id, resealed + step.resealed, rehashed + step.rehashed
        print(f"{table.name}.{column}: {resealed} value(s) re-sealed, {rehashed} hash(es) recomputed under key {current!r}")
    with session_scope() as session:
        used = keys_in_use(session)
    older = sorted(k for k in used if k != current)
    if older:
        print(f"values are still sealed under {', '.join(older)}: run again", file=sys.stderr)
        return 1
    print(f"every sealed value is under key {current!r}: older keys can be removed from JEMPUT_DATA_KEYS")
    return 0


def cmd_anonymise_closed(args: argparse.Namespace) -> int:
    """Anonymise requests closed for longer than JEMPUT_RETENTION_DAYS (run daily)."""
    from app.db import session_scope
    from visits.intake.rights import anonymise_closed
    from visits.types import utcnow

    s = get_settings()
    requests = residents = files = 0
    while True:
        with session_scope(write=True) as session:
            done = anonymise_closed(session, retention_days=s.retention_days, upload_dir=s.upload_dir, now=utcnow(), limit=args.batch)
        requests, residents, files = requests + len(done.requests), residents + len(done.residents), files + done.files
        if len(done.requests) < args.batch:
            break
    print(f"anonymised after {s.retention_days} days: {requests} request(s), {residents} resident(s), {files} KK file(s) deleted")
    return 0


def _booking_context():  # noqa: ANN202
    from app.deps import office_info, slot_policy, travel_times

    return slot_policy(), travel_times(), office_info()


def cmd_send_reminders(_: argparse.Namespace) -> int:
    from app.db import session_scope
    from visits.booking.chores import send_reminders
    from visits.types import utcnow

    policy, _, office = _booking_context()
    with session_scope(write=True) as session:
        count = send_reminders(session, utcnow(), policy.timezone, office)
    print(f"reminders queued: {count}")
    return 0


def cmd_auto_book(_: argparse.Namespace) -> int:
    from app.db import session_scope
    from app.jobs import InProcessJobs
    from app.wiring import jobs
    from visits.booking.chores import auto_book_pending
    from visits.types import utcnow

    policy, travel, office = _booking_context()
    with jobs() as queue:  # re-plans go to the job queue when this commits
        with session_scope(write=True) as session:
            changed = auto_book_pending(session, utcnow(), travel, policy, office)
        print(f"auto-booked: {len(changed)}")
        if isinstance(queue, InProcessJobs):  # this process re-plans what it booked
            return 0 if queue.queue.wait_idle(300) else 1
        return 0  # PostgreSQL: the workers re-plan


def cmd_worker(args: argparse.Namespace) -> int:
    """Run job workers (PostgreSQL's job queue): re-plans, the outbox and the periodic tasks."""
    import multiprocessing

    from app.jobs import POSTGRES, queue_kind, run_worker

    if queue_kind() != POSTGRES:
        print("error: jemput worker needs the PostgreSQL job queue (JEMPUT_DATABASE_URL=postgresql+psycopg://...); on SQLite the web process re-plans", file=sys.stderr)
        return 2
    get_settings().resolved_secret_key()  # refuses to run without the shared key
    if args.processes <= 1:
        run_worker(concurrency=args.concurrency, name=args.name, nice=get_settings().worker_nice, configure_logging=True)
        return 0
    context = multiprocessing.get_context("spawn")
    children = [
        context.Process(
            target=run_worker,
            kwargs={"concurrency": args.concurrency, "name": f"{args.name or 'worker'}-{k}", "nice": get_settings().worker_nice, "configure_logging": True},
            name=f"jemput-worker-{k}",
        )
        for k in range(args.processes)
    ]
    for child in children:
        child.start()
    try:
        for child in children:
            child.join()
    except KeyboardInterrupt:
        for child in children:
            child.join(timeout=60)
    return max((child.exitcode or 0) for child in children)


def serve_options() -> dict:
    """uvicorn options of ``jemput serve``: X-Forwarded-* are believed only from the proxies in
    ``JEMPUT_TRUSTED_PROXIES`` (none by default: the peer address is the client), and tracking
    tokens are redacted from its logs."""
    from app.logredact import log_config

    trusted = ",".join(p.strip() for p in get_settings().trusted_proxies.split(",") if p.strip())
    return {"proxy_headers": bool(trusted), "forwarded_allow_ips": trusted, "log_config": log_config(json_lines=get_settings().log_format == "json")}


def cmd_plan_campaign(args: argparse.Namespace) -> int:
    """Propose visit days and windows for the outreach candidates (a kelurahan's, or all), filling the
    teams' free capacity around every booking; solved here, outside any transaction."""
    from sqlmodel import select

    from app.db import session_scope
    from app.jobs import CampaignJob
    from visits.intake.models import Kelurahan
    from visits.types import utcnow

    kelurahan_id = None
    if args.kelurahan:
        with session_scope() as session:
            kel = session.exec(select(Kelurahan).where(Kelurahan.code == args.kelurahan)).first()
            if kel is None:
                print(f"error: no kelurahan {args.kelurahan} in the service area", file=sys.stderr)
                return 2
            kelurahan_id = kel.id
    campaign, result = CampaignJob(utcnow(), kelurahan_id, args.partner_kind, args.limit, args.time_limit)()  # type: ignore[misc]  # the campaign page's job, run here
    print(f"candidates: {campaign.candidates}")
    print(f"placed: {campaign.placed}")
    print(f"team-days used: {campaign.team_days}")
    print(f"travel (those team-days' routes): {campaign.travel_minutes} min")
    print(f"solve: {campaign.solve_seconds:.1f} s")
    dropped = sum(1 for d in result.plan.dropped if d.stop_id.startswith("o"))
    print(f"not placed: {dropped}")
    return 0


def cmd_import_baseline(args: argparse.Namespace) -> int:
    """Import a coverage baseline (CSV or XLSX); nothing is stored when any row is wrong."""
    from pathlib import Path

    from app.db import session_scope
    from visits.reporting.baseline import BaselineRejected, import_baseline
    from visits.types import utcnow

    path = Path(args.file)
    try:
        data = path.read_bytes()
    except OSError as exc:
        print(f"error: cannot read {path}: {exc.strerror}", file=sys.stderr)
        return 2
    try:
        with session_scope(write=True) as session:
            done = import_baseline(session, path.name, data, now=utcnow(), tz=get_settings().timezone)
    except BaselineRejected as exc:
        print(f"error: the file was refused, nothing was stored ({len(exc.problems)} problem(s)):", file=sys.stderr)
        for p in exc.problems:
            print(f"  row {p.row}, field {p.field}: {p.code}", file=sys.stderr)
        return 2
    for b in done:
        print(f"baseline {b.as_of.isoformat()}: {b.rows} kelurahan {'(replaced the earlier import of that date)' if b.replaced else '(new)'}")
    return 0


def cmd_send_surveys(_: argparse.Namespace) -> int:
    """Queue the follow-up survey a day after each recorded visit (run daily or hourly)."""
    from app.db import session_scope
    from visits.reporting.followup import send_surveys
    from visits.types import utcnow

    settings = get_settings()
    with session_scope(write=True) as session:
        count = send_surveys(session, utcnow(), office=settings.office_name, base_url=settings.public_base_url)
    print(f"follow-up surveys queued: {count}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    uvicorn.run("app.main:app", host=args.host, port=args.port, workers=args.workers, **serve_options())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="jemput", description="Jemput: door-to-door E-KTP recording visits")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the web application")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.set_defaults(func=cmd_serve)
    wk = sub.add_parser("worker", help="run job workers (PostgreSQL): re-plans, messages, reminders, auto-booking, purging")
    wk.add_argument("--processes", type=int, default=1, help="worker processes (each solves one re-plan at a time)")
    wk.add_argument("--concurrency", type=int, default=1, help="jobs at once per process")
    wk.add_argument("--name", help="worker name (logs, the workers table)")
    wk.set_defaults(func=cmd_worker)
    sub.add_parser("migrate", help="bring the database to the latest migration").set_defaults(func=cmd_migrate)
    sub.add_parser("seed-demo", help="load Kota Mojokerto demo data (idempotent)").set_defaults(func=cmd_seed_demo)
    io_ = sub.add_parser("init-office", help="set up an office: service area (CSV), name, phone, region prefix, time zone, location")
    io_.add_argument("--area", required=True, help="CSV of kecamatan and kelurahan (see visits/intake/area_file.py)")
    io_.add_argument("--name", required=True)
    io_.add_argument("--phone", required=True)
    io_.add_argument("--region-prefix", required=True, help="Kemendagri city/regency code, e.g. 3516")
    io_.add_argument("--timezone", default="WIB", help="WIB, WITA, WIT or a time zone name")
    io_.add_argument("--lat", type=float, required=True)
    io_.add_argument("--lon", type=float, required=True)
    io_.add_argument("--address", help="the office's street address (default: its name)")
    io_.set_defaults(func=cmd_init_office)
    sn = sub.add_parser("send-notifications", help="send due messages from the outbox")
    sn.add_argument("--batch", type=int, default=100)
    sn.set_defaults(func=cmd_send_notifications)
    sub.add_parser("purge-uploads", help="delete KK files and outreach rows past their retention periods").set_defaults(func=cmd_purge_uploads)
    sub.add_parser("send-reminders", help="queue the day-before reminders for tomorrow's visits").set_defaults(func=cmd_send_reminders)
    sub.add_parser("auto-book", help="book the best slot for families who accept any time in their availability").set_defaults(func=cmd_auto_book)
    sub.add_parser("send-surveys", help="queue the follow-up survey a day after each recorded visit").set_defaults(func=cmd_send_surveys)
    nk = sub.add_parser("new-data-key", help="print a fresh key item for JEMPUT_DATA_KEYS")
    nk.add_argument("--id", help="its key id (default: random)")
    nk.set_defaults(func=cmd_new_data_key)
    rk = sub.add_parser("rotate-data-key", help="re-seal every NIK and KK number under the current data key (idempotent)")
    rk.add_argument("--batch", type=int, default=500)
    rk.set_defaults(func=cmd_rotate_data_key)
    an = sub.add_parser("anonymise-closed", help="anonymise requests closed for longer than JEMPUT_RETENTION_DAYS")
    an.add_argument("--batch", type=int, default=500)
    an.set_defaults(func=cmd_anonymise_closed)
    pc = sub.add_parser("plan-campaign", help="propose visit days and windows for outreach candidates, filling free capacity")
    pc.add_argument("--kelurahan", help="one kelurahan's candidates (its code, e.g. 35.76.01.1003); all when omitted")
    pc.add_argument("--partner-kind", choices=["kelurahan", "puskesmas", "dinsos", "care_home"], help="only the residents a partner of this kind referred (a partner's list)")
    pc.add_argument("--limit", type=int, default=5000, help="at most this many candidates (referred first, then the oldest)")
    pc.add_argument("--time-limit", type=float, default=None, help="solver seconds (default: 5 and 1 more per 50 visits in the model, at most 30)")
    pc.set_defaults(func=cmd_plan_campaign)
    ib = sub.add_parser("import-baseline", help="import the coverage baseline per kelurahan (CSV or XLSX)")
    ib.add_argument("file")
    ib.set_defaults(func=cmd_import_baseline)
    cu = sub.add_parser("create-user", help="create a staff user; the password is read from standard input")
    cu.add_argument("--username", required=True)
    cu.add_argument("--role", required=True, choices=["admin", "operator", "officer", "head"])
    cu.add_argument("--team", help="team name (required for officers)")
    cu.add_argument("--full-name")
    cu.set_defaults(func=cmd_create_user)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
