"""Each table of a report as CSV or XLSX, with formula-looking cells neutralized; every export is audited."""

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

import xlsxwriter
from flask_babel import lazy_gettext as _l

from ..actors import Actor
from ..audit.service import record
from ..errors import NotFound
from .service import Report, compute_report

#: A cell starting with one of these is a formula to a spreadsheet (OWASP "CSV injection"); tab and CR too.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
FORMATS = {"csv": "text/csv; charset=utf-8",
           "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def neutralized(value):
    """Return a cell value that no spreadsheet runs: text that starts like a formula gets a leading quote."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


@dataclass(frozen=True)
class Table:
    """A table of the report: its column headings and how to read its rows."""

    columns: Sequence[tuple[str, object]]
    rows: Callable[[Report, Callable], list[list]]


TABLES: dict[str, Table] = {
    "agencies": Table(
        (("agency", _l("Agency code")), ("name", _l("Agency")), ("received", _l("Received")),
         ("accepted", _l("Accepted")), ("rejected", _l("Rejected")),
         ("cancelled_no_response", _l("Cancelled: no response")), ("completed", _l("Completed")),
         ("failed", _l("Failed")), ("respond_median_hours", _l("Median hours to respond")),
         ("respond_p90_hours", _l("90th percentile hours to respond")), ("overdue_now", _l("Overdue now"))),
        lambda report, name: [[row.agency.code, name(row.agency), row.received, row.accepted, row.rejected,
                               row.cancelled_no_response, row.completed, row.failed, row.respond_median_hours,
                               row.respond_p90_hours, row.overdue_now] for row in report.agencies]),
    "stages": Table(
        (("stage", _l("Stage key")), ("entered", _l("Entered")), ("active_now", _l("Active now")),
         ("median_days_in_stage", _l("Median days in stage")), ("overdue_now", _l("Overdue now"))),
        lambda report, name: [[row.stage, row.entered, row.active_now, row.median_days_in_stage, row.overdue_now]
                              for row in report.stages]),
    "flows": Table(
        (("from_stage", _l("From stage")), ("to_stage", _l("To stage")), ("count", _l("Referrals"))),
        lambda report, name: [[row.from_stage, row.to_stage, row.count] for row in report.flows]),
    "months": Table(
        (("month", _l("Month")), ("registered", _l("Cases registered")), ("referred", _l("Referrals sent"))),
        lambda report, name: [[row.month, row.registered, row.referred] for row in report.months]),
}


def export_table(actor: Actor, table: str, fmt: str, first: date, last: date, *, region: str | None = None,
                 agency_code: str | None = None, agency_name: Callable = lambda agency: agency.name) -> bytes:
    """Return one table of the report as CSV or XLSX bytes and audit the export.

    Raise NotFound (no such table or format), Forbidden or Invalid (as ``compute_report``).
    """
    if table not in TABLES or fmt not in FORMATS:
        raise NotFound(_l("There is no such report table or file format."))
    report = compute_report(actor, first, last, region=region, agency_code=agency_code)
    spec = TABLES[table]
    header = [str(label) for _key, label in spec.columns]
    rows = [[neutralized(cell) for cell in row] for row in spec.rows(report, agency_name)]
    body = _csv(header, rows) if fmt == "csv" else _xlsx(table, header, rows)
    record(actor, "report.export", "report", table,
           {"format": fmt, "rows": len(rows), "from": first.isoformat(), "to": last.isoformat(),
            "region": region, "agency": agency_code})
    return body


def _csv(header: list[str], rows: list[list]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(["" if cell is None else cell for cell in row] for row in rows)
    # The byte-order mark lets spreadsheet programs read the Cyrillic agency names as UTF-8.
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _xlsx(table: str, header: list[str], rows: list[list]) -> bytes:
    out = io.BytesIO()
    # strings_to_formulas off: a cell is never a formula, whatever it starts with.
    book = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False})
    sheet = book.add_worksheet(table)
    bold = book.add_format({"bold": True})
    sheet.write_row(0, 0, header, bold)
    for index, row in enumerate(rows, start=1):
        for column, cell in enumerate(row):
            if cell is None:
                continue
            if isinstance(cell, str):
                sheet.write_string(index, column, cell)
            else:
                sheet.write_number(index, column, cell)
    sheet.set_column(0, len(header) - 1, 18)
    book.close()
    return out.getvalue()
