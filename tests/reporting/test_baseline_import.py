"""Coverage baseline import: every bad row and field named, nothing stored on error, one baseline per date."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

import pytest
from openpyxl import Workbook
from sqlalchemy import func
from sqlmodel import select

from app.cli import main as jemput
from app.db import session_scope
from visits.intake.service_area import ensure_service_area
from visits.models import CoverageBaseline, CoverageBaselineRow
from visits.reporting.baseline import BaselineRejected, Problem, import_baseline

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
TZ = "Asia/Jakarta"
GOOD = "kelurahan_code,required,recorded,as_of\n35.76.01.1003,1000,990,2026-10-31\n35.76.01.1004,2000,1990,2026-10-31\n"


def _counts(session) -> tuple[int, int]:
    return (session.exec(select(func.count()).select_from(CoverageBaseline)).one(), session.exec(select(func.count()).select_from(CoverageBaselineRow)).one())


def test_good_csv_is_stored_and_the_same_file_twice_gives_one_baseline(session) -> None:
    ensure_service_area(session)
    first = import_baseline(session, "recap.csv", GOOD.encode(), now=NOW, tz=TZ)
    assert [(b.as_of, b.rows, b.replaced) for b in first] == [(date(2026, 10, 31), 2, False)]
    second = import_baseline(session, "recap.csv", GOOD.encode(), now=NOW, tz=TZ)
    assert [(b.as_of, b.rows, b.replaced) for b in second] == [(date(2026, 10, 31), 2, True)]
    assert _counts(session) == (1, 2)
    rows = {r.required: r.recorded for r in session.exec(select(CoverageBaselineRow)).all()}
    assert rows == {1000: 990, 2000: 1990}


def test_one_bad_row_stores_nothing_and_names_row_and_field(session) -> None:
    ensure_service_area(session)
    bad = GOOD + "35.76.01.1005,500,501,2026-10-31\n"  # row 4: recorded > required
    with pytest.raises(BaselineRejected) as exc:
        import_baseline(session, "recap.csv", bad.encode(), now=NOW, tz=TZ)
    assert exc.value.problems == [Problem(4, "recorded", "more_than_required")]
    assert _counts(session) == (0, 0)


def test_every_bad_row_and_field_is_named(session) -> None:
    ensure_service_area(session)
    text = (
        "kode_kelurahan;wajib_ktp;sudah_rekam;tanggal\n"
        "35.16.01.2001;100;90;31-10-2026\n"  # outside the service area
        "35.76.01.1003;-5;x;2026-13-01\n"  # negative, not a number, no such date
        "35.76.01.1004;10.5;3;2027-01-01\n"  # not an integer, date after today
        "35.76.01.1006;100;90;2026-10-31\n"
        "35.76.01.1006;100;95;2026-10-31\n"  # the same kelurahan twice for one date
        ";;;\n"  # blank line: skipped
        "35.76.01.1007;;1;2026-10-31\n"  # missing number
    )
    with pytest.raises(BaselineRejected) as exc:
        import_baseline(session, "recap.csv", text.encode(), now=NOW, tz=TZ)
    assert exc.value.problems == [
        Problem(2, "kelurahan_code", "not_in_service_area"),
        Problem(3, "required", "negative"),
        Problem(3, "recorded", "not_an_integer"),
        Problem(3, "as_of", "bad_date"),
        Problem(4, "required", "not_an_integer"),
        Problem(4, "as_of", "future_date"),
        Problem(6, "kelurahan_code", "duplicate"),
        Problem(8, "required", "missing"),
    ]
    assert _counts(session) == (0, 0)


def test_missing_columns_are_named(session) -> None:
    ensure_service_area(session)
    with pytest.raises(BaselineRejected) as exc:
        import_baseline(session, "recap.csv", b"kelurahan_code,required\n35.76.01.1003,10\n", now=NOW, tz=TZ)
    assert [(p.row, p.field, p.code) for p in exc.value.problems] == [(1, "recorded", "missing_column"), (1, "as_of", "missing_column")]


def _xlsx(rows: list[list[object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    for r in rows:
        sheet.append(r)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_xlsx_with_two_dates_gives_two_baselines(session) -> None:
    ensure_service_area(session)
    data = _xlsx(
        [
            ["kelurahan_code", "required", "recorded", "as_of"],
            ["35.76.02.1001", 800, 780, datetime(2026, 6, 30)],
            ["35.76.02.1001", 800, 790, date(2026, 9, 30)],
            ["35.76.02.1003", 1200.0, "1190", "2026-09-30"],
        ]
    )
    done = import_baseline(session, "recap.xlsx", data, now=NOW, tz=TZ)
    assert [(b.as_of, b.rows) for b in done] == [(date(2026, 6, 30), 1), (date(2026, 9, 30), 2)]
    assert _counts(session) == (2, 3)


def test_the_cli_imports_and_refuses(db, tmp_path, capsys) -> None:
    """The CLI reads the real clock: its dates lie well in the past whenever the suite runs."""
    with session_scope(write=True) as s:
        ensure_service_area(s)
    past = GOOD.replace("2026-10-31", "2024-10-31")
    good = tmp_path / "recap.csv"
    good.write_text(past)
    assert jemput(["import-baseline", str(good)]) == 0
    assert "2024-10-31: 2 kelurahan" in capsys.readouterr().out
    bad = tmp_path / "bad.csv"
    bad.write_text(past + "35.76.01.1005,abc,1,2024-10-31\n")
    assert jemput(["import-baseline", str(bad)]) == 2
    assert "row 4, field required: not_an_integer" in capsys.readouterr().err
    assert jemput(["import-baseline", str(good)]) == 0
    with session_scope() as s:
        assert _counts(s) == (1, 2)
