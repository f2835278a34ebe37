"""A coordinator finds a case with nothing open and closes it through the form, in a real browser (issue 9)."""

import pytest

from tests.appfixtures import stuck_case
from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser

REASON = "The family moved abroad; the guardian confirmed it by phone."


def make_stuck_case(make_app) -> tuple[int, str]:
    """Make a case with nothing open in the live server's database; return its id and number."""
    with make_app().app_context():
        case = stuck_case()
        return case.id, case.number


def test_a_coordinator_sees_the_notice_and_closes_the_case(live_server, page, make_app):
    case_id, number = make_stuck_case(make_app)
    sign_in(page, live_server, "coordinator@demo.kz")
    page.goto(f"{live_server}/cases/")
    page.locator("#nothing-open-cases a").click()
    page.wait_for_url(f"{live_server}/cases/?status=stuck")
    row = page.locator("#cases tbody tr", has_text=number)
    assert "nothing open — refer onward or close" in row.inner_text()
    row.locator("a", has_text=number).click()
    page.wait_for_url(f"{live_server}/cases/{case_id}")

    notice = page.locator("#nothing-open")
    assert notice.is_visible() and "Nothing open — refer onward or close" in notice.inner_text()
    assert "Astana Family Support Centre (demo) completed" in notice.inner_text()
    # Aru's own agency registered the case, so she is offered both ways forward.
    page.locator("#refer-onward").click()
    assert page.evaluate("location.hash") == "#routes"
    assert page.locator("#routes .route[data-stage='initial-assessment']").is_visible()

    with page.expect_navigation():
        page.locator("#close-case").click()  # no reason yet: refused, nothing closed
    assert "The case was not closed" in page.locator(".alert-danger").first.inner_text()
    assert page.locator("#nothing-open").is_visible()
    page.fill("#close-form textarea[name=reason]", REASON)
    with page.expect_navigation():
        page.locator("#close-case").click()
    assert f"Case {number} closed." in page.locator(".alert-success").inner_text()
    assert page.locator("#nothing-open").count() == 0
    assert "closed" in page.locator("h1#case-number + .badge").inner_text()
    assert REASON in page.locator("#timeline").inner_text()

    page.goto(f"{live_server}/cases/?status=stuck")
    assert page.locator("#cases tbody tr", has_text=number).count() == 0


def test_staff_see_the_notice_without_the_close_form(live_server, page, make_app):
    case_id, _ = make_stuck_case(make_app)
    sign_in(page, live_server, "social@demo.kz")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server}/cases/{case_id}")
    assert page.locator("#nothing-open").is_visible()
    assert page.locator("#refer-onward").is_visible() and page.locator("#close-form").count() == 0
    assert "a coordinator of the case's region can close it" in page.locator("#ask-to-close").inner_text()
    # Nothing on the phone-sized page runs off its side.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
