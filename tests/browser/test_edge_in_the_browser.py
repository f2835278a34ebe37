"""The edge as a person meets it in Chromium: the policy blocks nothing the pages need and forbids framing;
signing out ends the session on the server; a weak new password is refused."""

import pytest

from referral.demo import DEMO_PASSWORD
from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser

PAGES = ["/", "/inbox/", "/cases/", "/deadlines/", "/agencies/", "/designer/", "/designer/returned-child/edit",
         "/admin/users/", "/admin/audit/", "/profile", "/notifications/"]


def test_no_page_breaks_the_content_security_policy(live_server, page):
    violations = []
    page.on("console", lambda message: violations.append((page.url, message.text))
            if "Content Security Policy" in message.text else None)
    sign_in(page, live_server, "admin@demo.kz")
    for path in PAGES:
        response = page.goto(live_server + path)
        assert response.status == 200, path
        headers = response.headers
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert headers["x-frame-options"] == "DENY" and headers["cache-control"] == "no-store"
    assert violations == []
    # The language picker still switches without inline script (static/referral.js).
    page.goto(live_server + "/cases/")
    with page.expect_navigation():
        page.select_option("#language-select", "ru")
    assert page.locator("html").get_attribute("lang") == "ru"


def test_a_page_of_the_service_cannot_be_framed(live_server, page):
    sign_in(page, live_server, "admin@demo.kz")
    page.set_content(f'<iframe id="f" src="{live_server}/inbox/"></iframe>')
    page.wait_for_timeout(1000)
    frame = page.frame_locator("#f")
    assert frame.locator("#login-form, main").count() == 0


def test_a_confirmation_asked_by_data_confirm_can_be_declined(live_server, page):
    sign_in(page, live_server, "admin@demo.kz")
    page.goto(live_server + "/agencies/")
    page.locator("table a").first.click()
    # The confirmation is static/referral.js's: a click before the page's scripts ran would post unasked.
    page.wait_for_load_state("load")
    asked = []
    page.on("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    url = page.url
    page.click("form[data-confirm] button[type=submit]")
    page.wait_for_timeout(500)
    assert asked and page.url == url  # declined: nothing was posted


def test_signing_out_ends_the_session_for_a_copied_cookie(live_server, browser, page):
    sign_in(page, live_server, "social@demo.kz")
    cookies = page.context.cookies()
    other = browser.new_context()
    other.add_cookies(cookies)
    thief = other.new_page()
    thief.goto(live_server + "/inbox/")
    assert thief.url.endswith("/inbox/")  # the copy works while the session lives
    page.click("text=Sign out")
    page.wait_for_url(f"{live_server}/login")
    thief.goto(live_server + "/inbox/")
    assert "/login" in thief.url
    other.close()


def test_a_weak_password_is_refused_on_the_profile_page(live_server, page):
    sign_in(page, live_server, "social@demo.kz")
    page.goto(live_server + "/profile")
    page.fill("input[name=current]", DEMO_PASSWORD)
    page.fill("input[name=new]", "password1234")
    page.fill("input[name=repeat]", "password1234")
    page.click("#password-form button[type=submit]")
    assert page.locator("text=Too easy to guess.").count() == 1
