"""A demo user signs in and switches the interface to Russian, in a real browser."""

import pytest

from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser




def test_demo_user_signs_in_and_sees_home_in_russian(live_server, page, tmp_path):
    sign_in(page, live_server, "health@demo.kz")
    assert page.locator("h1").inner_text().startswith("Welcome")
    assert page.locator("nav").get_by_text("Agencies").is_visible()
    assert page.locator("nav").get_by_text("Audit log").count() == 0  # staff see no admin pages

    page.select_option("#language-select", "ru")
    # Wait for the reloaded page itself, not just any "load" event of the old one.
    page.wait_for_selector("html[lang=ru]")
    assert page.locator("h1").inner_text().startswith("Добро пожаловать")
    assert page.locator("nav").get_by_text("Организации").is_visible()
    page.screenshot(path=str(tmp_path / "home-ru.png"), full_page=True)
    assert (tmp_path / "home-ru.png").stat().st_size > 10_000

    # The choice belongs to the user: it survives signing out and in again.
    page.get_by_role("button", name="Выйти").click()
    sign_in(page, live_server, "health@demo.kz")
    assert page.locator("h1").inner_text().startswith("Добро пожаловать")


def test_admin_sees_admin_navigation_and_a_wrong_password_is_refused(live_server, page, tmp_path):
    page.goto(f"{live_server}/login")
    page.fill("input[name=email]", "admin@demo.kz")
    page.fill("input[name=password]", "not-the-password")
    page.click("#login-submit")
    assert "wrong" in page.locator(".alert-danger").inner_text()
    sign_in(page, live_server, "admin@demo.kz")
    page.wait_for_load_state("load")  # Bootstrap's script opens the menu
    page.locator("#nav-admin").click()  # the admin's pages share one menu
    page.locator("nav").get_by_text("Users").click()
    page.wait_for_url(f"{live_server}/admin/users/")  # the click only starts the navigation
    assert page.locator("table").get_by_text("admin@demo.kz").is_visible()
    page.goto(f"{live_server}/agencies/?type=health")
    assert page.locator("#agencies tbody tr").count() >= 4
    page.screenshot(path=str(tmp_path / "agencies.png"), full_page=True)


def test_phone_width_collapses_the_navigation(live_server, browser, tmp_path):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    sign_in(page, live_server, "coordinator@demo.kz")
    assert not page.locator("#mainnav").is_visible()
    page.click(".navbar-toggler")
    page.locator("#mainnav").get_by_text("Agencies").wait_for(state="visible")
    page.screenshot(path=str(tmp_path / "phone.png"), full_page=True)
    context.close()
