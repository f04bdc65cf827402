"""Structure of the NIK (national identity number) and the KK (family card) number.

NIK: ``PP KK CC DDMMYY SSSS`` — province, city/regency, kecamatan of registration, date of
birth with 40 added to the day for women, serial (never 0000). No checksum exists.
KK number: 6-digit region code, an issue date ``DDMMYY``, a 4-digit serial (never 0000).

Both parsers are pure and never log or echo the number they are given.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

FEMALE_DAY_OFFSET = 40


class NumberError(ValueError):
    """A malformed NIK or KK number; ``reason`` is a short machine code (length, region, date, serial)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Nik:
    region: str  # 6 digits: province, city/regency, kecamatan of registration
    birth_day: int  # 1..31 (the 40 for women already removed)
    birth_month: int
    birth_yy: int  # two-digit year
    female: bool
    serial: str

    @property
    def province(self) -> str:
        return self.region[:2]

    @property
    def city(self) -> str:
        return self.region[:4]

    def matches_birth_date(self, birth: date) -> bool:
        return (self.birth_day, self.birth_month, self.birth_yy) == (birth.day, birth.month, birth.year % 100)

    def matches_sex(self, sex: str) -> bool:
        return self.female == (sex == "F")


@dataclass(frozen=True)
class KkNumber:
    region: str  # 6 digits
    issue_day: int
    issue_month: int
    issue_yy: int
    serial: str

    def in_region(self, prefix: str) -> bool:
        return self.region.startswith(prefix)


def normalise_digits(value: str) -> str:
    """Drop spaces, dots and dashes people type inside long numbers."""
    return "".join(ch for ch in value if ch not in " .-\u00a0\t")


def _check_length(value: str) -> None:
    if len(value) != 16 or not value.isdigit() or not value.isascii():
        raise NumberError("length")


def _check_region(region: str) -> None:
    province, city, kecamatan = int(region[:2]), int(region[2:4]), int(region[4:6])
    if province < 11 or city == 0 or kecamatan == 0:
        raise NumberError("region")


def _date_possible(day: int, month: int, yy: int) -> bool:
    """True when DD-MM exists in 19YY or 20YY (so 29-02-00 is possible: 2000 was a leap year)."""
    for century in (1900, 2000):
        try:
            date(century + yy, month, day)
            return True
        except ValueError:
            continue
    return False


def parse_nik(value: str) -> Nik:
    """Parse a NIK or raise :class:`NumberError`."""
    value = normalise_digits(value)
    _check_length(value)
    _check_region(value[:6])
    day, month, yy = int(value[6:8]), int(value[8:10]), int(value[10:12])
    female = day > FEMALE_DAY_OFFSET
    if female:
        day -= FEMALE_DAY_OFFSET
    if not _date_possible(day, month, yy):
        raise NumberError("date")
    if value[12:] == "0000":
        raise NumberError("serial")
    return Nik(region=value[:6], birth_day=day, birth_month=month, birth_yy=yy, female=female, serial=value[12:])


def parse_kk(value: str) -> KkNumber:
    """Parse a KK number or raise :class:`NumberError`."""
    value = normalise_digits(value)
    _check_length(value)
    _check_region(value[:6])
    day, month, yy = int(value[6:8]), int(value[8:10]), int(value[10:12])
    if not _date_possible(day, month, yy):
        raise NumberError("date")
    if value[12:] == "0000":
        raise NumberError("serial")
    return KkNumber(region=value[:6], issue_day=day, issue_month=month, issue_yy=yy, serial=value[12:])


def is_valid_nik(value: str) -> bool:
    try:
        parse_nik(value)
        return True
    except NumberError:
        return False


def is_valid_kk(value: str) -> bool:
    try:
        parse_kk(value)
        return True
    except NumberError:
        return False


def mask(value: str | None) -> str:
    """Show only the region and the last two digits (for staff lists): ``3576 01•• •••• ••12``
    (an anonymised resident's erased number: empty)."""
    if value is None:
        return ""
    if len(value) != 16:
        return "•" * len(value)
    return f"{value[:4]} {value[4:6]}•• •••• ••{value[-2:]}"
