"""The /reports page, its exports (CSV, XLSX: formulas neutralized, audited) and each role's home page."""

import csv
import io
from datetime import date

import openpyxl
import pytest
import sqlalchemy as sa

from referral.audit.models import AuditEntry
from referral.directory.models import Agency
from referral.extensions import db
from referral.reports.export import neutralized
from tests.service.test_reports import FROM, TO, history  # noqa: F401 - the hand-built history fixture

QUERY = f"?from={FROM}&to={TO}"


@pytest.mark.parametrize("text", ["=HYPERLINK(\"http://x\")", "+1", "-2+3", "@SUM(A1)", "\tx", "\rx"])
def test_formula_looking_text_is_neutralized(text):
    assert neutralized(text) == "'" + text
    assert neutralized("Clinic") == "Clinic" and neutralized(-3) == -3 and neutralized(None) is None


@pytest.fixture
def formula_agency(history):  # noqa: F811
    """The clinic renamed as an attacker would: its name is exported in the agencies table."""
    clinic = db.session.scalar(sa.select(Agency).where(Agency.code == "astana-childrens-clinic"))
    clinic.name = '=HYPERLINK("http://evil.example","click")'
    db.session.commit()
    return clinic


def test_the_csv_export_neutralizes_formulas_and_is_audited(sign_in, formula_agency):
    client = sign_in("admin@demo.kz")
    response = client.get(f"/reports/agencies.csv{QUERY}")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment;")
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:3] == ["Agency code", "Agency", "Received"]
    clinic = next(row for row in rows if row[0] == "astana-childrens-clinic")
    assert clinic[1] == "'" + formula_agency.name and clinic[2] == "3"
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "report.export"))
    assert entry.actor_label == "admin@demo.kz" and entry.object_id == "agencies"
    assert entry.detail["format"] == "csv" and entry.detail["rows"] == 3


def test_the_xlsx_export_holds_text_and_numbers_never_a_formula(sign_in, formula_agency):
    client = sign_in("admin@demo.kz")
    response = client.get(f"/reports/agencies.xlsx{QUERY}")
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    values = {row[0]: row for row in sheet.iter_rows(min_row=2, values_only=True)}
    clinic = values["astana-childrens-clinic"]
    assert clinic[1] == "'" + formula_agency.name
    assert clinic[2] == 3 and clinic[8] == 4.0
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)
                             .where(AuditEntry.action == "report.export")) == 1


@pytest.mark.parametrize("table", ["agencies", "stages", "flows", "months"])
def test_no_export_holds_a_case_number_or_a_name(sign_in, history, table):  # noqa: F811
    client = sign_in("coordinator@demo.kz")
    for fmt in ("csv", "xlsx"):
        response = client.get(f"/reports/{table}.{fmt}{QUERY}")
        assert response.status_code == 200
        text = response.get_data(as_text=True) if fmt == "csv" else " ".join(
            str(cell) for row in openpyxl.load_workbook(io.BytesIO(response.data)).active.iter_rows(values_only=True)
            for cell in row)
        for case in history.values():
            assert case.number not in text
        assert "Secretova" not in text and "Aigerim" not in text


def test_an_unknown_table_or_format_is_404_and_not_audited(sign_in, history):  # noqa: F811
    client = sign_in("admin@demo.kz")
    assert client.get(f"/reports/children.csv{QUERY}").status_code == 404
    assert client.get(f"/reports/agencies.pdf{QUERY}").status_code == 404
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)
                             .where(AuditEntry.action == "report.export")) == 0


def test_staff_have_no_reports_page_nor_exports(sign_in, history):  # noqa: F811
    client = sign_in("social@demo.kz")
    assert client.get("/reports/").status_code == 403
    assert client.get(f"/reports/agencies.csv{QUERY}").status_code == 403
    assert b'href="/reports/"' not in client.get("/").data


def test_the_page_draws_charts_and_the_heat_map_and_audits_the_read(sign_in, history):  # noqa: F811
    client = sign_in("admin@demo.kz")
    page = client.get(f"/reports/{QUERY}").get_data(as_text=True)
    for chart in ("chart-respond", "chart-shares", "chart-overdue", "chart-months"):
        assert f'id="{chart}"' in page
    assert 'class="stage agency-health heat-' in page and " overdue" in page
    assert 'data-agency="astana-childrens-clinic"' in page
    assert "style=" not in page.split("<main", 1)[-1]
    for case in history.values():
        assert case.number not in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)
                             .where(AuditEntry.action == "report.read")) == 1


def test_a_reversed_period_on_the_page_is_explained_and_the_default_shown(sign_in, history):  # noqa: F811
    client = sign_in("supervisor@demo.kz")
    page = client.get("/reports/?from=2026-05-01&to=2026-01-01").get_data(as_text=True)
    assert "swap the dates" in page
    assert f'value="{date.today().isoformat()}"' in page or 'id="report-to"' in page


def test_the_page_speaks_russian(sign_in, history):  # noqa: F811
    client = sign_in("coordinator@demo.kz", locale="ru")
    page = client.get(f"/reports/{QUERY}").get_data(as_text=True)
    assert "Время ответа" in page and "Где ждут дела" in page
