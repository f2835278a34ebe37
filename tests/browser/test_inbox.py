"""The clinic accepts a referral from its inbox and the referring agency sees it, in a real browser."""

import pytest
import sqlalchemy as sa

from referral.cases.models import Case
from referral.extensions import db
from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser

LAPTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}




def demo_case_number(make_app, family_name):
    app = make_app()
    with app.app_context():
        return db.session.scalar(sa.select(Case.number).where(Case.family_name == f"{family_name} (demo)"))


def test_clinic_accepts_a_referral_and_the_sender_is_told(live_server, browser, make_app, tmp_path):
    number = demo_case_number(make_app, "Samplova")
    context = browser.new_context(viewport=LAPTOP, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(15_000)

    sign_in(page, live_server, "health@demo.kz")
    inbox_link = page.locator("#mainnav a", has_text="Inbox")
    waiting = int(inbox_link.locator(".badge").inner_text())  # the demo's history left one more waiting
    inbox_link.click()
    assert page.locator("#referrals [data-case]").count() == waiting >= 1
    row = page.locator(f"#referrals [data-case='{number}']")
    assert "Requested" in row.inner_text()
    page.screenshot(path=str(tmp_path / "inbox-laptop.png"), full_page=True)

    with page.expect_navigation():
        row.locator("button[data-action=accept]").click()
    assert "Referral accepted." in page.locator(".alert-success").inner_text()
    assert page.locator(f"#referrals [data-case='{number}']").count() == 0
    page.locator("#inbox-tabs [data-tab=active]").click()
    page.locator(f"#referrals [data-case='{number}'] a", has_text=number).click()
    assert page.locator("#case-number").inner_text() == number
    assert "Samplova" in page.locator("#child").inner_text()  # accepted: the full record opens
    assert page.locator("#where-now svg").count() == 1
    page.screenshot(path=str(tmp_path / "case-laptop.png"), full_page=True)

    page.set_viewport_size(PHONE)
    page.screenshot(path=str(tmp_path / "case-phone.png"), full_page=True)
    page.goto(f"{live_server}/inbox/?tab=active")
    page.screenshot(path=str(tmp_path / "inbox-phone.png"), full_page=True)
    context.close()

    context = browser.new_context(viewport=LAPTOP, locale="en-GB")
    page = context.new_page()
    sign_in(page, live_server, "social@demo.kz")
    assert int(page.locator("#unread-count").inner_text()) >= 1
    page.click("#notifications-link")
    notice = page.locator("#notifications li.unread", has_text="accepted your referral").first
    assert number in notice.inner_text() and "Astana Children" in notice.inner_text()
    page.screenshot(path=str(tmp_path / "notifications-laptop.png"), full_page=True)
    with page.expect_navigation():
        page.click("#mark-all-read")
    assert page.locator("#notifications li.unread").count() == 0
    assert page.locator("#unread-count").count() == 0
    context.close()
    for name in ("inbox-laptop", "case-laptop", "case-phone", "inbox-phone", "notifications-laptop"):
        assert (tmp_path / f"{name}.png").stat().st_size > 10_000
