"""Casework inside an agency in a real browser (issue 11): a nurse takes a referral on a phone in Russian and
finds it under Mine, a supervisor gives it to her, a social worker writes an agency-only and a shared note."""
import os

import pytest
import sqlalchemy as sa

from referral.cases.models import Case
from referral.extensions import db
from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser

SHOTS = os.environ.get("REFERRAL_SCREENSHOTS")


def shot(page, tmp_path, name):
    page.screenshot(path=os.path.join(SHOTS or str(tmp_path), f"{name}.png"), full_page=True)


def demo_case_number(make_app, family_name):
    with make_app().app_context():
        return db.session.scalar(sa.select(Case.number).where(Case.family_name == f"{family_name} (demo)"))


def test_a_nurse_assigns_a_referral_to_herself_on_a_phone_in_russian(live_server, page, make_app, tmp_path):
    number = demo_case_number(make_app, "Samplova")
    sign_in(page, live_server, "health@demo.kz")
    page.select_option("#language-select", "ru")
    page.wait_for_selector("html[lang=ru]")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server}/inbox/")
    row = page.locator(f"#referrals [data-case='{number}']")
    assert "Не назначено" in row.inner_text()
    with page.expect_navigation():
        row.locator("button[data-assign=me]").click()
    assert "Назначено: Nurse Demo-Health." in page.locator(".alert-success").inner_text()
    page.locator("#inbox-whose a[data-whose=me]").click()
    page.wait_for_url("**/inbox/?*whose=me*")
    row = page.locator(f"#referrals [data-case='{number}']")
    assert "Nurse Demo-Health" in row.inner_text() and row.locator("button[data-assign=none]").is_visible()
    assert page.locator(".nav-mine").first.inner_text() == "мои: 1"
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, tmp_path, "inbox-mine-ru-390")


def test_a_supervisor_assigns_a_nurse_from_the_referral_page(live_server, page, make_app, tmp_path):
    number = demo_case_number(make_app, "Samplova")
    sign_in(page, live_server, "health.supervisor@demo.kz")
    page.goto(f"{live_server}/inbox/")
    page.locator(f"#referrals [data-case='{number}'] a[href^='/inbox/']").first.click()
    page.select_option("#assignee-select", "health@demo.kz")
    with page.expect_navigation():
        page.locator("#assign-to button").click()
    assert "Assigned to Nurse Demo-Health." in page.locator(".alert-success").inner_text()
    assert "Nurse Demo-Health" in page.locator(".assignee").first.inner_text()
    shot(page, tmp_path, "referral-assigned-en")


def test_a_social_worker_writes_a_note_for_the_agency_and_a_shared_one(live_server, page, make_app, tmp_path):
    with make_app().app_context():
        case_id = db.session.scalar(sa.select(Case.id).where(Case.family_name == "Samplova (demo)"))
    sign_in(page, live_server, "social@demo.kz")
    page.select_option("#language-select", "ru")
    page.wait_for_selector("html[lang=ru]")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server}/cases/{case_id}")
    page.locator("#note-details summary").click()
    page.fill("#note-form textarea[name=text]", "Мама говорит, что мальчик плохо спит.")
    with page.expect_navigation():
        page.locator("#note-form button[type=submit]").click()
    assert "Заметка сохранена." in page.locator(".alert-success").inner_text()
    page.locator("#note-details summary").click()
    page.fill("#note-form textarea[name=text]", "Прививочный сертификат получен.")
    page.check("#note-form input[name=shared]")
    with page.expect_navigation():
        page.locator("#note-form button[type=submit]").click()
    notes = page.locator("#notes .note")
    assert notes.count() == 2
    assert notes.nth(0).get_attribute("data-shared") == "yes" and "для всех" in notes.nth(0).inner_text()
    assert "только ваша организация" in notes.nth(1).inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.locator("#notes").screenshot(path=os.path.join(SHOTS or str(tmp_path), "case-notes-ru-390.png"))


def test_the_clinic_asks_before_accepting_and_the_sender_answers(live_server, browser, make_app, tmp_path):
    number = demo_case_number(make_app, "Samplova")
    clinic = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB").new_page()
    sign_in(clinic, live_server, "health@demo.kz")
    clinic.goto(f"{live_server}/inbox/")
    clinic.locator(f"#referrals [data-case='{number}'] a[href^='/inbox/']").first.click()
    referral_url = clinic.url
    clinic.fill("#message-text", "Please send the vaccination record first.")
    with clinic.expect_navigation():
        clinic.locator("#message-form button[type=submit]").click()
    assert "Message sent" in clinic.locator(".alert-success").inner_text()

    sender = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ru-RU").new_page()
    sign_in(sender, live_server, "social@demo.kz")
    sender.select_option("#language-select", "ru")
    sender.wait_for_selector("html[lang=ru]")
    sender.set_viewport_size({"width": 390, "height": 844})
    sender.goto(f"{live_server}/notifications/")
    assert "написали вам" in sender.locator("body").inner_text()
    assert "vaccination record" not in sender.locator("body").inner_text()  # the notice never carries the text
    sender.goto(referral_url)
    assert "Please send the vaccination record first." in sender.locator("#messages").inner_text()
    sender.fill("#message-text", "Отправили, он в заметках к случаю.")
    with sender.expect_navigation():
        sender.locator("#message-form button[type=submit]").click()
    assert sender.locator("#messages .message").count() == 2
    assert sender.evaluate("document.documentElement.scrollWidth") <= 390
    sender.locator("#messages").screenshot(path=os.path.join(SHOTS or str(tmp_path), "messages-ru-390.png"))

    clinic.reload()
    assert "Отправили, он в заметках к случаю." in clinic.locator("#messages").inner_text()


def held_case_id(make_app, agency_code):
    """Return a demo case on which the agency has an active referral (it works on the case)."""
    from referral.directory.models import Agency
    from referral.referrals.models import Referral
    from workflows.lifecycle import ACTIVE_STATUSES

    with make_app().app_context():
        return db.session.scalar(
            sa.select(Referral.case_id).join(Agency, Referral.to_agency_id == Agency.id)
            .where(Agency.code == agency_code, Referral.status.in_(ACTIVE_STATUSES))
            .order_by(Referral.case_id))


def test_a_social_worker_corrects_the_childs_record_on_a_phone_in_russian(live_server, page, make_app, tmp_path):
    case_id = held_case_id(make_app, "astana-family-support")
    sign_in(page, live_server, "social@demo.kz")
    page.select_option("#language-select", "ru")
    page.wait_for_selector("html[lang=ru]")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server}/cases/{case_id}")
    page.locator("#edit-child").click()
    page.wait_for_url(f"**/cases/{case_id}/child")
    assert page.locator("h1").inner_text() == "Исправить сведения о ребёнке"
    page.fill("input[name=settlement]", "Косшы")
    page.fill("input[name='guardians-0-name']", "Дана Нурланова")
    page.fill("input[name='guardians-0-relationship']", "тётя")
    page.fill("input[name='guardians-0-phone']", "+7 701 000 00 00")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, tmp_path, "child-record-ru-390")
    with page.expect_navigation():
        page.locator("#child-save").click()
    assert "Сохранено: район или населённый пункт, законные представители." in \
        page.locator(".alert-success").inner_text()
    child = page.locator("#child")
    assert "Косшы" in child.inner_text() and "Дана Нурланова" in child.inner_text()
    assert "Сведения о ребёнке исправлены: район или населённый пункт, законные представители" in \
        page.locator("body").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, tmp_path, "case-after-correction-ru-390")
    child.screenshot(path=os.path.join(SHOTS or str(tmp_path), "child-card-ru-390.png"))
