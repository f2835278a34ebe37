"""Moving running cases from the designer and changing the working calendar, in Russian, on a laptop and a phone."""

import os

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from referral.cases.models import Case
from referral.designer import service as designer
from referral.extensions import db
from tests.browser.conftest import sign_in
from tests.service.test_workflow_migration import KEY, asked_for_screening, health_check_in_48_hours, publish_next

pytestmark = pytest.mark.browser

SHOTS = os.environ.get("REFERRAL_SHOTS") or "/tmp/migrate-shots"


def shot(page, name):
    os.makedirs(SHOTS, exist_ok=True)
    page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


def in_russian(page, live_server, email):
    sign_in(page, live_server, email)
    page.select_option("#language-select", "ru")
    page.wait_for_selector("html[lang=ru]")


@pytest.mark.parametrize("width", [1280, 390])
def test_a_coordinator_tries_then_moves_the_running_cases(live_server, make_app, browser, width):
    with make_app().app_context():
        waiting = asked_for_screening()
        case_id, number = waiting.case_id, waiting.case.number
        publish_next(health_check_in_48_hours)
        target_id = designer.get_version(KEY, 2).id
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ru-RU")
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        in_russian(page, live_server, "coordinator@demo.kz")
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{live_server}/designer/{KEY}")
        page.click("#move-cases-link")
        expect(page.locator("h1")).to_have_text("Перенести текущие случаи")
        expect(page.locator("#from-version")).to_have_value("1")
        expect(page.locator("#to-version")).to_have_value("2")
        row = page.locator('.stage-map-row[data-stage="health-screening"]')
        expect(row).to_be_visible()

        # Unmapped, the waiting referral blocks its case; nothing is changed.
        page.click("#try-migration")
        expect(page.locator("#migration-result")).to_have_attribute("data-applied", "false")
        blocked = page.locator(f'.blocked-case[data-case="{case_id}"]')
        expect(blocked).to_have_attribute("data-reason", "requested_stage_removed")
        expect(blocked).to_contain_text(number)
        expect(blocked).to_contain_text("сопоставьте этот этап")

        # Mapped to the renamed stage, it can move: the dry run shows its answer deadline counted anew.
        page.select_option('select[name="map-health-screening"]', "health-check")
        page.click("#try-migration")
        expect(page.locator(f'.blocked-case[data-case="{case_id}"]')).to_have_count(0)
        change = page.locator(f'.deadline-change[data-case="{case_id}"][data-kind="respond"]')
        expect(change).to_be_visible()
        expect(page.locator("#migration-summary")).to_contain_text("можно перенести")
        page.wait_for_load_state("load")  # the width is the styled page's, not the one still loading
        assert not page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
        shot(page, f"{width}-ru-migration-dry-run")

        page.once("dialog", lambda dialog: dialog.accept())
        page.click("#apply-migration")
        expect(page.locator("#migration-result")).to_have_attribute("data-applied", "true")
        expect(page.locator(".alert-success").first).to_contain_text("версию 2")
        page.wait_for_load_state("load")  # the width is the styled page's, not the one still loading
        assert not page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
        shot(page, f"{width}-ru-migration-applied")
    finally:
        context.close()
    with make_app().app_context():
        assert db.session.scalar(sa.select(Case.workflow_version_id).where(Case.id == case_id)) == target_id


@pytest.mark.parametrize("width", [1280, 390])
def test_an_admin_adds_and_removes_a_day_on_the_calendar_page(live_server, browser, width):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ru-RU")
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        in_russian(page, live_server, "admin@demo.kz")
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{live_server}/calendar/?year=2026")
        expect(page.locator('.calendar-day[data-date="2026-01-01"]')).to_have_attribute("data-source", "package")
        page.fill("#name", "")
        page.fill("#date", "2026-12-05")
        page.select_option("#kind", "working_day")
        page.locator("#add-override button[type=submit]").click()
        expect(page.locator("#add-override")).to_contain_text("как в постановлении")  # the name is missing
        page.fill("#date", "2026-12-05")
        page.fill("#name", "Рабочая суббота")
        page.locator("#add-override button[type=submit]").click()
        added = page.locator('.calendar-day[data-date="2026-12-05"]')
        expect(added).to_have_attribute("data-source", "override")
        expect(page.locator(".alert-success").first).to_contain_text("рабочий день")
        page.wait_for_load_state("load")  # the width is the styled page's, not the one still loading
        assert not page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
        shot(page, f"{width}-ru-calendar")
        added.locator("[data-action=remove]").click()
        expect(page.locator('.calendar-day[data-date="2026-12-05"]')).to_have_count(0)
    finally:
        context.close()
