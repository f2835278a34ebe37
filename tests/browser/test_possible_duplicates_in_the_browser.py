"""Possible duplicates in a real browser (DESIGN.md §12): a caseworker in Almaty registers, on a phone in Russian, a
girl that an Astana agency already holds; the form shows the match before it saves, she asks the holding agency,
and registering anyway is still one press away with everything she typed kept."""

import os
from datetime import date

import pytest
import sqlalchemy as sa

from referral.cases import service as cases
from referral.cases.models import Case
from referral.extensions import db
from referral.notifications.models import Notification
from tests.appfixtures import demo_actor
from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser

SHOTS = os.environ.get("REFERRAL_SCREENSHOTS")


def shot(page, tmp_path, name):
    page.screenshot(path=os.path.join(SHOTS or str(tmp_path), f"{name}.png"), full_page=True)


def known_child(make_app) -> tuple[int, str]:
    with make_app().app_context():
        child = cases.ChildData(given_name="Айгерім", family_name="Нұрланова", sex="female", region="KZ-71",
                                birth_date=date(2015, 3, 4))
        case = cases.register_case("returned-child", "medium", child, demo_actor("social@demo.kz"))
        db.session.commit()
        return case.id, case.number


def fill_the_child(page, given, family):
    page.fill("input[name=family_name]", family)
    page.fill("input[name=given_name]", given)
    page.fill("input[name=birth_date]", "2015-03-04")
    page.select_option("select[name=sex]", "female")
    page.check("input[name=languages][value=kk]")


def test_a_registration_in_russian_on_a_phone_shows_the_possible_duplicate_first(live_server, page, make_app,
                                                                                  tmp_path):
    case_id, number = known_child(make_app)
    with make_app().app_context():
        registered = db.session.scalar(sa.select(sa.func.count()).select_from(Case))  # the demo's cases and hers
    sign_in(page, live_server, "rehab@demo.kz")
    page.select_option("#language-select", "ru")
    page.wait_for_selector("html[lang=ru]")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server}/cases/new")
    fill_the_child(page, "Aigerim", "Nurlanva")  # Latin letters, one letter left out
    with page.expect_navigation():
        page.locator("#register-submit").click()

    found = page.locator("#possible-duplicates")
    assert found.locator("h2").inner_text() == "Возможно, на этого ребёнка уже открыт случай"
    match = found.locator(f".duplicate[data-case='{number}']")
    text = match.inner_text()
    # The agency as the case pages name it (in the reader's language once every page does).
    holder = next(name for name in ("Центр поддержки семьи Астаны (демо)", "Astana Family Support Centre (demo)")
                  if name in text)
    assert f"Случай {number}" in text
    assert "город Астана" in text and "Женский" in text and "Сходство 90%" in text
    assert "Нұрланова" not in found.inner_text() and "2015" not in found.inner_text()
    assert page.locator("#register-submit").inner_text() == "Всё равно зарегистрировать"
    assert page.input_value("input[name=family_name]") == "Nurlanva"
    assert page.input_value("input[name=birth_date]") == "2015-03-04"
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, tmp_path, "possible-duplicate-ru-390")
    with make_app().app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Case)) == registered  # no new file yet

    with page.expect_navigation():
        match.get_by_role("button", name="Спросить организацию, которая ведёт случай").click()
    assert f"Запрос о случае {number} отправлен: {holder}." in page.locator(".alert-success").inner_text()
    assert match.locator(".duplicate-asked").inner_text() == "Запрос отправлен: с вашей организацией свяжутся."
    assert match.get_by_role("button").count() == 0
    assert page.input_value("input[name=given_name]") == "Aigerim"
    assert page.is_checked("input[name=languages][value=kk]")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, tmp_path, "possible-duplicate-asked-ru-390")
    with make_app().app_context():
        told = db.session.scalars(sa.select(Notification).where(Notification.kind == "case.inquiry")).all()
        assert told and {n.case_id for n in told} == {case_id}

    # Enter in a field registers, as the form always did: it never sends another question.
    with page.expect_navigation():
        page.press("input[name=given_name]", "Enter")
    assert "зарегистрирован" in page.locator(".alert-success").inner_text()
    with make_app().app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Case)) == registered + 1
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification)
                                 .where(Notification.kind == "case.inquiry")) == len(told)


def test_the_match_list_in_english_on_a_wide_screen_and_in_kazakh_on_a_phone(live_server, page, make_app, tmp_path):
    _, number = known_child(make_app)
    sign_in(page, live_server, "rehab@demo.kz")
    page.goto(f"{live_server}/cases/new")
    fill_the_child(page, "Айгерим", "Нурланова")
    with page.expect_navigation():
        page.locator("#register-submit").click()
    assert "Similarity 100%" in page.locator(f"#possible-duplicates .duplicate[data-case='{number}']").inner_text()
    shot(page, tmp_path, "possible-duplicate-en")
    page.select_option("#language-select", "kk")
    page.wait_for_selector("html[lang=kk]")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server}/cases/new")
    fill_the_child(page, "Aigerim", "Nurlanova")
    with page.expect_navigation():
        page.locator("#register-submit").click()
    assert page.locator("#possible-duplicates h2").inner_text() == "Бұл балаға іс ашылған болуы мүмкін"
    assert page.locator("#register-submit").inner_text() == "Бәрібір тіркеу"
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, tmp_path, "possible-duplicate-kk-390")
