"""The agency's edit page in a real browser, in Russian, on a laptop (1280 px) and a phone (390 px): 'Save and
generate a new secret' shows the new Standard Webhooks secret once, and the page shows it no more afterwards.
Screenshots go to REFERRAL_SCREENSHOTS when it is set."""

import os
import threading

import pytest
import sqlalchemy as sa
from werkzeug.serving import make_server

from referral.demo import load_demo_data
from referral.directory.models import Agency
from referral.extensions import db
from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser

SHOTS = os.environ.get("REFERRAL_SCREENSHOTS")


@pytest.fixture
def hook_server(make_app):
    """Serve the demo on 127.0.0.1 with webhooks allowed to loopback (the page's address is this server's)."""
    app = make_app(REFERRAL_WEBHOOK_ALLOW_PRIVATE=True)
    with app.app_context():
        load_demo_data()
        db.session.commit()
        clinic = db.session.scalar(sa.select(Agency.id).where(Agency.code == "astana-childrens-clinic"))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app, f"http://127.0.0.1:{server.server_port}", clinic
    server.shutdown()
    thread.join(timeout=10)


@pytest.mark.parametrize("width", [1280, 390])
def test_the_edit_page_generates_a_secret_and_shows_it_once(hook_server, browser, tmp_path, width):
    app, base, clinic = hook_server
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ru-RU")
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        sign_in(page, base, "admin@demo.kz")
        page.select_option("#language-select", "ru")
        page.wait_for_selector("html[lang=ru]")
        page.set_viewport_size({"width": width, "height": 900})  # the language menu folds away on a phone
        page.goto(f"{base}/agencies/{clinic}/edit")
        page.fill("#webhook_url", f"{base}/hook")
        page.get_by_role("button", name="Сохранить и создать новый секрет").click()
        shown = page.locator("#new-secret")
        shown.wait_for()
        secret = shown.inner_text().strip()
        assert secret.startswith("whsec_")
        assert "показывается только один раз" in page.locator("#new-webhook-secret").inner_text()
        page.wait_for_load_state("load")  # measured before the stylesheets came, the secret does not wrap yet
        assert not page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
        page.screenshot(path=os.path.join(SHOTS or str(tmp_path), f"{width}-ru-secret-shown.png"), full_page=True)
        with app.app_context():
            assert db.session.get(Agency, clinic).webhook_secret == secret
        # Generated again: the new one is shown, the old one stays valid for the grace period and is not shown.
        page.get_by_role("button", name="Сохранить и создать новый секрет").click()
        page.wait_for_function(f"document.querySelector('#new-secret').textContent.trim() !== '{secret}'")
        assert "прежним секретом" in page.locator("#new-webhook-secret").inner_text()
        assert secret not in page.content()
        page.screenshot(path=os.path.join(SHOTS or str(tmp_path), f"{width}-ru-secret-rotated.png"), full_page=True)
        page.goto(f"{base}/agencies/{clinic}/edit")
        assert "whsec_" not in page.content()
        assert "прежний секрет тоже действует до" in page.locator("#webhook-secret-state").inner_text()
        page.locator("#webhook").scroll_into_view_if_needed()
        page.screenshot(path=os.path.join(SHOTS or str(tmp_path), f"{width}-ru-edit-after.png"), full_page=True)
    finally:
        context.close()
