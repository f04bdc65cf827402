"""Reading and checking the not-yet-recorded list and the partners' referral files (CSV or XLSX).

The not-yet-recorded list (the office's population system) has a header row and one row per resident:

    nik, full_name, birth_date, sex, kk_number, street, rt, rw, kelurahan_code[, phone]

(Indonesian headers ``nama``, ``tanggal_lahir``, ``jenis_kelamin`` (L/P), ``no_kk``, ``alamat``,
``kode_kelurahan``, ``telepon`` are accepted too; a CSV may use ``;``.) Every row is checked with the
intake's NIK/KK rules (:mod:`visits.intake.eligibility`: the NIK and KK well-formed, the NIK's date
of birth and sex matching, KK and address inside the service area) and the same field rules as the
request form; every bad row and field is named (:class:`OutreachRejected`) and then nothing is
stored. The parsers never echo a NIK, KK or name in a problem.

A referral file has the same resident columns (``kk_number`` optional) plus ``partner_kind``,
``partner_name``, ``group``, ``contact_name``, ``contact_phone`` and an optional ``note``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session, select

from visits.errors import InvalidInput
from visits.intake.eligibility import Applicant, evaluate, rule_in_service_area, rule_kk_valid, rule_nik_matches_birth, rule_nik_valid
from visits.intake.models import Kelurahan
from visits.intake.nik import normalise_digits
from visits.intake.schemas import KELURAHAN_CODE, RT_RW, try_normalise_phone
from visits.outreach.models import PartnerKind, ReferralGroup
from visits.reporting.baseline import BaselineRejected, Problem, read_cells

RESIDENT_FIELDS = ("nik", "full_name", "birth_date", "sex", "kk_number", "street", "rt", "rw", "kelurahan_code")
REFERRAL_FIELDS = ("partner_kind", "partner_name", "group", "contact_name", "contact_phone")
ALIASES = {
    "nik": "nik",
    "full_name": "full_name",
    "name": "full_name",
    "nama": "full_name",
    "nama_lengkap": "full_name",
    "birth_date": "birth_date",
    "tanggal_lahir": "birth_date",
    "tgl_lahir": "birth_date",
    "sex": "sex",
    "jenis_kelamin": "sex",
    "jk": "sex",
    "kk_number": "kk_number",
    "no_kk": "kk_number",
    "nomor_kk": "kk_number",
    "street": "street",
    "alamat": "street",
    "address": "street",
    "rt": "rt",
    "rw": "rw",
    "kelurahan_code": "kelurahan_code",
    "kode_kelurahan": "kelurahan_code",
    "phone": "phone",
    "telepon": "phone",
    "no_hp": "phone",
    "partner_kind": "partner_kind",
    "jenis_mitra": "partner_kind",
    "partner_name": "partner_name",
    "nama_mitra": "partner_name",
    "group": "group",
    "kelompok": "group",
    "contact_name": "contact_name",
    "nama_kontak": "contact_name",
    "contact_phone": "contact_phone",
    "telepon_kontak": "contact_phone",
    "note": "note",
    "catatan": "note",
}
SEX = {"m": "M", "l": "M", "laki-laki": "M", "male": "M", "f": "F", "p": "F", "perempuan": "F", "female": "F"}
MAX_ROWS = 20000
MAX_REFERRAL_ROWS = 5000


class OutreachRejected(InvalidInput):
    """The file (or form) was refused; ``problems`` names every bad row and field. Nothing was stored."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("outreach.import.rejected", field=problems[0].field if problems else None, count=len(problems))
        self.problems = problems


@dataclass(frozen=True)
class PersonRow:
    line: int
    nik: str
    full_name: str
    birth_date: date
    sex: str
    kk_number: str | None
    street: str
    rt: str
    rw: str
    kelurahan_id: int
    phone: str | None


