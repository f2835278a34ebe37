"""The workflow picture in a real browser: on a 390 px phone the active stage of a late-stage case is in view
on load, the zoom buttons zoom; the text the browser draws stays inside its boxes and labels clear of each
other; screenshots of every page with a picture in English and Russian, phone and laptop."""

import os

import pytest
import sqlalchemy as sa
import yaml

from referral.actors import Actor
from referral.cases.models import Case
from referral.designer import service as designer
from referral.extensions import db
from tests.browser.conftest import sign_in
from workflows.library import load_default_workflow_text

pytestmark = pytest.mark.browser

SHOTS = os.environ.get("REFERRAL_SCREENSHOTS")
PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1366, "height": 768}

#: Rectangles (in page pixels) of every stage box, stage text and route label the browser drew.
DRAWN = """svg => {
  const rect = e => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
  return {
    stages: [...svg.querySelectorAll('g.stage')].map(g => ({
      key: g.dataset.stage, box: rect(g.querySelector('rect.box')),
      texts: [...g.querySelectorAll('text')].map(rect)})),
    labels: [...svg.querySelectorAll('g.transition text.edge-label')].map(t => ({
      route: t.parentNode.dataset.from + '>' + t.parentNode.dataset.to, box: rect(t)})),
  };
}"""


def shot(page, tmp_path, name, full=False):
    page.screenshot(path=os.path.join(SHOTS or str(tmp_path), f"{name}.png"), full_page=full)


def overlaps(a, b):
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def assert_drawn_cleanly(page, selector):
    drawn = page.locator(selector).evaluate(DRAWN)
    assert drawn["stages"] and drawn["labels"]
    for stage in drawn["stages"]:
        x0, y0, x1, y1 = stage["box"]
        for left, top, right, bottom in stage["texts"]:
            assert x0 <= left and right <= x1 and y0 <= top and bottom <= y1, stage["key"]
    things = [(stage["key"], stage["box"]) for stage in drawn["stages"]]
    for index, label in enumerate(drawn["labels"]):
        for name, box in things + [(other["route"], other["box"]) for other in drawn["labels"][index + 1:]]:
            assert not overlaps(label["box"], box), (label["route"], name)


def in_view(page, canvas, stage):
    """Return whether a stage's box is inside the picture's scrolled box, and that box inside the screen."""
    page.locator(canvas).scroll_into_view_if_needed()
    outer = page.locator(canvas).bounding_box()
    inner = page.locator(stage).bounding_box()
    screen = page.viewport_size
    return (outer["x"] - 1 <= inner["x"] and inner["x"] + inner["width"] <= outer["x"] + outer["width"] + 1
            and outer["y"] - 1 <= inner["y"] and inner["y"] + inner["height"] <= outer["y"] + outer["height"] + 1
            and outer["x"] >= 0 and outer["x"] + outer["width"] <= screen["width"] + 0.5)


@pytest.fixture
def late_draft(make_app, live_server):
    """Save a draft of the bundled workflow that renames its periodic review, near the bottom of the picture."""
    document = yaml.safe_load(load_default_workflow_text())
    for stage in document["stages"]:
        if stage["key"] == "periodic-review":
            stage["name"] += " and plan"
            stage["name_ru"] += " и плана"
    with make_app().app_context():
        designer.save_draft(document, Actor.system_actor("test"))
        db.session.commit()


@pytest.fixture
def late_case(make_app):
    """Return the id and active stage of the demo case that went furthest down the route."""
    with make_app().app_context():
        return db.session.scalar(sa.select(Case.id).where(Case.family_name == "Madeupov (demo)"))


def in_language(page, live_server, locale, viewport):
    sign_in(page, live_server, "admin@demo.kz")
    page.select_option("#language-select", locale)  # in the bar, before it folds into a menu on a phone
    page.wait_for_selector(f"html[lang={locale}]")
    page.set_viewport_size(viewport)


def test_on_a_phone_the_late_stage_of_a_case_is_in_view_and_the_buttons_zoom(live_server, page, late_case,
                                                                               tmp_path):
    in_language(page, live_server, "ru", PHONE)
    page.goto(f"{live_server}/cases/{late_case}")
    page.wait_for_load_state("load")
    canvas = "#case-picture"
    highlighted = page.locator(f"{canvas} g.stage.highlighted")
    assert highlighted.count() >= 1
    key = highlighted.last.get_attribute("data-stage")
    assert key in ("periodic-review", "closed")  # the bottom of the picture, far from where it starts
    assert in_view(page, canvas, f"{canvas} g.stage.highlighted rect.box >> nth=0")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, tmp_path, "case-ru-390")

    width = page.locator(f"{canvas} svg").bounding_box()["width"]
    page.get_by_role("button", name="Увеличить").click()
    bigger = page.locator(f"{canvas} svg").bounding_box()["width"]
    assert bigger == pytest.approx(width * 1.25, rel=0.02)
    page.get_by_role("button", name="Уменьшить").click()
    page.get_by_role("button", name="Уменьшить").click()
    assert page.locator(f"{canvas} svg").bounding_box()["width"] < width
    assert page.locator("#where-now .zoom-level").inner_text().endswith("%")
    page.get_by_role("button", name="По ширине").click()
    fitted = page.locator(f"{canvas} svg").bounding_box()
    assert fitted["width"] <= page.locator(canvas).bounding_box()["width"]
    # Keyboard users zoom too: Tab to a button and press it, or + in the picture.
    page.locator(canvas).focus()
    page.keyboard.press("+")
    assert page.locator(f"{canvas} svg").bounding_box()["width"] > fitted["width"]


@pytest.mark.parametrize("locale", ["en", "ru"])
@pytest.mark.parametrize("viewport", [PHONE, LAPTOP], ids=["390", "laptop"])
def test_every_picture_draws_its_text_inside_the_boxes_and_labels_apart(live_server, page, late_case, late_draft,
                                                                      tmp_path, locale, viewport):
    in_language(page, live_server, locale, viewport)
    name = f"{locale}-{viewport['width']}"

    page.goto(f"{live_server}/cases/{late_case}")
    page.wait_for_load_state("load")
    assert in_view(page, "#case-picture", "#case-picture g.stage.highlighted rect.box >> nth=0")
    assert_drawn_cleanly(page, "#case-picture svg")
    shot(page, tmp_path, f"case-{name}")

    page.goto(f"{live_server}/designer/returned-child")
    page.wait_for_load_state("load")
    assert_drawn_cleanly(page, "#workflow-canvas svg")
    page.locator("#workflow-picture").scroll_into_view_if_needed()
    shot(page, tmp_path, f"designer-{name}")

    page.goto(f"{live_server}/designer/returned-child/diff")
    page.wait_for_load_state("load")
    assert page.locator("#workflow-canvas g.stage.highlighted").get_attribute("data-stage") == "periodic-review"
    assert in_view(page, "#workflow-canvas", "#workflow-canvas g.stage.highlighted rect.box")
    assert_drawn_cleanly(page, "#workflow-canvas svg")
    shot(page, tmp_path, f"diff-{name}")

    page.goto(f"{live_server}/reports/")
    page.wait_for_load_state("load")
    assert_drawn_cleanly(page, "#report-picture svg")
    page.locator("#report-heat").scroll_into_view_if_needed()
    shot(page, tmp_path, f"reports-{name}")
