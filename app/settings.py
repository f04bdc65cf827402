"""Settings from the environment (prefix ``JEMPUT_``)."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATA_DIR = Path.cwd() / "data"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="JEMPUT_", extra="ignore")

    data_dir: Path = Field(default=DEFAULT_DATA_DIR, description="Folder for the SQLite file, the secret key and uploads.")
    database_url: str = Field(default="", description="SQLAlchemy URL; default sqlite:///<data_dir>/jemput.db.")
    secret_key: str = Field(default="", description="Signing key; generated and kept in <data_dir>/secret_key when unset.")
    data_keys: str = Field(
        default="secret",
        description="Keys sealing NIK and KK numbers at rest: comma-separated <id>:<base64 32 bytes>, the current one first, older ones until `jemput rotate-data-key` has run; 'secret' is the key derived from the secret key.",
    )
    office_name: str = "Dinas Kependudukan dan Pencatatan Sipil Kota Mojokerto"
    office_phone: str = "+62321000000"
    region_prefix: str = Field(default="3576", description="Service-area region code (KK/kelurahan prefix).")
    coverage_target: float = 0.995
    card_delivery_days: int = Field(default=14, ge=1, description="E-KTP cards not handed over within this many days of the recording are flagged.")
    default_language: str = "id"
    timezone: str = "Asia/Jakarta"
    public_base_url: str = "http://127.0.0.1:8000"
    sqlite_busy_timeout_ms: int = 5000
    session_hours: int = 12
    login_max_failures: int = 5
    login_lockout_minutes: int = 15
    secure_cookies: bool = False
    trusted_proxies: str = Field(default="", description="Comma-separated addresses (or CIDR ranges) of reverse proxies whose X-Forwarded-For / X-Forwarded-Proto are believed; none by default.")
    map_tile_url: str = ""
    # intake, tracking and notifications (added by the intake issue)
    notify_provider: str = Field(default="log", description="'log' (no personal data) or 'webhook'.")
    notify_webhook_url: str = ""
    notify_webhook_timeout: float = 5.0
    notify_max_attempts: int = 5
    notify_backoff_seconds: float = 30.0
    upload_max_bytes: int = 5 * 1024 * 1024
    upload_form_max_bytes: int = Field(default=25 * 1024 * 1024, description="Largest body the request FORMS read (so an over-limit photo is refused on a page that keeps what was typed).")
    kk_retention_days: int = 90
    retention_days: int = Field(default=730, ge=30, description="Requests closed (visited, cancelled, ineligible, closed) for longer than this are anonymised by `jemput anonymise-closed`.")
    track_rate_limit: int = 20
    track_rate_window_seconds: int = 60
    intake_rate_limit: int = 30
    intake_rate_window_seconds: int = 3600
    # slots, holds and bookings
    slot_window_minutes: int = 60
    slot_offer_count: int = Field(default=3, ge=1, le=5)
    planning_horizon_days: int = Field(default=10, ge=1, le=60, description="Working days offered ahead.")
    hold_minutes_phone: int = 15
    hold_minutes_web: int = 24 * 60
    change_cutoff: str = Field(default="18:00", description="Families may reschedule/cancel until this time on the day before the visit.")
    replan_time_limit_seconds: float = 2.0
    replan_busy_time_limit_seconds: float = Field(
        default=0.3, gt=0, description="Solver time of a re-plan while other re-plans wait (PostgreSQL job queue); a full-time polish of that team-day is queued after it."
    )
    worker_nice: int = Field(default=10, ge=0, le=19, description="CPU niceness of `jemput worker` processes: solves yield the CPU to web requests on a shared host.")
    solver_warm_start: bool = Field(default=True, description="Start the solver process with the app (else on the first re-plan).")
    log_format: str = Field(default="text", description="'text' or 'json' (one JSON object per line with a request id: for a log collector).")
    job_queue: str = Field(default="auto", description="'auto' (PostgreSQL's job queue when the database is PostgreSQL, else in-process), 'process' or 'postgres'.")
    stalled_worker_seconds: float = Field(default=30.0, ge=2.0, description="A job worker without a heartbeat for this long is dead: its jobs run again.")
    replan_sweep_seconds: float = Field(default=300.0, description="How often team-days whose version has no plan (a lost re-plan) are re-planned; also at start-up.")
    # travel times
    travel_detour: float = 1.3
    travel_speed_kmh: float = 25.0
    osrm_url: str = Field(default="", description="OSRM server for road travel times; geodesic estimate when empty.")
    db_pool_size: int = Field(default=10, ge=1, le=200, description="PostgreSQL connections each process keeps open (SQLAlchemy's pool_size).")
    db_max_overflow: int = Field(default=20, ge=0, le=200, description="PostgreSQL connections each process may open beyond the pool under load.")
    osrm_max_table_size: int = Field(default=100, ge=1, description="The OSRM server's --max-table-size: each table request asks at most its square of pairs (sources x destinations).")
    # outreach (the not-yet-recorded list, referrals, the call list)
    outreach_retention_days: int = Field(
        default=180, ge=1, description="Outreach rows (the imported not-yet-recorded list, referrals, call results) are deleted this many days after they were last imported or referred."
    )
    outreach_max_attempts: int = Field(default=3, ge=1, le=10, description="Unanswered calls before a candidate is no longer called (not reachable).")
    # administration (teams, calendar)
    collective_leave: bool = Field(default=True, description="Collective-leave days (cuti bersama, the holidays package's government category) close the office unless overridden per day.")

    @field_validator("default_language")
    @classmethod
    def _lang(cls, v: str) -> str:
        if v not in ("id", "en"):
            raise ValueError("default_language must be 'id' or 'en'")
        return v

    @field_validator("region_prefix")
    @classmethod
    def _prefix(cls, v: str) -> str:
        if not (v.isdigit() and len(v) in (2, 4)):
            raise ValueError("region_prefix must be 2 or 4 digits")
        return v

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{self.data_dir / 'jemput.db'}"

    def resolved_secret_key(self) -> str:
        """The configured key, or one generated on first run and kept in the data folder. Never
        generated on PostgreSQL: several processes and hosts must sign with one key, so it comes
        from the environment (``JEMPUT_SECRET_KEY``)."""
        if self.secret_key:
            return self.secret_key
        if self.resolved_database_url().startswith("postgresql"):
            raise RuntimeError(
                "JEMPUT_SECRET_KEY must be set when the database is PostgreSQL (every web process and host signs with the same key); generate one with: python -c 'import secrets; print(secrets.token_urlsafe(48))'"
            )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        path = self.data_dir / "secret_key"
        if not path.exists():
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()

    @property
    def upload_dir(self) -> Path:
        return self.data_dir / "uploads"


OFFICE_FILE = "office.env"  # written by ``jemput init-office``; the environment still wins


@lru_cache
def get_settings() -> Settings:
    """The settings: the environment, then ``<data_dir>/office.env`` (the office set up by
    ``jemput init-office``: name, phone, region prefix, time zone), then the defaults."""
    base = Settings()
    office_file = base.data_dir / OFFICE_FILE
    return Settings(_env_file=office_file) if office_file.is_file() else base  # type: ignore[call-arg]