@dataclass(frozen=True)
class ReferralRow:
    person: PersonRow
    partner_kind: str
    partner_name: str
    group: str
    contact_name: str
    contact_phone: str
    note: str | None


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _date(value: object) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(value)
    for fmt in ("%Y-%m-%d", "%d-%m-%Y", "%d/%m/%Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def _plain(value: str, low: int, high: int) -> bool:
    return low <= len(value) <= high and not any(ord(ch) < 32 for ch in value)


class _Area:
    def __init__(self, session: Session) -> None:
        self.by_code = {k.code: k.id for k in session.exec(select(Kelurahan)).all()}


def check_person(cell: dict[str, object], line: int, area: _Area, today: date, region_prefix: str, *, kk_required: bool) -> tuple[PersonRow | None, list[Problem]]:
    """One resident's fields checked (intake's NIK/KK rules and field rules): the row, or its problems."""
    found: list[Problem] = []
    nik = normalise_digits(_text(cell.get("nik")))
    kk = normalise_digits(_text(cell.get("kk_number")))
    name = _text(cell.get("full_name"))
    birth = _date(cell.get("birth_date"))
    sex = SEX.get(_text(cell.get("sex")).lower())
    street = _text(cell.get("street"))
    rt, rw = _text(cell.get("rt")), _text(cell.get("rw"))
    code = _text(cell.get("kelurahan_code"))
    phone_raw = _text(cell.get("phone"))
    for name_ in ("nik", "kk_number"):  # a spreadsheet number above 2^53 has lost its last digits
        raw = cell.get(name_)
        if isinstance(raw, (int, float)) and not isinstance(raw, bool) and abs(raw) >= 2**53:
            found.append(Problem(line, name_, "number_not_text"))
            nik, kk = (nik, "") if name_ == "kk_number" else ("", kk)
    if not nik and not any(p.field == "nik" for p in found):
        found.append(Problem(line, "nik", "missing"))
    if not _plain(name, 2, 200):
        found.append(Problem(line, "full_name", "missing" if not name else "text_invalid"))
    if birth is None:
        found.append(Problem(line, "birth_date", "missing" if not _text(cell.get("birth_date")) else "bad_date"))
    elif birth > today or birth.year < 1900:
        found.append(Problem(line, "birth_date", "birth_date_range"))
    if sex is None:
        found.append(Problem(line, "sex", "missing" if not _text(cell.get("sex")) else "sex_invalid"))
    if not kk and kk_required:
        found.append(Problem(line, "kk_number", "missing"))
    if not _plain(street, 3, 300):
        found.append(Problem(line, "street", "missing" if not street else "text_invalid"))
    for name_, value in (("rt", rt), ("rw", rw)):
        if not RT_RW.match(value) or int(value) == 0:
            found.append(Problem(line, name_, "missing" if not value else "rt_rw_format"))
    kelurahan_id = area.by_code.get(code) if KELURAHAN_CODE.match(code) else None
    if not code:
        found.append(Problem(line, "kelurahan_code", "missing"))
    elif kelurahan_id is None:
        found.append(Problem(line, "kelurahan_code", "not_in_service_area"))
    phone = try_normalise_phone(phone_raw) if phone_raw else None
    if phone_raw and phone is None:
        found.append(Problem(line, "phone", "phone_invalid"))
    if nik:
        # the intake's rules, on what this row says (a kelurahan already named above is not named twice)
        applicant = Applicant(
            nik=nik,
            kk_number=kk or ("0" * 16),
            birth_date=birth or date(1900, 1, 1),
            sex=sex or "M",
            marital_status="married",
            kelurahan_code=code,
            kelurahan_known=kelurahan_id is not None,
        )
        rules = [rule_nik_valid]
        if kk:
            rules += [rule_kk_valid, rule_in_service_area]
        if birth is not None and sex is not None:
            rules.append(rule_nik_matches_birth)
        for reason in evaluate(applicant, today, region_prefix, rules):
            if reason.code == "NIK_INVALID":
                found.append(Problem(line, "nik", "nik_invalid"))
            elif reason.code == "KK_INVALID":
                found.append(Problem(line, "kk_number", "kk_invalid"))
            elif reason.code == "NIK_BIRTHDATE_MISMATCH":
                found.append(Problem(line, "birth_date", "nik_birth_mismatch"))
            elif reason.code == "OUTSIDE_SERVICE_AREA" and kelurahan_id is not None:
                found.append(Problem(line, "kk_number", "outside_service_area"))
    if found:
        return None, found
    assert birth is not None and sex is not None and kelurahan_id is not None
    return PersonRow(line, nik, name, birth, sex, kk or None, street, f"{int(rt):03d}", f"{int(rw):03d}", kelurahan_id, phone), []


def _rows(cells: list[list[object]], required: tuple[str, ...], max_rows: int) -> list[tuple[int, dict[str, object]]]:
    line_of = {id(r): i + 1 for i, r in enumerate(cells)}
    rows = [r for r in cells if any(c is not None and str(c).strip() for c in r)]
    if not rows:
        raise OutreachRejected([Problem(1, "file", "empty")])
    header = [ALIASES.get(str(c or "").strip().lower().replace(" ", "_"), "") for c in rows[0]]
    missing = [f for f in required if f not in header]
    if missing:
        raise OutreachRejected([Problem(1, f, "missing_column") for f in missing])
    if len(rows) - 1 > max_rows:
        raise OutreachRejected([Problem(max_rows + 2, "file", "too_many_rows")])
    if len(rows) == 1:
        raise OutreachRejected([Problem(2, "file", "no_rows")])
    where = {f: i for i, f in enumerate(header) if f}
    return [(line_of[id(r)], {f: (r[i] if i < len(r) else None) for f, i in where.items()}) for r in rows[1:]]


def _cells(filename: str, data: bytes) -> list[list[object]]:
    try:
        return read_cells(filename, data)
    except BaselineRejected as exc:  # not UTF-8, not a workbook
        raise OutreachRejected(exc.problems) from None


def read_list(session: Session, filename: str, data: bytes, today: date, region_prefix: str) -> list[PersonRow]:
    """The not-yet-recorded list's rows, checked; raises :class:`OutreachRejected` naming every bad row and field."""
    area = _Area(session)
    problems: list[Problem] = []
    good: list[PersonRow] = []
    seen: set[str] = set()
    for line, cell in _rows(_cells(filename, data), RESIDENT_FIELDS, MAX_ROWS):
        row, found = check_person(cell, line, area, today, region_prefix, kk_required=True)
        if row is not None:
            if row.nik in seen:
                found = [Problem(line, "nik", "duplicate")]
            seen.add(row.nik)
        problems += found
        if row is not None and not found:
            good.append(row)
    if problems:
        raise OutreachRejected(problems)
    return good


def check_referral(cell: dict[str, object], line: int, area: _Area, today: date, region_prefix: str) -> tuple[ReferralRow | None, list[Problem]]:
    person, found = check_person(cell, line, area, today, region_prefix, kk_required=False)
    kind = _text(cell.get("partner_kind")).lower()
    if kind not in {k.value for k in PartnerKind}:
        found.append(Problem(line, "partner_kind", "missing" if not kind else "not_a_choice"))
    partner = _text(cell.get("partner_name"))
    if not _plain(partner, 2, 200):
        found.append(Problem(line, "partner_name", "missing" if not partner else "text_invalid"))
    group = _text(cell.get("group")).lower()
    group = {"odgj": "mental", "disabilitas": "disabled", "tirah_baring": "bedridden"}.get(group, group)
    if group not in {g.value for g in ReferralGroup}:
        found.append(Problem(line, "group", "missing" if not group else "not_a_choice"))
    contact = _text(cell.get("contact_name"))
    if not _plain(contact, 2, 200):
        found.append(Problem(line, "contact_name", "missing" if not contact else "text_invalid"))
    phone_raw = _text(cell.get("contact_phone"))
    phone = try_normalise_phone(phone_raw) if phone_raw else None
    if phone is None:
        found.append(Problem(line, "contact_phone", "missing" if not phone_raw else "phone_invalid"))
    note = _text(cell.get("note")) or None
    if note is not None and (len(note) > 2000 or any(ord(ch) < 32 and ch not in "\n\r\t" for ch in note)):
        found.append(Problem(line, "note", "text_invalid"))
    if found or person is None or phone is None:
        return None, found
    return ReferralRow(person, kind, partner, group, contact, phone, note), []


def read_referrals(session: Session, filename: str, data: bytes, today: date, region_prefix: str) -> list[ReferralRow]:
    area = _Area(session)
    problems: list[Problem] = []
    good: list[ReferralRow] = []
    for line, cell in _rows(_cells(filename, data), (*[f for f in RESIDENT_FIELDS if f != "kk_number"], *REFERRAL_FIELDS), MAX_REFERRAL_ROWS):
        row, found = check_referral(cell, line, area, today, region_prefix)
        problems += found
        if row is not None:
            good.append(row)
    if problems:
        raise OutreachRejected(problems)
    return good


def referral_form(session: Session, form: dict[str, object], today: date, region_prefix: str) -> ReferralRow:
    """One referral typed on the staff form (its problems name row 0 and the field)."""
    row, found = check_referral(form, 0, _Area(session), today, region_prefix)
    if found or row is None:
        raise OutreachRejected(found)
    return row
