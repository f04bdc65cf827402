"""Eligibility for a home recording visit (the KK-only rule), as small named pure rules.

Each rule looks at an :class:`Applicant` and the day (``today``) and returns a
:class:`Reason` when it fails, else ``None``. A reason carries a stable code, a message in
Bahasa Indonesia and in English, and the next step for the family. A kelurahan letter is
never a rule.

NIK_INVALID and KK_INVALID are also checked by the input schema (answered 422, nothing
stored); the other failures are stored on the request with status ``ineligible``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date

from visits.intake.nik import NumberError, parse_kk, parse_nik

ADULT_AGE = 17
ELDERLY_AGE = 60
MARRIED_EVER = frozenset({"married", "divorced", "widowed"})
NON_AGE_GROUPS = frozenset({"disabled", "mental", "bedridden"})


@dataclass(frozen=True)
class Applicant:
    nik: str
    kk_number: str
    birth_date: date
    sex: str  # "M" | "F"
    marital_status: str
    groups: frozenset[str] = field(default_factory=frozenset)
    kelurahan_code: str = ""  # "35.76.01.1003"
    kelurahan_known: bool = True  # one of the service area's Kelurahan rows
    has_kk_document: bool = False
    kk_check_at_visit: bool = False
    has_open_request: bool = False
    kelurahan_letter: bool | None = None  # recorded for socialisation; never used by a rule


@dataclass(frozen=True)
class Reason:
    code: str
    message_id: str
    message_en: str
    next_step_id: str
    next_step_en: str

    def message(self, lang: str) -> str:
        return self.message_en if lang == "en" else self.message_id

    def next_step(self, lang: str) -> str:
        return self.next_step_en if lang == "en" else self.next_step_id


REASONS: dict[str, Reason] = {
    r.code: r
    for r in (
        Reason(
            "NIK_INVALID",
            "NIK tidak sesuai format (16 angka: kode wilayah, tanggal lahir, nomor urut).",
            "The NIK is not well-formed (16 digits: region, date of birth, serial).",
            "Salin NIK persis seperti tertulis di Kartu Keluarga.",
            "Copy the NIK exactly as printed on the family card (KK).",
        ),
        Reason(
            "KK_INVALID",
            "Nomor KK tidak sesuai format (16 angka).",
            "The KK number is not well-formed (16 digits).",
            "Salin nomor KK persis seperti tertulis di bagian atas Kartu Keluarga.",
            "Copy the number printed at the top of the family card (KK).",
        ),
        Reason(
            "NIK_BIRTHDATE_MISMATCH",
            "Tanggal lahir atau jenis kelamin tidak cocok dengan NIK.",
            "The date of birth or sex does not match the NIK.",
            "Periksa kembali tanggal lahir dan NIK di Kartu Keluarga, lalu ajukan lagi atau hubungi kami lewat telepon.",
            "Check the date of birth and the NIK on the family card, then apply again or call us.",
        ),
        Reason(
            "OUTSIDE_SERVICE_AREA",
            "Kartu Keluarga atau alamat berada di luar wilayah layanan kami.",
            "The family card or the address is outside our service area.",
            "Silakan hubungi Dispendukcapil kabupaten/kota yang menerbitkan Kartu Keluarga Anda.",
            "Please contact the civil registry office of the city or regency that issued your family card.",
        ),
        Reason(
            "UNDER_AGE",
            "Perekaman KTP-el untuk warga berusia 17 tahun atau yang sudah/pernah menikah.",
            "E-KTP recording is for residents aged 17 or older, or married or ever married.",
            "Ajukan kembali setelah ulang tahun ke-17.",
            "Apply again after the 17th birthday.",
        ),
        Reason(
            "NOT_IN_SERVED_GROUP",
            "Layanan di rumah untuk lansia (60 tahun ke atas), penyandang disabilitas, ODGJ, dan warga yang terbaring sakit.",
            "Home visits are for the elderly (60 or older), people with disabilities, people with mental disorders and the bedridden.",
            "Silakan datang ke kantor Dispendukcapil untuk perekaman, atau hubungi kami bila ada kondisi khusus.",
            "Please come to the civil registry office to record, or call us if there is a special condition.",
        ),
        Reason(
            "KK_MISSING",
            "Foto atau fotokopi Kartu Keluarga belum dilampirkan.",
            "A photo or photocopy of the family card (KK) is missing.",
            "Lampirkan foto Kartu Keluarga (JPEG, PNG atau PDF). Surat dari kelurahan tidak diperlukan.",
            "Attach a photo of the family card (JPEG, PNG or PDF). A letter from the kelurahan is not needed.",
        ),
        Reason(
            "DUPLICATE_OPEN_REQUEST",
            "Sudah ada permohonan yang sedang diproses untuk warga ini.",
            "A request for this resident is already being handled.",
            "Tunggu kabar dari kami, atau hubungi kantor lewat telepon.",
            "Wait for our answer, or call the office.",
        ),
    )
}

Rule = Callable[[Applicant, date, str], "Reason | None"]


def age_on(birth: date, today: date) -> int:
    """Completed years. Someone born on 29 February turns a year older on 1 March in common years."""
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def _digits_of_code(code: str) -> str:
    return code.replace(".", "")


def rule_nik_valid(a: Applicant, today: date, region_prefix: str) -> Reason | None:
    try:
        parse_nik(a.nik)
    except NumberError:
        return REASONS["NIK_INVALID"]
    return None


def rule_kk_valid(a: Applicant, today: date, region_prefix: str) -> Reason | None:
    try:
        parse_kk(a.kk_number)
    except NumberError:
        return REASONS["KK_INVALID"]
    return None


def rule_nik_matches_birth(a: Applicant, today: date, region_prefix: str) -> Reason | None:
    try:
        nik = parse_nik(a.nik)
    except NumberError:
        return None  # reported by rule_nik_valid
    if not (nik.matches_birth_date(a.birth_date) and nik.matches_sex(a.sex)):
        return REASONS["NIK_BIRTHDATE_MISMATCH"]
    return None


def rule_in_service_area(a: Applicant, today: date, region_prefix: str) -> Reason | None:
    try:
        kk_inside = parse_kk(a.kk_number).in_region(region_prefix)
    except NumberError:
        kk_inside = True  # reported by rule_kk_valid
    address_inside = a.kelurahan_known and _digits_of_code(a.kelurahan_code).startswith(region_prefix)
    if not (kk_inside and address_inside):
        return REASONS["OUTSIDE_SERVICE_AREA"]
    return None


def rule_adult_or_married(a: Applicant, today: date, region_prefix: str) -> Reason | None:
    if age_on(a.birth_date, today) < ADULT_AGE and a.marital_status not in MARRIED_EVER:
        return REASONS["UNDER_AGE"]
    return None


def rule_in_served_group(a: Applicant, today: date, region_prefix: str) -> Reason | None:
    elderly = age_on(a.birth_date, today) >= ELDERLY_AGE
    if elderly or (a.groups & NON_AGE_GROUPS):
        return None
    return REASONS["NOT_IN_SERVED_GROUP"]


def rule_kk_attached(a: Applicant, today: date, region_prefix: str) -> Reason | None:
    if a.has_kk_document or a.kk_check_at_visit:
        return None
    return REASONS["KK_MISSING"]


def rule_no_open_request(a: Applicant, today: date, region_prefix: str) -> Reason | None:
    return REASONS["DUPLICATE_OPEN_REQUEST"] if a.has_open_request else None


RULES: tuple[Rule, ...] = (
    rule_nik_valid,
    rule_kk_valid,
    rule_nik_matches_birth,
    rule_in_service_area,
    rule_adult_or_married,
    rule_in_served_group,
    rule_kk_attached,
    rule_no_open_request,
)

MALFORMED_CODES = frozenset({"NIK_INVALID", "KK_INVALID"})


def evaluate(applicant: Applicant, today: date, region_prefix: str, rules: Sequence[Rule] = RULES) -> list[Reason]:
    """Every failing rule's reason, in rule order (empty: eligible)."""
    found = (rule(applicant, today, region_prefix) for rule in rules)
    return [r for r in found if r is not None]


def reason_for(code: str) -> Reason:
    return REASONS[code]
