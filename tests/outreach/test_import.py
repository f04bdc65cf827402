"""The not-yet-recorded import: every row checked with the intake's NIK/KK rules, bad rows named and
nothing stored, a re-import updates by NIK, and who recorded or asked since drops out."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func
from sqlmodel import select

from tests.outreach.support import CFG, NOW, TZ, area, csv_of, nik_for, person, resident_with, xlsx_of
from visits.models import OutreachResident, RequestStatus
from visits.outreach.importer import OutreachRejected
from visits.outreach.queries import candidates, still_to_reach
from visits.outreach.service import import_list, purge_expired
from visits.reporting.baseline import Problem


def _count(session) -> int:
    return session.exec(select(func.count()).select_from(OutreachResident)).one()


def test_a_good_csv_is_stored_one_row_per_nik(session) -> None:
    area(session)
    a, b = person(date(1950, 3, 15)), person(date(1940, 7, 1), "F", name="Siti")
    summary = import_list(session, "list.csv", csv_of(a, b), now=NOW, cfg=CFG)
    assert (summary.rows, summary.added, summary.updated) == (2, 2, 0)
    rows = {r.nik: r for r in session.exec(select(OutreachResident)).all()}
    assert set(rows) == {a[0], b[0]}
    siti = rows[b[0]]
    assert (siti.full_name, siti.birth_date, siti.sex, siti.rt, siti.rw, siti.phone, siti.listed) == ("Siti", date(1940, 7, 1), "F", "001", "002", "+6281234567890", True)
    assert siti.delete_after == NOW + timedelta(days=CFG.retention_days)


def test_an_xlsx_file_is_read_the_same_way(session) -> None:
    area(session)
    import_list(session, "list.xlsx", xlsx_of(person(date(1950, 3, 15)), person(date(1945, 1, 2))), now=NOW, cfg=CFG)
    assert _count(session) == 2


def test_a_bad_nik_names_its_row_and_nothing_is_stored(session) -> None:
    area(session)
    good = person(date(1950, 3, 15))
    bad = person(date(1950, 3, 15), nik="3576011503500000")  # serial 0000: not a NIK
    with pytest.raises(OutreachRejected) as exc:
        import_list(session, "list.csv", csv_of(good, bad, person(date(1944, 4, 4))), now=NOW, cfg=CFG)
    assert exc.value.problems == [Problem(3, "nik", "nik_invalid")]
    assert _count(session) == 0


def test_every_bad_row_and_field_is_named_with_the_intake_rules(session) -> None:
    area(session)
    mismatch = person(date(1950, 3, 15), nik=nik_for(date(1950, 3, 16)))  # the NIK says another day
    wrong_sex = person(date(1950, 3, 15), "F", nik=nik_for(date(1950, 3, 15), "M"))
    outside = person(date(1950, 3, 15), kel="35.16.01.2001")
    kk_outside = person(date(1951, 3, 15))
    kk_outside[4] = "3516010101150001"
    no_name = person(date(1952, 3, 15), name="")
    bad_rt = person(date(1953, 3, 15))
    bad_rt[6] = "0"
    bad_phone = person(date(1954, 3, 15), phone="12")
    dup = person(date(1955, 3, 15))
    future = person(date(2027, 1, 1))
    with pytest.raises(OutreachRejected) as exc:
        import_list(session, "l.csv", csv_of(mismatch, wrong_sex, outside, kk_outside, no_name, bad_rt, bad_phone, dup, dup, future), now=NOW, cfg=CFG)
    assert exc.value.problems == [
        Problem(2, "birth_date", "nik_birth_mismatch"),
        Problem(3, "birth_date", "nik_birth_mismatch"),
        Problem(4, "kelurahan_code", "not_in_service_area"),
        Problem(5, "kk_number", "outside_service_area"),
        Problem(6, "full_name", "missing"),
        Problem(7, "rt", "rt_rw_format"),
        Problem(8, "phone", "phone_invalid"),
        Problem(10, "nik", "duplicate"),
        Problem(11, "birth_date", "birth_date_range"),
    ]
    assert _count(session) == 0


def test_missing_columns_are_named(session) -> None:
    area(session)
    with pytest.raises(OutreachRejected) as exc:
        import_list(session, "l.csv", b"nik,full_name\n3576011503500001,Budi\n", now=NOW, cfg=CFG)
    assert [(p.field, p.code) for p in exc.value.problems][:2] == [("birth_date", "missing_column"), ("sex", "missing_column")]


def test_a_reimport_updates_rather_than_duplicates_and_keeps_the_call_state(session) -> None:
    area(session)
    a = person(date(1950, 3, 15), street="Jl. Lama 1")
    import_list(session, "l.csv", csv_of(a), now=NOW, cfg=CFG)
    row = session.exec(select(OutreachResident)).one()
    row.attempts = 2
    session.add(row)
    session.flush()
    a2 = list(a)
    a2[5] = "Jl. Baru 9"
    later = NOW + timedelta(days=7)
    summary = import_list(session, "l.csv", csv_of(a2), now=later, cfg=CFG)
    assert (summary.added, summary.updated) == (0, 1)
    session.expire_all()
    row = session.exec(select(OutreachResident)).one()
    assert (row.street, row.attempts, row.delete_after) == ("Jl. Baru 9", 2, later + timedelta(days=CFG.retention_days))


def test_a_reimport_takes_off_whoever_its_kelurahan_list_no_longer_names(session) -> None:
    area(session)
    a, b = person(date(1950, 3, 15)), person(date(1941, 3, 15))
    other_kel = person(date(1942, 3, 15), kel="35.76.02.1001")
    import_list(session, "l.csv", csv_of(a, b, other_kel), now=NOW, cfg=CFG)
    summary = import_list(session, "l.csv", csv_of(a), now=NOW, cfg=CFG)  # b recorded since; the other kelurahan not in this file
    assert summary.delisted == 1
    assert {c.row.nik for c in candidates(session, NOW, TZ)} == {a[0], other_kel[0]}


def test_a_candidate_recorded_or_with_a_request_drops_out(session) -> None:
    area(session)
    rows = [person(date(1950 - i, 3, 15)) for i in range(4)]
    import_list(session, "l.csv", csv_of(*rows), now=NOW, cfg=CFG)
    assert len(candidates(session, NOW, TZ)) == 4
    resident_with(session, rows[0][0], status=None, recorded=True)  # recorded since
    resident_with(session, rows[1][0], status=RequestStatus.BOOKED)  # asked meanwhile
    resident_with(session, rows[2][0], status=RequestStatus.CANCELLED)  # asked, cancelled: still to reach
    assert {c.row.nik for c in candidates(session, NOW, TZ)} == {rows[2][0], rows[3][0]}
    assert still_to_reach(session, NOW, TZ)["35.76.01.1003"].still_to_reach == 2


def test_under_60_only_when_referred(session) -> None:
    area(session)
    turns_60_tomorrow = date(1966, 11, 24)
    turned_60_today = date(1966, 11, 23)
    import_list(session, "l.csv", csv_of(person(turns_60_tomorrow), person(turned_60_today)), now=NOW, cfg=CFG)
    assert [c.row.birth_date for c in candidates(session, NOW, TZ)] == [turned_60_today]


def test_rows_past_their_retention_are_purged(session) -> None:
    area(session)
    import_list(session, "l.csv", csv_of(person(date(1950, 3, 15))), now=NOW, cfg=CFG)
    assert purge_expired(session, NOW + timedelta(days=CFG.retention_days - 1)) == 0
    assert purge_expired(session, NOW + timedelta(days=CFG.retention_days)) == 1
    assert _count(session) == 0


def test_an_xlsx_nik_stored_as_a_too_long_number_is_refused(session) -> None:
    area(session)
    row: list = person(date(1950, 3, 15), nik="9471011503500001")  # above 2^53: a number cell lost its last digit
    row[0] = int(row[0])
    with pytest.raises(OutreachRejected) as exc:
        import_list(session, "l.xlsx", xlsx_of(row), now=NOW, cfg=CFG)
    assert [(p.row, p.field, p.code) for p in exc.value.problems] == [(2, "nik", "number_not_text")]
    ok: list = person(date(1950, 3, 15))
    ok[0] = int(ok[0])  # a Mojokerto NIK (35...) is below 2^53: a number cell keeps it exactly
    import_list(session, "l.xlsx", xlsx_of(ok), now=NOW, cfg=CFG)
    assert _count(session) == 1


def test_candidates_of_a_partners_list(session) -> None:
    from visits.outreach.service import add_referral

    area(session)
    import_list(session, "l.csv", csv_of(person(date(1950, 3, 15)), person(date(1941, 3, 15))), now=NOW, cfg=CFG)
    young = person(date(1990, 5, 5))
    form = dict(zip(("nik", "full_name", "birth_date", "sex", "kk_number", "street", "rt", "rw", "kelurahan_code", "phone"), young, strict=True))
    add_referral(session, form | {"partner_kind": "care_home", "partner_name": "Panti Kasih", "group": "bedridden", "contact_name": "Bu Panti", "contact_phone": "081311112222"}, now=NOW, cfg=CFG)
    assert [c.row.nik for c in candidates(session, NOW, TZ, partner_kind="care_home")] == [young[0]]
    assert candidates(session, NOW, TZ, partner_kind="puskesmas") == []
    assert len(candidates(session, NOW, TZ)) == 3


def test_the_imported_nik_and_kk_number_are_sealed_at_rest_and_found_by_hash(session) -> None:
    """The not-yet-recorded list is personal data like a request: its NIK and KK number are stored
    sealed (no plaintext in any column), and found, and matched with a resident, by the keyed hash."""
    from sqlalchemy import text

    from visits import pii
    from visits.outreach.identity import find_by_nik

    area(session)
    a = person(date(1950, 3, 15))
    import_list(session, "list.csv", csv_of(a), now=NOW, cfg=CFG)
    session.flush()
    stored = session.exec(text("SELECT * FROM outreach_resident")).all()  # type: ignore[call-overload]
    flat = " ".join(str(v) for row in stored for v in row)
    assert a[0] not in flat and a[4] not in flat  # neither the NIK nor the KK number in clear
    sealed, digest = session.exec(text("SELECT nik_sealed, nik_hash FROM outreach_resident")).one()  # type: ignore[call-overload]
    assert sealed.startswith(f"{pii.DERIVED_ID}:") and digest == pii.lookup_hash(a[0], pii.NIK)
    assert find_by_nik(session, a[0]).nik == a[0]  # type: ignore[union-attr]
    assert len(candidates(session, NOW, TZ)) == 1
    resident_with(session, a[0], status=RequestStatus.BOOKED)  # asked meanwhile: matched by the hash
    assert candidates(session, NOW, TZ) == []
