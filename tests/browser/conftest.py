"""A live server on 127.0.0.1 and a real Chromium driven by Playwright."""

import os
import shutil
import threading

import pytest
from playwright.sync_api import sync_playwright
from werkzeug.serving import make_server

from referral.demo import DEMO_PASSWORD, load_demo_data
from referral.extensions import db
from tests.appfixtures import *  # noqa: F403 - pytest finds fixtures by name

CHROMIUM = os.environ.get("REFERRAL_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture
def live_server(make_app):
    """Serve a demo-loaded app on a free port of 127.0.0.1; return its base URL."""
    app = make_app()
    with app.app_context():
        load_demo_data()
        db.session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser():
    """Launch the system's Chromium; skip when it is absent unless REFERRAL_REQUIRE_BROWSER=1."""
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        if os.environ.get("REFERRAL_REQUIRE_BROWSER") == "1":
            pytest.fail(f"Chromium not found at {CHROMIUM}; install Debian's chromium package")
        pytest.skip(f"Chromium not found at {CHROMIUM}")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, tmp_path):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def sign_in(page, base_url, email, password=DEMO_PASSWORD):
    """Sign in through the login form and wait for the home page."""
    page.goto(f"{base_url}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("#login-submit")
    page.wait_for_url(f"{base_url}/")


def pytest_collection_modifyitems(items):
    """Let the live server's static files go unclosed when Chromium drops a request it no longer needs.

    Werkzeug's development server then leaves the file to the garbage collector, which Python reports as
    a ResourceWarning at a random later moment; everything else stays an error.
    """
    leak = pytest.mark.filterwarnings(
        r"ignore:Exception ignored in.*/static/:pytest.PytestUnraisableExceptionWarning")
    unclosed = pytest.mark.filterwarnings(r"ignore:unclosed file .*/static/:ResourceWarning")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(leak)
            item.add_marker(unclosed)
