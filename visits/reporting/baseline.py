"""Importing the coverage baseline: the office's recap per kelurahan from its population system.

A file (CSV or XLSX, first sheet) has a header row and one row per kelurahan:

    kelurahan_code, required, recorded, as_of
    35.76.01.1003,  5210,     5170,     2026-10-31

(Indonesian headers ``kode_kelurahan``, ``wajib_ktp``, ``sudah_rekam``, ``tanggal`` are accepted too;
a CSV may use ``;`` as its separator, as Indonesian spreadsheets export it.)

Every row is checked: the code names a kelurahan of the service area (once per date), the numbers are
non-negative integers with recorded ≤ required, the date is a real date not after today. Every bad
row and field is named (:class:`BaselineRejected`), and then nothing is stored. A date already
imported is replaced (the same file twice gives one baseline per date).
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, delete, select

from visits.errors import InvalidInput
from visits.intake.models import Kelurahan
from visits.reporting.models import CoverageBaseline, CoverageBaselineRow

FIELDS = ("kelurahan_code", "required", "recorded", "as_of")
ALIASES = {
    "kelurahan_code": "kelurahan_code",
    "kode_kelurahan": "kelurahan_code",
    "kode": "kelurahan_code",
    "code": "kelurahan_code",
    "required": "required",
    "wajib_ktp": "required",
    "wajib": "required",
    "recorded": "recorded",
    "sudah_rekam": "recorded",
    "terekam": "recorded",
    "as_of": "as_of",
    "tanggal": "as_of",
    "date": "as_of",
}
MAX_ROWS = 5000


@dataclass(frozen=True)
class Problem:
    row: int  # the spreadsheet's row number (the header is row 1)
    field: str
    code: str  # missing, not_in_service_area, duplicate, not_an_integer, negative, more_than_required, bad_date, future_date, ...


class BaselineRejected(InvalidInput):
    """The file was refused; ``problems`` names every bad row and field. Nothing was stored."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("reporting.import.rejected", field=problems[0].field if problems else None, count=len(problems))
        self.problems = problems


@dataclass(frozen=True)
class ImportedBaseline:
    as_of: date
    rows: int
    replaced: bool  # a baseline of that date existed and was replaced


