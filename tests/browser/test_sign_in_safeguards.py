"""Sign-in safeguards as a person meets them in Chromium: setting up and using the TOTP second factor, an
administrator requiring it, an idle session that ends, the per-address limit, and a reset link from a real
SMTP server."""

import re
import threading
import time

import pyotp
import pytest
from werkzeug.serving import make_server

from referral.auth import views
from referral.demo import DEMO_PASSWORD, load_demo_data
from referral.extensions import db
from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser


def serve(app):
    with app.app_context():
        load_demo_data()
        db.session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"


@pytest.fixture
def strict_server(make_app, smtp_server):
    """A demo server whose per-address limit is three failed sign-ins, and which sends mail to a local inbox."""
    inbox, smtp_url = smtp_server
    app = make_app(LOCKOUT_ADDRESS_THRESHOLD=3, REFERRAL_SMTP_URL=smtp_url)
    server, url = serve(app)
    app.config["REFERRAL_BASE_URL"] = url
    yield url, inbox
    server.shutdown()


def set_up_second_factor(page, base_url) -> tuple[str, list[str]]:
    page.goto(base_url + "/profile/two-factor")
    assert page.locator("#qr-code svg").is_visible()
    key = page.inner_text("#totp-key").replace(" ", "")
    page.fill("input[name=code]", pyotp.TOTP(key).now())
    page.click("#enable-submit")
    page.wait_for_selector("#recovery-codes")
    codes = page.locator("#recovery-codes code").all_inner_texts()
    return key, codes


def test_a_user_sets_up_the_second_factor_and_signs_in_with_it(live_server, page, tmp_path):
    sign_in(page, live_server, "social@demo.kz")
    page.goto(live_server + "/profile")
    page.click("#second-factor-link")
    page.wait_for_url(live_server + "/profile/two-factor")
    key, codes = set_up_second_factor(page, live_server)
    assert len(codes) == 10
    page.screenshot(path=str(tmp_path / "recovery-codes.png"), full_page=True)
    page.reload()
    assert page.locator("#recovery-codes").count() == 0  # shown once
    assert "9" not in page.inner_text("#codes-left") and "10" in page.inner_text("#codes-left")

    page.click("text=Sign out")
    page.fill("input[name=email]", "social@demo.kz")
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("#login-submit")
    page.wait_for_url(live_server + "/login/code")
    page.fill("input[name=code]", "000000")
    page.click("#code-submit")
    assert page.locator(".invalid-feedback, .text-danger").filter(has_text="wrong").count() == 1
    # The code the app shows now; the step after the one used at set-up, so that it is not a replay.
    totp = pyotp.TOTP(key)
    page.fill("input[name=code]", totp.at(time.time() + 30))
    page.click("#code-submit")
    page.wait_for_url(live_server + "/")


def test_a_required_second_factor_is_set_up_before_anything_else(live_server, browser, page):
    sign_in(page, live_server, "admin@demo.kz")
    page.goto(live_server + "/admin/users/")
    page.check("#second-factor-policy input[name=required]")
    page.click("#second-factor-policy button[type=submit]")
    page.wait_for_url(live_server + "/profile/two-factor")  # the administrator is sent to set it up too
    assert page.locator(".alert-info, .alert-warning").count() >= 1

    other = browser.new_context(viewport={"width": 390, "height": 844}, locale="ru-RU")
    coordinator = other.new_page()
    sign_in_anywhere(coordinator, live_server, "coordinator@demo.kz")
    coordinator.goto(live_server + "/designer/")
    assert coordinator.url == live_server + "/profile/two-factor"
    set_up_second_factor(coordinator, live_server)
    coordinator.goto(live_server + "/designer/")
    assert coordinator.url == live_server + "/designer/"
    coordinator.goto(live_server + "/profile/two-factor")
    assert coordinator.locator("#disable-second-factor").count() == 0  # required: it cannot be turned off
    other.close()


def sign_in_anywhere(page, base_url, email, password=DEMO_PASSWORD):
    page.goto(f"{base_url}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("#login-submit")
    page.wait_for_load_state()


def test_an_idle_session_ends(live_server, page, monkeypatch):
    clock = [time.time()]
    monkeypatch.setattr(views, "_now", lambda: clock[0])
    sign_in(page, live_server, "social@demo.kz")
    clock[0] += 20 * 60
    page.goto(live_server + "/inbox/")
    assert page.url == live_server + "/inbox/"
    clock[0] += 31 * 60
    page.goto(live_server + "/inbox/")
    assert "/login" in page.url


def test_one_address_trying_many_accounts_is_stopped(strict_server, page):
    base_url, _ = strict_server
    for email in ("social@demo.kz", "health@demo.kz", "school@demo.kz"):
        sign_in_anywhere(page, base_url, email, "not the password at all")
        assert "/login" in page.url
    # The address is now refused as a whole, even with a right password.
    sign_in_anywhere(page, base_url, "admin@demo.kz")
    assert "/login" in page.url
    assert page.locator(".alert-danger").count() == 1


def test_a_reset_link_sent_by_an_administrator_sets_a_new_password(strict_server, browser, page):
    base_url, inbox = strict_server
    sign_in(page, base_url, "admin@demo.kz")
    page.goto(base_url + "/admin/users/?q=social%40demo.kz")
    page.locator("table a").first.click()
    page.click("#reset-link-form button")
    assert page.locator(".alert-success").count() == 1
    for _ in range(50):
        if inbox.messages:
            break
        time.sleep(0.1)
    message = inbox.messages[0]
    assert message["To"] == "social@demo.kz"
    link = re.search(r"(http://127\.0\.0\.1:\d+/reset/\S+)", message.get_content()).group(1)

    visitor = browser.new_context().new_page()
    visitor.goto(link)
    new = "copper heron beneath tall reeds"
    visitor.fill("input[name=new]", new)
    visitor.fill("input[name=repeat]", new)
    visitor.click("#reset-form button[type=submit]")
    visitor.wait_for_url(base_url + "/login")
    sign_in(visitor, base_url, "social@demo.kz", new)
    visitor.goto(link)  # used once: dead now
    assert visitor.locator("#reset-form").count() == 0
