"""NIK/KK structure and the eligibility rules (pure, table-driven; ``today`` is a parameter)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from visits.intake.eligibility import RULES, Applicant, age_on, evaluate
from visits.intake.nik import NumberError, is_valid_kk, parse_kk, parse_nik

TODAY = date(2026, 11, 22)
PREFIX = "3576"


def nik(birth: date, female: bool = False, region: str = "357601", serial: str = "0001") -> str:
    day = birth.day + (40 if female else 0)
    return f"{region}{day:02d}{birth.month:02d}{birth.year % 100:02d}{serial}"


def applicant(birth: date = date(1950, 3, 14), female: bool = True, **kw) -> Applicant:
    base = Applicant(
        nik=nik(birth, female),
        kk_number="3576011503180007",
        birth_date=birth,
        sex="F" if female else "M",
        marital_status="widowed",
        groups=frozenset({"elderly"}),
        kelurahan_code="35.76.01.1003",
        has_kk_document=True,
    )
    return replace(base, **kw)


def codes(a: Applicant, today: date = TODAY) -> list[str]:
    return [r.code for r in evaluate(a, today, PREFIX)]


# ---------------------------------------------------------------- NIK and KK structure


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("357601140350000", "length"),  # 15 digits
        ("35760114035000011", "length"),  # 17 digits
        ("35760114035O0001", "length"),  # letter O
        ("３５７６０１１４０３５００００１", "length"),  # full-width digits
        ("0076011403500001", "region"),  # province 00
        ("3500011403500001", "region"),  # city 00
        ("3576001403500001", "region"),  # kecamatan 00
        ("3576013203500001", "date"),  # day 32
        ("3576013903500001", "date"),  # day 39 (neither man nor woman)
        ("3576017203500001", "date"),  # day 72 (woman's 32)
        ("3576011413500001", "date"),  # month 13
        ("3576013002500001", "date"),  # 30 February
        ("3576012902010001", "date"),  # 29 Feb '01: no leap year in 1901 or 2001
        ("3576011403500000", "serial"),
    ],
)
def test_malformed_nik(value: str, reason: str) -> None:
    with pytest.raises(NumberError) as err:
        parse_nik(value)
    assert err.value.reason == reason


@pytest.mark.parametrize(
    ("value", "day", "month", "female"),
    [
        ("3576011403500001", 14, 3, False),
        ("3576015403500001", 14, 3, True),  # woman: day + 40
        ("3576014101500001", 1, 1, True),  # woman, day 41 = 1st
        ("3576017101500001", 31, 1, True),  # woman, day 71 = 31st
        ("3576016902000001", 29, 2, True),  # woman born 29 Feb 2000
        ("3576012902480001", 29, 2, False),  # 29 Feb '48 (1948 leap)
        ("3576 0114 0350 0001", 14, 3, False),  # spaces typed by people
    ],
)
def test_wellformed_nik(value: str, day: int, month: int, female: bool) -> None:
    parsed = parse_nik(value)
    assert (parsed.birth_day, parsed.birth_month, parsed.female) == (day, month, female)


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("3576011503180007", True),
        ("3516011503180007", True),  # Kabupaten Mojokerto: well-formed, outside the area
        ("357601150318000", False),
        ("3576013203180007", False),  # day 32 (no +40 on a KK)
        ("3576015503180007", False),  # day 55 is not a date on a KK
        ("3576011503180000", False),
        ("0000001503180007", False),
    ],
)
def test_kk_structure(value: str, ok: bool) -> None:
    assert is_valid_kk(value) is ok
    if ok:
        assert parse_kk(value).region == value[:6]


# ---------------------------------------------------------------- the rules, table-driven


def _years_ago(years: int, today: date = TODAY, days: int = 0) -> date:
    from datetime import timedelta

    return date(today.year - years, today.month, today.day) + timedelta(days=days)


CASES = [
    # (name, applicant, today, expected codes)
    ("eligible elderly woman", applicant(), TODAY, []),
    ("no kelurahan letter is still eligible", applicant(kelurahan_letter=False), TODAY, []),
    ("letter unknown is still eligible", applicant(kelurahan_letter=None), TODAY, []),
    ("NIK malformed", applicant(nik="123"), TODAY, ["NIK_INVALID"]),
    ("KK malformed", applicant(kk_number="3576011503180000"), TODAY, ["KK_INVALID"]),
    ("KK impossible date", applicant(kk_number="3576013102180007"), TODAY, ["KK_INVALID"]),
    ("woman entered as man", applicant(sex="M"), TODAY, ["NIK_BIRTHDATE_MISMATCH"]),
    ("man's NIK, woman entered", replace(applicant(female=False), sex="F"), TODAY, ["NIK_BIRTHDATE_MISMATCH"]),
    ("birth date differs from NIK", applicant(birth_date=date(1950, 3, 15)), TODAY, ["NIK_BIRTHDATE_MISMATCH"]),
    ("birth year differs from NIK", applicant(birth_date=date(1951, 3, 14)), TODAY, ["NIK_BIRTHDATE_MISMATCH"]),
    ("woman day 41", applicant(date(1950, 1, 1)), TODAY, []),
    ("woman day 71", applicant(date(1950, 1, 31)), TODAY, []),
    ("woman day 41..71 all consistent", None, TODAY, []),
    ("29 February, woman", applicant(date(1960, 2, 29)), TODAY, []),
    ("29 February, man", applicant(date(1948, 2, 29), female=False), TODAY, []),
    ("KK from Kabupaten Mojokerto 3516", applicant(kk_number="3516011503180007"), TODAY, ["OUTSIDE_SERVICE_AREA"]),
    ("kelurahan outside the area", applicant(kelurahan_code="35.16.01.2001", kelurahan_known=False), TODAY, ["OUTSIDE_SERVICE_AREA"]),
    ("KK inside, kelurahan code of another city", applicant(kelurahan_code="35.15.02.2003", kelurahan_known=False), TODAY, ["OUTSIDE_SERVICE_AREA"]),
    ("KK and kelurahan both outside: one reason", applicant(kk_number="3516011503180007", kelurahan_code="35.16.01.2001", kelurahan_known=False), TODAY, ["OUTSIDE_SERVICE_AREA"]),
    ("a kelurahan row under another region's code is outside", applicant(kelurahan_code="35.16.01.2001", kelurahan_known=True), TODAY, ["OUTSIDE_SERVICE_AREA"]),
    (
        "outside and under age: every reason is told",
        applicant(_years_ago(16), groups=frozenset({"disabled"}), marital_status="single", kelurahan_code="35.16.01.2001", kelurahan_known=False),
        TODAY,
        ["OUTSIDE_SERVICE_AREA", "UNDER_AGE"],
    ),
    ("NIK registered elsewhere is fine", applicant(nik=nik(date(1950, 3, 14), True, region="351601")), TODAY, []),
    ("16, single, disabled: under age", applicant(_years_ago(16), groups=frozenset({"disabled"}), marital_status="single"), TODAY, ["UNDER_AGE"]),
    ("16, married, disabled: eligible", applicant(_years_ago(16), groups=frozenset({"disabled"}), marital_status="married"), TODAY, []),
    ("16, divorced, bedridden: eligible", applicant(_years_ago(16), groups=frozenset({"bedridden"}), marital_status="divorced"), TODAY, []),
    ("17th birthday today, single, mental", applicant(_years_ago(17), groups=frozenset({"mental"}), marital_status="single"), TODAY, []),
    ("17th birthday tomorrow, single", applicant(_years_ago(17, days=1), groups=frozenset({"mental"}), marital_status="single"), TODAY, ["UNDER_AGE"]),
    ("60th birthday today, elderly", applicant(_years_ago(60), marital_status="married"), TODAY, []),
    ("60th birthday tomorrow, only elderly", applicant(_years_ago(60, days=1), marital_status="married"), TODAY, ["NOT_IN_SERVED_GROUP"]),
    ("59, elderly claimed but also disabled", applicant(_years_ago(59), groups=frozenset({"elderly", "disabled"})), TODAY, []),
    ("65 without a ticked group is elderly by birth date", applicant(groups=frozenset()), TODAY, []),
    ("40, no group", applicant(_years_ago(40), groups=frozenset()), TODAY, ["NOT_IN_SERVED_GROUP"]),
    ("no KK and not to check", applicant(has_kk_document=False), TODAY, ["KK_MISSING"]),
    ("no KK, to check at the visit", applicant(has_kk_document=False, kk_check_at_visit=True), TODAY, []),
    ("open request exists", applicant(has_open_request=True), TODAY, ["DUPLICATE_OPEN_REQUEST"]),
    (
        "several failures at once",
        applicant(_years_ago(30), groups=frozenset(), kk_number="3516011503180007", has_kk_document=False),
        TODAY,
        ["OUTSIDE_SERVICE_AREA", "NOT_IN_SERVED_GROUP", "KK_MISSING"],
    ),
]


@pytest.mark.parametrize(("name", "a", "today", "expected"), CASES, ids=[c[0] for c in CASES])
def test_rules(name: str, a: Applicant | None, today: date, expected: list[str]) -> None:
    if a is None:  # every woman's day 41..71 of a 31-day month
        for day in range(1, 32):
            assert codes(applicant(date(1950, 1, day))) == []
            assert parse_nik(nik(date(1950, 1, day), True)).birth_day == day
        return
    assert codes(a, today) == expected


def test_29_february_birthday_in_common_year() -> None:
    born = date(2008, 2, 29)
    assert age_on(born, date(2025, 2, 28)) == 16
    assert age_on(born, date(2025, 3, 1)) == 17
    a = applicant(born, groups=frozenset({"disabled"}), marital_status="single")
    assert codes(a, date(2025, 2, 28)) == ["UNDER_AGE"]
    assert codes(a, date(2025, 3, 1)) == []
    assert codes(a, date(2024, 2, 29)) == ["UNDER_AGE"]  # 16th birthday


def test_rules_are_pure_and_named() -> None:
    a = applicant(_years_ago(17, days=1), groups=frozenset({"mental"}), marital_status="single")
    assert codes(a, TODAY) == codes(a, TODAY)
    assert codes(a, date(TODAY.year, TODAY.month, TODAY.day + 1)) == []  # the birthday arrives
    assert all(rule.__name__.startswith("rule_") for rule in RULES)


def test_every_reason_has_both_languages_and_a_next_step() -> None:
    from visits.intake.eligibility import REASONS

    assert set(REASONS) == {
        "NIK_INVALID",
        "KK_INVALID",
        "NIK_BIRTHDATE_MISMATCH",
        "OUTSIDE_SERVICE_AREA",
        "UNDER_AGE",
        "NOT_IN_SERVED_GROUP",
        "KK_MISSING",
        "DUPLICATE_OPEN_REQUEST",
    }
    for r in REASONS.values():
        assert r.message("id") and r.message("en") and r.next_step("id") and r.next_step("en")
        assert r.message("id") != r.message("en")
    assert "kabupaten/kota" in REASONS["OUTSIDE_SERVICE_AREA"].next_step("id")


# ---------------------------------------------------------------- properties


from hypothesis import given  # noqa: E402
from hypothesis import settings as hsettings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@hsettings(max_examples=300, deadline=None)
@given(birth=st.dates(min_value=date(1900, 1, 1), max_value=date(2026, 11, 22)), female=st.booleans(), serial=st.integers(1, 9999))
def test_any_real_birth_date_makes_a_consistent_nik(birth: date, female: bool, serial: int) -> None:
    value = nik(birth, female, serial=f"{serial:04d}")
    parsed = parse_nik(value)
    assert parsed.matches_birth_date(birth) and parsed.female == female
    a = applicant(birth, female=female, groups=frozenset({"disabled"}), marital_status="married")
    assert "NIK_BIRTHDATE_MISMATCH" not in codes(replace(a, nik=value))


@hsettings(max_examples=300, deadline=None)
@given(st.text(max_size=20))
def test_parsers_never_crash(value: str) -> None:
    for parser in (parse_nik, parse_kk):
        try:
            parser(value)
        except NumberError:
            pass
