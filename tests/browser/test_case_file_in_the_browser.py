"""The printable case file in a real Chromium: a prosecutor prints the busy demo case in Russian to PDF, and
the PDF holds the case number, the sections and the shared note but not another agency's own note; an agency
that has only been asked prints a file without the child's name; on a phone the screen version still reads."""

import io
import os
import re
import unicodedata

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from referral.cases import notes
from referral.cases.models import Case
from referral.extensions import db
from tests.appfixtures import demo_actor
from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser

SHOTS = os.environ.get("REFERRAL_SCREENSHOTS")
OWN_NOTE = "Дядя просит не сообщать школе об отце."
SHARED_NOTE = "Прививочная карта передана в поликлинику."


def shot(page, tmp_path, name):
    page.screenshot(path=os.path.join(SHOTS or str(tmp_path), f"{name}.png"), full_page=True)


def demo_case(make_app, family_name, *, with_notes=False):
    """Return the id and number of a demo case; write the family support centre's two notes on it if asked."""
    with make_app().app_context():
        case = db.session.scalar(sa.select(Case).where(Case.family_name == f"{family_name} (demo)"))
        if with_notes:
            notes.add_note(case.id, OWN_NOTE, False, demo_actor("social@demo.kz"))
            notes.add_note(case.id, SHARED_NOTE, True, demo_actor("social@demo.kz"))
            db.session.commit()
        return case.id, case.number


def in_russian(page):
    page.select_option("#language-select", "ru")
    page.wait_for_selector("html[lang=ru]")


def pdf_text(page, name) -> tuple[str, int]:
    """Render the page to an A4 PDF as Chromium prints it (kept beside the screenshots); return its text and its
    number of pages."""
    document = page.pdf(prefer_css_page_size=True)
    if SHOTS:
        with open(os.path.join(SHOTS, f"{name}.pdf"), "wb") as target:
            target.write(document)
    reader = PdfReader(io.BytesIO(document))
    return "\n".join(sheet.extract_text() for sheet in reader.pages), len(reader.pages)


def flat(text: str) -> str:
    """Return a PDF's text with its ligatures (ﬃ) undone and its lines joined."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text))


def test_a_prosecutor_prints_the_case_file_in_russian(live_server, page, make_app, tmp_path):
    case_id, number = demo_case(make_app, "Fictionov", with_notes=True)
    sign_in(page, live_server, "justice@demo.kz")
    in_russian(page)
    page.goto(f"{live_server}/cases/{case_id}")
    with page.expect_navigation():
        page.locator("#print-case").click()
    assert page.url == f"{live_server}/cases/{case_id}/print"
    assert page.locator("nav").count() == 0
    # The button prints through the static script (the CSP forbids inline ones).
    page.evaluate("window.print = function () { window.printed = true; }")
    page.locator("#print-now").click()
    assert page.evaluate("window.printed") is True
    shot(page, tmp_path, "case-file-ru")

    text, pages = pdf_text(page, "case-file-ru")
    words = flat(text)
    for expected in (number, "Материалы случая", "Ребёнок", "Согласия", "Направления", "Проведённые беседы и оценки",
                     "Общие заметки", "Хронология", "Daniyar", SHARED_NOTE, "Officer Demo-Justice"):
        assert expected in words, expected
    assert OWN_NOTE not in words and "Дядя просит" not in words
    assert "Назад к случаю" not in words  # the screen's toolbar stays off the paper
    # Every sheet carries the header with the case number, and its page number out of all.
    assert text.count(number) >= pages
    assert f"1 / {pages}" in words and (pages == 1 or f"{pages} / {pages}" in words)


def test_an_agency_only_asked_prints_a_file_without_the_childs_name(live_server, page, make_app, tmp_path):
    case_id, number = demo_case(make_app, "Samplova")
    sign_in(page, live_server, "justice@demo.kz")
    in_russian(page)
    page.goto(f"{live_server}/cases/{case_id}")
    with page.expect_navigation():
        page.locator("#print-case").click()
    words = flat(pdf_text(page, "case-file-summary-ru")[0])
    assert number in words and "Краткие сведения" in words and "Направления" in words
    for hidden in ("Amina", "Samplova", "Gulnara", "Ребёнок", "Хронология", "Детская поликлиника"):
        assert hidden not in words, hidden
    shot(page, tmp_path, "case-file-summary-ru")


def test_the_case_file_reads_on_a_phone(live_server, page, make_app, tmp_path):
    case_id, number = demo_case(make_app, "Fictionov", with_notes=True)
    sign_in(page, live_server, "social@demo.kz")
    in_russian(page)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server}/cases/{case_id}/print")
    assert page.locator("#case-number").inner_text() == number
    assert page.locator("#print-now").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    with page.expect_navigation():
        page.locator("#agency-notes-toggle").click()
    assert OWN_NOTE in page.locator("#notes").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, tmp_path, "case-file-ru-390")
