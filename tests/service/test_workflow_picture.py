"""The SVG picture of a workflow, read back from its markup: labels clear of boxes, other labels and every
line; names inside their boxes, whole, in English, Russian and Kazakh; title and description for readers."""

import re
import xml.etree.ElementTree as ET

import pytest
from flask_babel import force_locale

from referral.designer.drawing import Heat, workflow_svg
from tests.workflows.picture_geometry import problems, span
from workflows.layout import text_width
from workflows.library import load_default_workflow

SVG = "{http://www.w3.org/2000/svg}"
NUMBER = r"-?\d+(?:\.\d+)?"


def text_rect(text: ET.Element) -> tuple[float, float, float, float]:
    """Return the rectangle the lines of a <text> take, by the layout's estimate of their width."""
    size = float(text.get("font-size"))
    rects = []
    for span_ in text.iter(f"{SVG}tspan"):
        x, y = float(span_.get("x")), float(span_.get("y"))
        width = text_width(span_.text, size, bold=text.get("font-weight") == "600",
                           mono="monospace" in (text.get("font-family") or ""))
        left = x - width / 2 if text.get("text-anchor") == "middle" else x
        rects.append((left, y - size * 0.95, left + width, y + size * 0.3))
    return min(r[0] for r in rects), min(r[1] for r in rects), max(r[2] for r in rects), max(r[3] for r in rects)


def path_pieces(d: str) -> list[tuple[float, float, float, float]]:
    """Return the rectangle of every piece of a path of M, L and C commands (a curve stays inside its points)."""
    pieces, current = [], None
    for command, numbers in re.findall(rf"([MLC])((?:\s*{NUMBER},{NUMBER})+)", d):
        points = [tuple(map(float, pair.split(","))) for pair in re.findall(rf"{NUMBER},{NUMBER}", numbers)]
        if command != "M":
            pieces.append(span([current, *points]))
        current = points[-1]
    return pieces


def read_picture(svg: str):
    root = ET.fromstring(svg)
    boxes, labels, pieces, texts = {}, [], [], []
    for group in root.iter(f"{SVG}g"):
        classes = (group.get("class") or "").split()
        if "stage" in classes:
            rect = group.find(f"{SVG}rect[@class='box']")
            x, y = float(rect.get("x")), float(rect.get("y"))
            boxes[group.get("data-stage")] = (x, y, x + float(rect.get("width")), y + float(rect.get("height")))
            texts.extend((group.get("data-stage"), text) for text in group.iter(f"{SVG}text"))
        elif "transition" in classes:
            route = (group.get("data-from"), group.get("data-to"))
            pieces.extend((route, piece) for piece in path_pieces(group.find(f"{SVG}path").get("d")))
            labels.extend((route, text_rect(text)) for text in group.iter(f"{SVG}text"))
    return root, boxes, labels, pieces, texts


def picture_in(language: str, **options) -> str:
    with force_locale(language):
        return str(workflow_svg(load_default_workflow(), id_prefix="wf", **options))


@pytest.mark.parametrize("language", ["en", "ru", "kk"])
def test_no_label_overlaps_a_box_another_label_or_a_line_and_names_stay_in_their_boxes(app, language):
    svg = picture_in(language, highlight={"periodic-review"})
    root, boxes, labels, pieces, texts = read_picture(svg)
    size = (float(root.get("width")), float(root.get("height")))
    assert len(boxes) == 12 and len(labels) == 20
    assert problems(boxes, labels, pieces, size) == []
    for key, text in texts:
        left, top, right, bottom = text_rect(text)
        x0, y0, x1, y1 = boxes[key]
        assert x0 < left and right < x1 and y0 < top and bottom < y1, (key, "".join(text.itertext()))
    assert "…" not in svg


def test_every_russian_and_kazakh_name_and_label_is_written_whole(app):
    definition = load_default_workflow()
    for language in ("ru", "kk"):
        root, *_ = read_picture(picture_in(language))
        written = {" ".join(span_.text for span_ in text.iter(f"{SVG}tspan")) for text in root.iter(f"{SVG}text")}
        for stage in definition.stages:
            assert stage.name_in(language) in written
        for transition in definition.transitions:
            assert transition.label_in(language) in written


def test_a_heat_map_writes_its_captions_inside_the_boxes_without_overlap(app):
    heat = {stage.key: Heat(index % 5, index % 3 == 0, f"медиана {index} дн. · просрочено сейчас: {index}")
            for index, stage in enumerate(load_default_workflow().stages)}
    root, boxes, labels, pieces, texts = read_picture(picture_in("ru", heat=heat))
    assert problems(boxes, labels, pieces, (float(root.get("width")), float(root.get("height")))) == []
    captions = [(key, text) for key, text in texts if text.get("class") == "heat-caption"]
    assert len(captions) == 12
    for key, text in captions:
        left, top, right, bottom = text_rect(text)
        assert boxes[key][0] < left and right < boxes[key][2] and bottom < boxes[key][3]


def test_the_picture_has_a_title_and_a_description_for_screen_readers(app):
    root, *_ = read_picture(picture_in("en", highlight={"closed"}))
    assert root.get("role") == "img" and root.get("aria-labelledby") == "wf-title wf-desc"
    assert root.find(f"{SVG}title").text == "Returned child — rehabilitation and reintegration"
    description = root.find(f"{SVG}desc").text
    assert "Stages: 12, routes: 20" in description
    assert "Registration and guardian identification" in description and "Marked: Case closed." in description