def _cells_csv(data: bytes) -> list[list[object]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BaselineRejected([Problem(0, "file", "not_utf8")]) from None
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    return [list(r) for r in csv.reader(io.StringIO(text), delimiter=delimiter)]


def _cells_xlsx(data: bytes) -> list[list[object]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - any unreadable workbook is the same answer to the user
        raise BaselineRejected([Problem(0, "file", "not_xlsx")]) from None
    try:
        sheet = book.worksheets[0]
        return [list(r) for r in sheet.iter_rows(values_only=True)]
    finally:
        book.close()


def read_cells(filename: str, data: bytes) -> list[list[object]]:
    """The file's rows of cells: XLSX by its signature (a zip) or name, CSV otherwise."""
    if data[:2] == b"PK" or filename.lower().endswith(".xlsx"):
        return _cells_xlsx(data)
    return _cells_csv(data)


def _integer(value: object) -> tuple[int | None, str | None]:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, "missing"
    if isinstance(value, bool):
        return None, "not_an_integer"
    if isinstance(value, int):
        number = value
    elif isinstance(value, float):
        if not value.is_integer():
            return None, "not_an_integer"
        number = int(value)
    else:
        text = str(value).strip().replace(" ", "")
        sign = -1 if text.startswith("-") else 1
        digits = text.lstrip("-+")
        if not digits.isdigit():
            return None, "not_an_integer"
        number = sign * int(digits)
    return (number, None) if number >= 0 else (None, "negative")


def _date(value: object) -> tuple[date | None, str | None]:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, "missing"
    if isinstance(value, datetime):
        return value.date(), None
    if isinstance(value, date):
        return value, None
    text = str(value).strip()
    for fmt in ("%Y-%m-%d", "%d-%m-%Y", "%d/%m/%Y"):
        try:
            return datetime.strptime(text, fmt).date(), None
        except ValueError:
            continue
    return None, "bad_date"


def _norm_code(value: object) -> str:
    return "".join(ch for ch in str(value or "") if ch.isdigit())


@dataclass(frozen=True)
class _Row:
    line: int
    kelurahan_id: int
    required: int
    recorded: int
    as_of: date


def validate(session: Session, cells: list[list[object]], today: date) -> list[_Row]:
    """The file's rows, checked; raises :class:`BaselineRejected` naming every bad row and field."""
    problems: list[Problem] = []
    rows = [r for r in cells if any(c is not None and str(c).strip() for c in r)]
    if not rows:
        raise BaselineRejected([Problem(1, "file", "empty")])
    header = [ALIASES.get(str(c or "").strip().lower().replace(" ", "_"), "") for c in rows[0]]
    missing = [f for f in FIELDS if f not in header]
    if missing:
        raise BaselineRejected([Problem(1, f, "missing_column") for f in missing])
    if len(rows) - 1 > MAX_ROWS:
        raise BaselineRejected([Problem(MAX_ROWS + 2, "file", "too_many_rows")])
    where = {f: header.index(f) for f in FIELDS}
    area = {_norm_code(k.code): k.id for k in session.exec(select(Kelurahan)).all()}
    seen: set[tuple[int, date]] = set()
    good: list[_Row] = []
    line_of = {id(r): i + 1 for i, r in enumerate(cells)}
    for row in rows[1:]:
        line = line_of[id(row)]
        cell = {f: (row[i] if i < len(row) else None) for f, i in where.items()}
        found: list[Problem] = []
        code = _norm_code(cell["kelurahan_code"])
        kelurahan_id = area.get(code) if code else None
        if not code:
            found.append(Problem(line, "kelurahan_code", "missing"))
        elif kelurahan_id is None:
            found.append(Problem(line, "kelurahan_code", "not_in_service_area"))
        required, why = _integer(cell["required"])
        if why:
            found.append(Problem(line, "required", why))
        recorded, why = _integer(cell["recorded"])
        if why:
            found.append(Problem(line, "recorded", why))
        elif required is not None and recorded is not None and recorded > required:
            found.append(Problem(line, "recorded", "more_than_required"))
        as_of, why = _date(cell["as_of"])
        if why:
            found.append(Problem(line, "as_of", why))
        elif as_of is not None and as_of > today:
            found.append(Problem(line, "as_of", "future_date"))
        if kelurahan_id is not None and as_of is not None:
            if (kelurahan_id, as_of) in seen:
                found.append(Problem(line, "kelurahan_code", "duplicate"))
            seen.add((kelurahan_id, as_of))
        problems += found
        if not found:
            assert kelurahan_id is not None and required is not None and recorded is not None and as_of is not None
            good.append(_Row(line, kelurahan_id, required, recorded, as_of))
    if problems:
        raise BaselineRejected(problems)
    if not good:
        raise BaselineRejected([Problem(2, "file", "no_rows")])
    return good


def import_baseline(session: Session, filename: str, data: bytes, *, now: datetime, tz: str, user_id: int | None = None) -> list[ImportedBaseline]:
    """Check and store the file (flush only); one baseline per date, a date already imported is replaced."""
    rows = validate(session, read_cells(filename, data), now.astimezone(ZoneInfo(tz)).date())
    digest = hashlib.sha256(data).hexdigest()
    by_date: dict[date, list[_Row]] = defaultdict(list)
    for r in rows:
        by_date[r.as_of].append(r)
    done: list[ImportedBaseline] = []
    for as_of in sorted(by_date):
        baseline = session.exec(select(CoverageBaseline).where(CoverageBaseline.as_of == as_of)).first()
        replaced = baseline is not None
        if baseline is None:
            baseline = CoverageBaseline(as_of=as_of, source_name=filename[:200], sha256=digest, imported_by_id=user_id, imported_at=now)
            session.add(baseline)
            session.flush()
        else:
            session.exec(delete(CoverageBaselineRow).where(col(CoverageBaselineRow.baseline_id) == baseline.id))
            baseline.source_name, baseline.sha256, baseline.imported_by_id, baseline.imported_at = filename[:200], digest, user_id, now
            session.add(baseline)
        session.add_all(
            CoverageBaselineRow(baseline_id=baseline.id, kelurahan_id=r.kelurahan_id, required=r.required, recorded=r.recorded)  # type: ignore[arg-type]
            for r in by_date[as_of]
        )
        done.append(ImportedBaseline(as_of, len(by_date[as_of]), replaced))
    session.flush()
    return done


def baselines(session: Session) -> list[CoverageBaseline]:
    return list(session.exec(select(CoverageBaseline).order_by(col(CoverageBaseline.as_of).desc())).all())
