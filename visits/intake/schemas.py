"""Input and output schemas for intake and tracking (table models skip validation).

Validation errors carry a stable ``type`` per field (e.g. ``nik_invalid``) that maps to the
message catalog key ``intake.err.<type>``, so every surface can name the field and explain
the problem in the user's language. Submitted values are never echoed in errors.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Literal

import phonenumbers
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from visits.intake.models import HeardVia
from visits.intake.nik import NumberError, normalise_digits, parse_kk, parse_nik
from visits.models import ConsentBy, Group, MaritalStatus

KELURAHAN_CODE = re.compile(r"^\d{2}\.\d{2}\.\d{2}\.\d{4}$")
RT_RW = re.compile(r"^\d{1,3}$")
# rough bounding box of Indonesia, to catch swapped or garbage coordinates
LAT_RANGE = (-11.5, 6.5)
LON_RANGE = (94.5, 141.5)
MAX_AVAILABILITY = 42
MAX_DATE_AHEAD_DAYS = 90


def _err(kind: str) -> PydanticCustomError:
    return PydanticCustomError(kind, kind)


class AvailabilitySlot(BaseModel):
    """When a companion can be at home: a weekday (0 = Monday) or a date, and a time range."""

    model_config = ConfigDict(extra="forbid")
    weekday: int | None = Field(default=None, ge=0, le=6)
    date: dt.date | None = None
    start: time
    end: time

    @model_validator(mode="after")
    def _shape(self) -> AvailabilitySlot:
        if (self.weekday is None) == (self.date is None):
            raise _err("availability_day")
        if self.end <= self.start:
            raise _err("availability_order")
        return self

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"start": self.start.strftime("%H:%M"), "end": self.end.strftime("%H:%M")}
        if self.weekday is not None:
            out["weekday"] = self.weekday
        else:
            out["date"] = self.date.isoformat()  # type: ignore[union-attr]
        return out


class RequestIn(BaseModel):
    """One home-visit request as submitted (web form, phone intake or the JSON API)."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    nik: str
    full_name: str = Field(min_length=2, max_length=200)
    birth_date: date
    sex: Literal["M", "F"]
    marital_status: MaritalStatus
    groups: list[Group] = Field(default_factory=list)
    disability_type: str | None = Field(default=None, max_length=100)
    approach_notes: str | None = Field(default=None, max_length=2000)
    kelurahan_code: str
    rt: str
    rw: str
    street: str = Field(min_length=3, max_length=300)
    lat: float | None = None
    lon: float | None = None
    kk_number: str
    kk_check_at_visit: bool = False
    companion_name: str = Field(min_length=2, max_length=200)
    companion_phone: str
    companion_relation: str = Field(min_length=2, max_length=50)
    availability: list[AvailabilitySlot] = Field(min_length=1, max_length=MAX_AVAILABILITY)
    accept_any_time: bool = False  # book the best slot inside the availability without asking (auto-booking)
    consent: bool = Field(default=False, validate_default=True)
    consent_by: ConsentBy = ConsentBy.GUARDIAN
    kelurahan_letter: bool | None = None
    heard_via: HeardVia | None = None  # optional: how the family heard of the service
    notes: str | None = Field(default=None, max_length=2000)

    @field_validator("nik")
    @classmethod
    def _nik(cls, v: str) -> str:
        v = normalise_digits(v)
        try:
            parse_nik(v)
        except NumberError:
            raise _err("nik_invalid") from None
        return v

    @field_validator("kk_number")
    @classmethod
    def _kk(cls, v: str) -> str:
        v = normalise_digits(v)
        try:
            parse_kk(v)
        except NumberError:
            raise _err("kk_invalid") from None
        return v

    @field_validator("full_name", "companion_name", "companion_relation", "street", "disability_type", "approach_notes", "notes")
    @classmethod
    def _printable(cls, v: str | None) -> str | None:
        if v is not None and any(ord(ch) < 32 and ch not in "\n\r\t" for ch in v):
            raise _err("text_control")
        return v or None if v is not None else None

    @field_validator("birth_date")
    @classmethod
    def _birth(cls, v: date, info: ValidationInfo) -> date:
        today = (info.context or {}).get("today") or date.today()
        if v > today or v.year < 1900:
            raise _err("birth_date_range")
        return v

    @field_validator("groups")
    @classmethod
    def _unique_groups(cls, v: list[Group]) -> list[Group]:
        return sorted(set(v), key=list(Group).index)

    @field_validator("availability")
    @classmethod
    def _dates_ahead(cls, v: list[AvailabilitySlot], info: ValidationInfo) -> list[AvailabilitySlot]:
        today = (info.context or {}).get("today") or date.today()
        for slot in v:
            if slot.date is not None and not (today <= slot.date <= today + timedelta(days=MAX_DATE_AHEAD_DAYS)):
                raise _err("availability_date_range")
        return v

    @field_validator("kelurahan_code")
    @classmethod
    def _kelurahan(cls, v: str) -> str:
        if not KELURAHAN_CODE.match(v):
            raise _err("kelurahan_code_format")
        return v

    @field_validator("rt", "rw")
    @classmethod
    def _rt_rw(cls, v: str) -> str:
        if not RT_RW.match(v) or int(v) == 0:
            raise _err("rt_rw_format")
        return f"{int(v):03d}"

    @field_validator("lat")
    @classmethod
    def _lat(cls, v: float | None) -> float | None:
        if v is not None and not LAT_RANGE[0] <= v <= LAT_RANGE[1]:
            raise _err("coordinate_range")
        return v

    @field_validator("lon")
    @classmethod
    def _lon(cls, v: float | None) -> float | None:
        if v is not None and not LON_RANGE[0] <= v <= LON_RANGE[1]:
            raise _err("coordinate_range")
        return v

    @field_validator("companion_phone")
    @classmethod
    def _phone(cls, v: str) -> str:
        return normalise_phone(v)

    @field_validator("consent")
    @classmethod
    def _consent(cls, v: bool) -> bool:
        if v is not True:
            raise _err("consent_required")
        return v

    @model_validator(mode="after")
    def _pairs(self) -> RequestIn:
        if (self.lat is None) != (self.lon is None):
            raise PydanticCustomError("coordinate_pair", "coordinate_pair", {"field": "lat" if self.lat is None else "lon"})
        return self

    def groups_set(self) -> frozenset[str]:
        return frozenset(g.value for g in self.groups)

    def availability_json(self) -> list[dict[str, Any]]:
        return [slot.as_json() for slot in self.availability]

    def fingerprint(self, channel: str, kk_sha256: str | None) -> str:
        """Hash of the normalised body (idempotent retries must send the same request)."""
        body = self.model_dump(mode="json")
        body["_channel"] = channel
        body["_kk"] = kk_sha256
        return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def normalise_phone(value: str) -> str:
    """An Indonesian phone number in E.164 (``+62...``) or a ``phone_invalid`` error."""
    try:
        parsed = phonenumbers.parse(value, "ID")
    except phonenumbers.NumberParseException:
        raise _err("phone_invalid") from None
    if parsed.country_code != 62 or not phonenumbers.is_valid_number(parsed):
        raise _err("phone_invalid")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def try_normalise_phone(value: str) -> str | None:
    try:
        return normalise_phone(value)
    except PydanticCustomError:
        return None


