"""Pages in a real browser on a phone (390 px, Russian: nothing scrolls sideways, tables read as cards) and on a
1366 px laptop (the navigation is one row), and the language chosen on the sign-in page."""

import os

import pytest
import sqlalchemy as sa

from referral.actors import Actor
from referral.auth import service as accounts
from referral.cases.models import Case
from referral.directory.models import Agency
from referral.extensions import db
from tests.appfixtures import PASSWORD
from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser

SHOTS = os.environ.get("REFERRAL_SCREENSHOTS")


def shot(page, tmp_path, name):
    page.screenshot(path=os.path.join(SHOTS or str(tmp_path), f"{name}.png"), full_page=True)


def in_language(page, live_server, email, locale):
    sign_in(page, live_server, email)
    page.select_option("#language-select", locale)
    page.wait_for_selector(f"html[lang={locale}]")
    page.wait_for_load_state("load")  # styles applied: before that the bar's items stand one under another


def demo_case_ids(make_app):
    with make_app().app_context():
        return dict(db.session.execute(sa.select(Case.family_name, Case.id)).all())


def scrolls_sideways(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth > window.innerWidth")


def within_the_screen(page, selector) -> bool:
    """Return whether every element matching selector is shown and inside the viewport's width."""
    boxes = [element.bounding_box() for element in page.locator(selector).all()]
    return bool(boxes) and all(box and box["x"] >= 0 and box["x"] + box["width"] <= 390 + 0.5 for box in boxes)


@pytest.mark.parametrize("email, pages", [
    ("social@demo.kz", ["cases", "case:Samplova (demo)", "case:Fictionov (demo)", "case:Inventova (demo)",
                        "agencies", "inbox"]),
    ("health@demo.kz", ["inbox", "case:Samplova (demo)", "case:Fictionov (demo)"]),
    ("health.supervisor@demo.kz", ["deadlines"]),
    ("admin@demo.kz", ["users", "case:Madeupov (demo)"]),
])
def test_no_page_scrolls_sideways_on_a_phone_in_russian(live_server, page, make_app, tmp_path, email, pages):
    ids = demo_case_ids(make_app)
    in_language(page, live_server, email, "ru")
    page.set_viewport_size({"width": 390, "height": 844})
    for name in pages:
        kind, _sep, family = name.partition(":")
        path = {"cases": "/cases/", "agencies": "/agencies/", "inbox": "/inbox/", "deadlines": "/deadlines/",
                "users": "/admin/users/"}.get(kind) or f"/cases/{ids[family]}"
        page.goto(f"{live_server}{path}")
        assert not scrolls_sideways(page), (email, path, page.evaluate("document.documentElement.scrollWidth"))
        shot(page, tmp_path, f"390-ru-{email.split('@')[0]}-{kind}-{(family or 'list').split()[0]}")


def test_on_a_phone_the_due_dates_and_consents_are_on_the_screen_with_their_labels(live_server, page, make_app,
                                                                                   tmp_path):
    ids = demo_case_ids(make_app)
    in_language(page, live_server, "health.supervisor@demo.kz", "ru")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server}/deadlines/")
    assert page.locator("#deadlines thead").is_hidden()
    assert within_the_screen(page, "#deadlines .deadline-due")
    assert page.locator("#deadlines .deadline-due").first.evaluate(
        "cell => getComputedStyle(cell, '::before').content") == '"Срок"'
    page.goto(f"{live_server}/cases/{ids['Fictionov (demo)']}")
    assert within_the_screen(page, "#consent-list .consent-expires")
    page.locator("#consent-list").scroll_into_view_if_needed()
    shot(page, tmp_path, "390-ru-consents-as-cards")


LONG_NAME = "Республикалық-кәмелетке-толмағандардың-құқықтарын-қорғау-жөніндегі-ведомствоаралық-үйлестіру-орталығы"


def test_long_names_wrap_in_the_users_list(live_server, page, make_app, tmp_path):
    with make_app().app_context():
        agency = Agency(code="long-name", name="Long Name Centre", name_kk=LONG_NAME, type="social", region="KZ-71",
                        contacts=[], services=[])
        db.session.add(agency)
        db.session.commit()
        accounts.create_user(accounts.UserData(email=f"{'a' * 60}@{'b' * 40}.example.kz", name="Ә" * 80,
                                               agency_code="long-name", role="staff", password=PASSWORD),
                             Actor.system_actor("test"))
        db.session.commit()
    in_language(page, live_server, "admin@demo.kz", "kk")
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{live_server}/admin/users/")
        assert not scrolls_sideways(page), width
        table = page.locator("#users").bounding_box()
        assert table["x"] + table["width"] <= width
        assert page.locator("#users .user-agency", has_text=LONG_NAME).is_visible()
        shot(page, tmp_path, f"{width}-kk-users-long-names")


def nav_rows(page) -> tuple[float, float, float]:
    """Return the top of the first and of the last item of the navigation bar, and the right edge of the last."""
    return page.evaluate("""() => {
        const items = [...document.querySelectorAll('#mainnav .nav-item')];
        const first = items[0].getBoundingClientRect(), last = items[items.length - 1].getBoundingClientRect();
        return [first.top, last.top, last.right];
    }""")


@pytest.mark.parametrize("email, locale", [("admin@demo.kz", "en"), ("health@demo.kz", "ru"),
                                           ("social@demo.kz", "ru"), ("admin@demo.kz", "ru"),
                                           ("admin@demo.kz", "kk"), ("coordinator@demo.kz", "kk")])
def test_on_a_laptop_the_navigation_is_one_row(live_server, browser, tmp_path, email, locale):
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    in_language(page, live_server, email, locale)
    first_top, last_top, last_right = nav_rows(page)
    assert abs(first_top - last_top) < 1 and last_right <= 1366, (first_top, last_top, last_right)
    assert page.locator("#notifications-link").is_visible() and page.locator("#profile-link").is_visible()
    shot(page, tmp_path, f"1366-{locale}-{email.split('@')[0]}-navigation")
    if email.startswith("admin"):
        page.locator("#nav-admin").click()
        page.locator(".dropdown-menu a[href='/admin/audit/']").click()
        page.wait_for_url("**/admin/audit/")
        assert "active" in page.locator("#nav-admin").get_attribute("class")
    context.close()


def test_the_language_chosen_on_the_sign_in_page_stays_after_signing_in(live_server, page, tmp_path):
    page.goto(f"{live_server}/login")
    page.select_option("#language-select", "kk")
    page.wait_for_selector("html[lang=kk]")
    sign_in(page, live_server, "health@demo.kz")  # a user whose own language is English
    assert page.locator("html").get_attribute("lang") == "kk"
    assert page.locator("h1").inner_text().startswith("Қош келдіңіз")
    page.reload()
    assert page.locator("html").get_attribute("lang") == "kk"
    shot(page, tmp_path, "home-kk-after-sign-in")
