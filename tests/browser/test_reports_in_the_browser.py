"""A coordinator opens /reports in Russian in a real browser: the charts and the coloured workflow render."""

import os
from pathlib import Path

import pytest

from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser

#: Where the screenshots go to be looked at; by default the test's own temporary folder.
SHOTS = os.environ.get("REFERRAL_SCREENSHOTS")


def test_the_reports_page_in_russian_draws_charts_and_the_heat_map(live_server, page, tmp_path):
    shots = Path(SHOTS) if SHOTS else tmp_path
    sign_in(page, live_server, "admin@demo.kz")
    page.select_option("#language-select", "ru")
    page.wait_for_selector("html[lang=ru]")
    page.wait_for_load_state("load")  # the menu opens by Bootstrap's script
    page.locator("#nav-oversight").click()  # deadlines and reports share one menu
    page.locator("#mainnav a", has_text="Отчёты").click()
    page.wait_for_url(f"{live_server}/reports/")
    assert page.locator("h1").inner_text() == "Отчёты"
    # The demo history gives every chart bars, and the picture a stage that is overdue now.
    for chart in ("chart-respond", "chart-shares", "chart-overdue", "chart-months"):
        svg = page.locator(f"svg#{chart}")
        assert svg.is_visible()
        assert svg.locator("rect.bar").count() > 0
        assert svg.bounding_box()["width"] > 300
    assert page.locator("svg#chart-respond line.deadline-mark").count() > 0
    stages = page.locator("#report-heat svg g.stage")
    assert stages.count() > 5
    assert page.locator("#report-heat g.stage.overdue").count() >= 1
    hot = page.locator("#report-heat g.stage[class*='heat-']:not(.heat-0) rect.box").first
    assert hot.get_attribute("fill") not in (None, "#f4f6f8")
    # Classes colour the bars from the static stylesheet: the CSP forbids inline styles.
    fill = page.locator("svg#chart-shares rect.share-accepted").first.evaluate("e => getComputedStyle(e).fill")
    assert fill == "rgb(46, 125, 50)"
    assert "Где ждут дела" in page.locator("#report-heat").inner_text()
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / "reports-ru-1280.png"), full_page=True)

    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert page.locator("svg#chart-respond").bounding_box()["width"] <= 390
    page.screenshot(path=str(shots / "reports-ru-390.png"), full_page=True)
    page.locator("svg#chart-respond").scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "reports-ru-390-charts.png"))
    page.locator("#report-heat").scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "reports-ru-390-heat.png"))