@dataclass(frozen=True)
class FieldError:
    field: str
    code: str  # catalog key suffix: intake.err.<code>


_GENERIC = {
    "missing": "missing",
    "string_too_short": "too_short",
    "string_too_long": "too_long",
    "too_short": "too_short_list",
    "too_long": "too_long_list",
    "literal_error": "choice",
    "enum": "choice",
    "bool_parsing": "bool",
    "bool_type": "bool",
    "date_parsing": "date",
    "date_from_datetime_parsing": "date",
    "date_type": "date",
    "time_parsing": "time",
    "time_type": "time",
    "float_parsing": "number",
    "float_type": "number",
    "int_parsing": "number",
    "greater_than_equal": "choice",
    "less_than_equal": "choice",
    "extra_forbidden": "availability_format",
    "model_type": "availability_format",
    "list_type": "availability_format",
    "dict_type": "availability_format",
}


def field_errors(exc: ValidationError) -> list[FieldError]:
    """One error per field (the first), named by the top-level input field."""
    seen: dict[str, FieldError] = {}
    for err in exc.errors():
        loc = [str(p) for p in err["loc"]]
        ctx = err.get("ctx") or {}
        field = str(ctx.get("field") or (loc[0] if loc else "request"))
        kind = err["type"]
        code = kind if kind.startswith(("nik_", "kk_", "phone_", "consent_", "availability_", "coordinate_", "kelurahan_", "rt_", "birth_", "text_")) else _GENERIC.get(kind, "invalid")
        if field == "availability" and code in ("missing", "choice", "time", "date", "number"):
            code = "availability_format"
        seen.setdefault(field, FieldError(field, code))
    return list(seen.values())


def validate_request(raw: dict[str, Any], today: date) -> tuple[RequestIn | None, list[FieldError]]:
    try:
        return RequestIn.model_validate(raw, context={"today": today}), []
    except ValidationError as exc:
        return None, field_errors(exc)


class ReasonOut(BaseModel):
    code: str
    message: str
    next_step: str


class SlotOut(BaseModel):
    day: date
    start: str
    end: str
    status: str  # "offered" | "booked"
    offer_id: str | None = None  # for confirming an offered slot (the token holder only)


class SubmitAnswer(BaseModel):
    reference: str
    tracking_token: str
    status: str
    eligible: bool
    reasons: list[ReasonOut]
    first_answer_due: datetime


class TrackSummary(BaseModel):
    """What a family may see: never NIK, KK, address, phone or group."""

    reference: str
    status: str
    eligible: bool
    reasons: list[ReasonOut]
    next_step: str
    first_answer_due: datetime
    slots: list[SlotOut] = Field(default_factory=list)
