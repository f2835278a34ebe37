"""The safeguards in a real browser (issue 12): a social worker meets the interview guard on a phone in Russian,
withdraws a consent, and prints who saw the file."""
import os

import pytest
import sqlalchemy as sa

from referral.cases.models import Case
from referral.extensions import db
from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser

SHOTS = os.environ.get("REFERRAL_SCREENSHOTS")


def shot(page, tmp_path, name, part=None):
    path = os.path.join(SHOTS or str(tmp_path), f"{name}.png")
    if part is None:
        page.screenshot(path=path, full_page=True)
    else:
        page.locator(part).screenshot(path=path)


def demo_case_id(make_app, family_name):
    with make_app().app_context():
        return db.session.scalar(sa.select(Case.id).where(Case.family_name == f"{family_name} (demo)"))


def in_russian_on_a_phone(page):
    page.select_option("#language-select", "ru")
    page.wait_for_selector("html[lang=ru]")
    page.set_viewport_size({"width": 390, "height": 844})


def test_the_interview_guard_asks_before_a_second_interview(live_server, page, make_app, tmp_path):
    case_id = demo_case_id(make_app, "Fictionov")  # interviewed once already
    sign_in(page, live_server, "social@demo.kz")
    in_russian_on_a_phone(page)
    page.goto(f"{live_server}/cases/{case_id}#interviews")
    page.locator("#interview-details summary").click()
    guard = page.locator("#interview-guard")
    assert "С ребёнком уже провели одну беседу." in guard.inner_text()
    assert "The journey back" in page.locator("#interview-guard-prior").inner_text()
    page.select_option("#interview-form select[name=kind]", "interview")
    page.fill("#interview-form input[name=topic]", "Школа и друзья")
    page.fill("#interview-form input[name=held_on]", "2026-12-01")
    page.fill("#interview-form textarea[name=summary]", "Рассказал о школе.")
    page.locator("#interview-form input[name=shared_with][value=social]").check()
    with page.expect_navigation():
        page.locator("#interview-form button[type=submit]").click()
    # Refused without the acknowledgement: the form stays open with what was typed and says why.
    assert page.locator("#interview-form input[name=topic]").input_value() == "Школа и друзья"
    assert "Подтвердите" in page.locator("#interview-guard").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, tmp_path, "interview-guard-ru-390", "#interview-details")
    page.locator("#interview-form input[name=acknowledged_prior]").check()
    with page.expect_navigation():
        page.locator("#interview-form button[type=submit]").click()
    assert page.locator(".alert-success").count() == 1
    page.locator("#interview-details summary").click()
    assert "С ребёнком уже провели 2 беседы." in page.locator("#interview-counter").inner_text()
    assert page.locator("#interview-limit").is_visible()  # staff are sent to their supervisor


def test_a_consent_is_withdrawn_and_who_saw_the_file_is_printed(live_server, page, make_app, tmp_path):
    case_id = demo_case_id(make_app, "Samplova")
    sign_in(page, live_server, "social@demo.kz")
    in_russian_on_a_phone(page)
    page.goto(f"{live_server}/cases/{case_id}#consents")
    page.locator("#consent-withdraw-details summary").click()
    page.fill(".consent-withdraw-form textarea[name=reason]", "Бабушка отозвала согласие письменно.")
    with page.expect_navigation():
        page.locator(".consent-withdraw-form button[type=submit]").click()
    row = page.locator("#consents tr.consent").first
    assert row.get_attribute("data-state") == "withdrawn" and "Отозвано" in row.inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, tmp_path, "consent-withdrawn-ru-390", "#consents")

    page.locator("#case-disclosures").click()
    page.wait_for_selector("#disclosures-title")
    assert page.locator("tr.disclosure[data-what=full]").count() >= 1
    assert page.locator("tr.disclosure[data-what=notification]").count() >= 1
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, tmp_path, "disclosures-ru-390")
    page.set_viewport_size({"width": 1280, "height": 900})
    shot(page, tmp_path, "disclosures-ru")
    page.emulate_media(media="print")
    assert not page.locator("nav.navbar").is_visible() and not page.locator("#print-disclosures").is_visible()
