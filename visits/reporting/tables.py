"""Every report as plain tables (aggregate figures only: never a name, NIK, address or phone), and
their CSV and XLSX files. Column names are keys; the web layer gives them their label."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from visits.reporting.clock_report import ClockReport
from visits.reporting.coverage import CoverageReport
from visits.reporting.criteria import Criteria
from visits.reporting.pipeline import STAGES, PipelineReport

TABLES = ("coverage", "pipeline", "clock", "criteria")


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]


def coverage_table(r: CoverageReport) -> Table:
    cols = (
        "level",
        "code",
        "name",
        "kecamatan",
        "as_of",
        "required",
        "baseline_recorded",
        "jemput_recorded",
        "recorded",
        "coverage",
        "target",
        "still_to_record",
        "recorded_last_4_weeks",
        "projection",
        "reaches_on",
    )
    rows = [tuple(a.as_dict()[c] for c in cols) for a in [r.city, *r.kecamatan, *r.kelurahan]]
    return Table("coverage", cols, rows)


def pipeline_table(r: PipelineReport) -> Table:
    reasons, outcomes = r.reason_codes, r.outcome_codes
    cols = ("key", "label", *STAGES, *(f"ineligible:{x}" for x in reasons), *(f"failed:{x}" for x in outcomes))
    rows = [(row.key, row.label, *(row.counts[s] for s in STAGES), *(row.reasons[x] for x in reasons), *(row.failed[x] for x in outcomes)) for row in [r.total, *r.rows]]
    return Table("pipeline", cols, rows)


def clock_table(r: ClockReport) -> Table:
    cols = ("week_start", "received", "answered", "within_1_working_day", "within_share")
    rows = [(w.week_start.isoformat(), w.received, w.answered, w.within, w.within_share) for w in r.weeks]
    rows.append(("total", r.received, r.answered, r.within, r.within_share))
    return Table("clock", cols, rows)


def criteria_table(c: Criteria) -> Table:
    rows = [
        ("target_accuracy", "on_target_share", c.target_accuracy),
        ("target_accuracy", "visited", c.visited),
        ("target_accuracy", "mistargeted_visits_share", c.mistarget_share),
        ("socialisation", "letter_share", c.letter_share),
        ("socialisation", "letter_answered", c.letter_answered),
        *(("socialisation", f"channel:{ch}", c.channel_share(ch)) for ch in sorted(c.channels)),
        *(("socialisation", f"heard_via:{h}", c.heard_share(h)) for h in sorted(c.heard_via)),
        ("socialisation", "kelurahan_without_request", len(c.silent_kelurahan)),
        ("goal_attainment", "coverage", c.coverage),
        ("goal_attainment", "target", c.target),
        ("goal_attainment", "kelurahan_at_target", c.kelurahan_at_target),
        ("monitoring", "follow_up_share", c.follow_up_share),
        ("monitoring", "failed_visits", c.failed_visits),
        ("monitoring", "surveys_sent", c.surveys.sent),
        ("monitoring", "survey_answer_share", c.surveys.answer_share),
        ("monitoring", "mean_satisfaction", c.surveys.mean_satisfaction),
        ("monitoring", "satisfied_share", c.surveys.satisfied_share),
        ("monitoring", "cards_in_time_share", c.cards.in_time_share),
        ("monitoring", "cards_overdue", c.cards.overdue),
    ]
    return Table("criteria", ("criterion", "measure", "value"), rows)


def to_csv(table: Table, header: list[str]) -> bytes:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(header)
    w.writerows(["" if v is None else v for v in row] for row in table.rows)
    return out.getvalue().encode("utf-8-sig")  # the BOM lets spreadsheets read it as UTF-8


def to_xlsx(table: Table, header: list[str], title: str) -> bytes:
    """One sheet: the header, then the rows; shares as percentages (XlsxWriter writes; openpyxl,
    which the imports read with, took three times as long to write the same sheet)."""
    import xlsxwriter

    out = io.BytesIO()
    options = {"in_memory": True, "constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False, "default_date_format": "yyyy-mm-dd"}
    book = xlsxwriter.Workbook(out, options)  # a name starting with "=" stays text
    sheet = book.add_worksheet(title[:31])
    percent = book.add_format({"num_format": "0.0%"})
    shares = {i for i, name in enumerate(table.columns) if name in ("coverage", "target") or name.endswith("_share")}
    sheet.write_row(0, 0, header)
    for r, row in enumerate(table.rows, start=1):
        for i, value in enumerate(row):
            if value is None:
                continue
            if i in shares and isinstance(value, float):
                sheet.write_number(r, i, value, percent)
            else:
                sheet.write(r, i, value)
    book.close()
    return out.getvalue()
