"""Single sign-on in a real Chromium through a real OpenID provider (panva's oidc-provider on 127.0.0.1): the
login page's button, the provider's own sign-in form, and back signed in; refusals shown on the login page."""

import threading

import pytest
from werkzeug.serving import make_server

from referral.demo import DEMO_PASSWORD, load_demo_data
from referral.extensions import db

pytestmark = pytest.mark.browser


@pytest.fixture
def sso_server(make_app, oidc_provider):
    """Serve a demo-loaded app that signs in through the test provider, on the port its redirect URI names."""
    app = make_app(**oidc_provider.app_config())
    with app.app_context():
        load_demo_data()
        db.session.commit()
    server = make_server("127.0.0.1", oidc_provider.app_port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield oidc_provider.app_url
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


def through_provider(page, base_url, login):
    """Press the login page's button and sign in on the provider's own form as ``login``."""
    # Nothing leaves the machine: the provider's page asks for a web font, which is not fetched.
    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith("http://127.0.0.1:")
               else route.abort())
    page.goto(f"{base_url}/login")
    page.get_by_role("link", name="Sign in with Test ID").click()
    page.wait_for_selector("input[name=login]")
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", "any")
    page.click("button[type=submit]")


def test_a_demo_user_signs_in_through_the_provider(sso_server, page, tmp_path):
    page.goto(f"{sso_server}/login")
    assert page.locator("#login-form").is_visible()  # the password stays on offer beside the provider
    through_provider(page, sso_server, "health")
    page.wait_for_url(f"{sso_server}/")
    assert page.locator("h1").inner_text().startswith("Welcome")
    assert page.locator("nav").get_by_text("Agencies").is_visible()
    page.screenshot(path=str(tmp_path / "signed-in-through-provider.png"), full_page=True)


@pytest.mark.parametrize(("login", "message"), [
    ("stranger", "There is no account here for the e-mail address your identity provider confirmed"),
    ("unverified", "Your identity provider has not confirmed your e-mail address"),
])
def test_an_unknown_or_unverified_email_is_refused_with_the_message(sso_server, page, login, message):
    through_provider(page, sso_server, login)
    alert = page.locator(".alert-danger")
    alert.wait_for()
    assert message in alert.inner_text()
    assert page.url == f"{sso_server}/login"  # the provider's code is no longer in the address bar
    page.goto(f"{sso_server}/profile")
    assert "/login" in page.url  # not signed in
    # The password form of the page the refusal shows still signs in.
    page.fill("input[name=email]", "health@demo.kz")
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("#login-submit")
    page.wait_for_url(f"{sso_server}/profile")
