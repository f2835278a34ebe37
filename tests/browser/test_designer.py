"""A coordinator edits the returned-child workflow in a real browser: a dead end appears, is fixed, is published."""

import os
import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser




def test_coordinator_finds_a_dead_end_fixes_it_and_publishes(live_server, page, browser, tmp_path):
    sign_in(page, live_server, "coordinator@demo.kz")
    page.locator("nav").get_by_text("Workflows").click()
    row = page.locator('tr[data-workflow="returned-child"]')
    expect(row.locator(".latest-version")).to_contain_text("version 1")
    row.get_by_role("link", name="Edit").click()
    expect(page.locator("#problem-count")).to_have_text("No problems.")
    page.wait_for_load_state("load")  # the summary comes first; count the rows once the page is all there
    expect(page.locator("#add-transition")).to_be_visible()
    stages = page.locator("tbody.stage-row").count()
    transitions = page.locator("tbody.transition-row").count()

    # A new stage, reached from the periodic review, that leads nowhere.
    page.click("#add-stage")
    new = stages
    page.fill(f"input[name=stage-{new}-key]", "legal-aid")
    page.fill(f"input[name=stage-{new}-name]", "Legal aid for the family")
    page.fill(f"input[name=stage-{new}-name_ru]", "Юридическая помощь семье")
    page.fill(f"input[name=stage-{new}-name_kk]", "Отбасыға заң көмегі")
    page.select_option(f"select[name=stage-{new}-agency_type]", "civil_society")
    page.fill(f"input[name=stage-{new}-respond_within-amount]", "2")
    page.select_option(f"select[name=stage-{new}-respond_within-unit]", "days")
    page.click("#add-transition")
    page.fill(f"input[name=transition-{transitions}-from]", "periodic-review")
    page.fill(f"input[name=transition-{transitions}-to]", "legal-aid")
    page.fill(f"input[name=transition-{transitions}-label]", "Refer for legal aid")
    page.fill(f"input[name=transition-{transitions}-label_ru]", "Направить за юридической помощью")

    # Checked as typed: the problem appears beside the stage, and the stage is outlined in the picture.
    beside = page.locator(f'[data-problems="stage-{new}"] li[data-code="dead_end"]')
    expect(beside).to_be_visible()
    expect(beside).to_contain_text("legal-aid")
    expect(page.locator(f'tbody[data-stage-row="{new}"]')).to_have_class(re.compile(r"\brow-error\b"))
    expect(page.locator('#workflow-canvas g[data-stage="legal-aid"]')).to_have_class(re.compile(r"\bhas-error\b"))
    expect(page.locator("#problem-count")).to_contain_text("1 error, 1 warning")
    untranslated = page.locator(f'[data-problems="transition-{transitions}"] li[data-code="missing_translation"]')
    expect(untranslated).to_contain_text("Kazakh")
    page.fill(f"input[name=transition-{transitions}-label_kk]", "Заң көмегіне жіберу")
    expect(page.locator("#problem-count")).to_have_text("1 error, 0 warnings.")
    expect(page.locator("#definition-text")).to_have_value(re.compile(r"key: legal-aid"))
    page.screenshot(path=str(tmp_path / "designer-dead-end.png"), full_page=True)
    page.locator("#workflow-picture").screenshot(path=str(tmp_path / "designer-picture.png"))
    page.locator(f'tbody[data-stage-row="{new}"]').scroll_into_view_if_needed()
    page.screenshot(path=str(tmp_path / "designer-dead-end-stage.png"))
    assert (tmp_path / "designer-dead-end.png").stat().st_size > 20_000

    # Fixed from the text view: a way out of the new stage, written in YAML.
    text = page.locator("#definition-text").input_value()
    way_out = ("- from: legal-aid\n  to: closed\n  label: Close after legal aid\n"
               "  label_ru: Закрыть после юридической помощи\n  label_kk: Заң көмегінен кейін жабу\n")
    page.fill("#definition-text", text.rstrip("\n") + "\n" + way_out)
    expect(page.locator("#problem-count")).to_have_text("No problems.")
    expect(page.locator('#workflow-canvas g[data-stage="legal-aid"]')).not_to_have_class(re.compile(r"has-error"))
    expect(page.locator(f'input[name="transition-{transitions + 1}-from"]')).to_have_value("legal-aid")
    page.click("#save-tables")
    expect(page.locator(".alert-success").first).to_contain_text("Draft saved")
    page.screenshot(path=str(tmp_path / "designer-fixed.png"), full_page=True)

    page.click("#publish-link")
    expect(page.locator('.diff-stage-added[data-stage="legal-aid"]')).to_be_visible()
    page.fill("textarea[name=note]", "Legal aid after the periodic review")
    page.click("#confirm-publish")
    expect(page.locator(".alert-success").first).to_contain_text("Version 2 of returned-child is published")
    expect(page.locator('#versions tr[data-version="2"]')).to_contain_text("Legal aid after the periodic review")

    phone = browser.new_context(viewport={"width": 390, "height": 844}, locale="en-GB")
    small = phone.new_page()
    sign_in(small, live_server, "coordinator@demo.kz")
    small.goto(f"{live_server}/designer/returned-child/edit")
    expect(small.locator('#workflow-canvas g[data-stage="legal-aid"]')).to_be_visible()
    small.screenshot(path=str(tmp_path / "designer-phone.png"), full_page=True)
    phone.close()


def test_staff_sees_workflows_but_no_editor(live_server, page):
    sign_in(page, live_server, "social@demo.kz")
    page.locator("nav").get_by_text("Workflows").click()
    page.get_by_role("link", name="Returned child — rehabilitation and reintegration").click()
    expect(page.locator('#workflow-canvas g[data-stage="registration"]')).to_have_class(re.compile(r"\bstart\b"))
    assert page.locator("#edit-workflow").count() == 0
    response = page.goto(f"{live_server}/designer/returned-child/edit")
    assert response.status == 403


def test_a_coordinator_sets_a_deadline_in_russian_on_a_phone_and_laptop(live_server, page, tmp_path):
    shots = os.environ.get("REFERRAL_SCREENSHOTS") or str(tmp_path)
    sign_in(page, live_server, "coordinator@demo.kz")
    page.select_option("#language-select", "ru")
    page.wait_for_selector("html[lang=ru]")
    page.goto(f"{live_server}/designer/returned-child/edit")
    expect(page.locator("h1")).not_to_contain_text("Returned")  # the workflow's Russian name
    first = page.locator('tbody[data-stage-row="1"]')
    unit = first.locator("select[name=stage-1-respond_within-high-unit]")
    expect(unit.locator("option:checked")).to_have_text("часов")  # PT24H: 24 hours
    expect(first.locator("input[name=stage-1-respond_within-high-amount]")).to_have_value("24")
    first.locator("input[name=stage-1-respond_within-high-amount]").fill("2")
    unit.select_option("working_days")
    expect(page.locator("#definition-text")).to_have_value(re.compile(r"high: 2 working days"))
    page.screenshot(path=os.path.join(shots, "designer-ru-1280.png"), full_page=True)
    first.screenshot(path=os.path.join(shots, "designer-ru-1280-stage.png"))
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server}/designer/returned-child/edit")
    first = page.locator('tbody[data-stage-row="1"]')
    first.scroll_into_view_if_needed()
    page.screenshot(path=os.path.join(shots, "designer-ru-390-stage.png"))
    assert not page.evaluate("document.documentElement.scrollWidth > window.innerWidth")  # the table scrolls inside
