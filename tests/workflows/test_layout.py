"""The picture's layout (no app): nothing overlaps, names and labels wrap whole, on the bundled workflow and
on random graphs with cycles, returns, self-loops and long text in three alphabets."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.workflows.picture_geometry import problems, span
from workflows import Layout, layout
from workflows.layout import LABEL_WIDTH, NODE_PADDING_X, text_width, wrap
from workflows.library import load_default_workflow


def geometry(drawing: Layout) -> list[str]:
    """Return the overlaps of a layout, and every text that does not fit its room."""
    boxes = {node.key: (node.x, node.y, node.x + node.width, node.y + node.height) for node in drawing.nodes}
    labels, pieces = [], []
    for edge in drawing.edges:
        route = (edge.from_stage, edge.to_stage)
        if edge.label_box is not None:
            box = edge.label_box
            labels.append((route, (box.x, box.y, box.x + box.width, box.y + box.height)))
        if edge.is_self_loop:
            pieces.append((route, span(edge.points)))  # one curve inside its control points
        else:
            pieces.extend((route, span(pair)) for pair in zip(edge.points, edge.points[1:], strict=False))
    found = problems(boxes, labels, pieces, (drawing.width, drawing.height))
    for node in drawing.nodes:
        for text in (node.name, node.note):
            inside = (node.x + NODE_PADDING_X - 0.01, node.y, node.x + node.width - NODE_PADDING_X + 0.01,
                      node.y + node.height)
            if not (inside[0] <= text.x and text.x + text.width <= inside[2]
                    and inside[1] <= text.y and text.y + text.height <= inside[3]):
                found.append(f"text of {node.key} outside its box")
    return found


def words_of(lines: tuple[str, ...]) -> str:
    return "".join(lines).replace(" ", "")


@pytest.mark.parametrize("language", [None, "ru", "kk"])
def test_the_bundled_workflow_has_no_overlap_and_every_name_and_label_whole(language):
    definition = load_default_workflow()
    drawing = layout(definition, language)
    assert geometry(drawing) == []
    assert len(drawing.nodes) == len(definition.stages)
    assert len(drawing.edges) == len(definition.transitions)
    for node in drawing.nodes:
        name = definition.stage(node.key).name_in(language)
        assert words_of(node.name.lines) == name.replace(" ", "")  # wrapped, never cut
        assert not any("…" in line for line in node.name.lines)
    for edge in drawing.edges:
        label = definition.transition(edge.from_stage, edge.to_stage).label_in(language)
        assert words_of(edge.label_box.lines) == label.replace(" ", "")
        assert all(text_width(line, edge.label_box.size) <= LABEL_WIDTH for line in edge.label_box.lines)


def test_the_returned_child_route_reads_top_down_with_its_returns_pointing_back_up():
    drawing = layout(load_default_workflow())
    layer = {node.key: node.layer for node in drawing.nodes}
    assert layer["registration"] == 0 and layer["closed"] == max(layer.values())
    assert layer["rehabilitation-plan"] < layer["residential-adaptation"] < layer["home-district-handover"]
    backs = {(edge.from_stage, edge.to_stage) for edge in drawing.edges if edge.is_back_edge}
    assert backs == {("rehabilitation-plan", "initial-assessment"), ("periodic-review", "rehabilitation-plan")}
    for edge in drawing.edges:
        start, end = edge.points[0], edge.points[-1]
        source, target = drawing.node(edge.from_stage), drawing.node(edge.to_stage)
        # A route leaves its stage and reaches the other on the box's bottom or top side.
        assert source.x <= start[0] <= source.x + source.width and start[1] in (source.y, source.y + source.height)
        assert target.x <= end[0] <= target.x + target.width and end[1] in (target.y, target.y + target.height)
        assert (end[1] > start[1]) != edge.is_back_edge


def test_the_layout_is_deterministic():
    definition = load_default_workflow()
    assert layout(definition, "ru") == layout(definition, "ru")


def test_wrapping_keeps_every_character_and_breaks_a_word_only_when_it_must():
    assert wrap("Psychosocial follow-up", 400, 12) == ("Psychosocial follow-up",)
    assert wrap("a-very-long-stage-key-that-never-ends", 80, 9.5, mono=True) == (
        "a-very-long-", "stage-key-", "that-never-", "ends")
    long = "Ж" * 40
    lines = wrap(long, 60, 12)
    assert "".join(lines) == long and len(lines) > 1
    assert all(text_width(line, 12) <= 60 for line in lines)


WORDS = st.sampled_from(["Registration", "and", "guardian", "identification", "Регистрация", "установление",
                         "законного", "представителя", "Психоәлеуметтік", "сүйемелдеу", "Құжаттар", "—", "of",
                         "a", "Reintegration-and-resettlement-assessment", "WWWWWWWWWWWWWWWWWWWWWW", "i"])
TEXT = st.lists(WORDS, min_size=1, max_size=14).map(" ".join)


@st.composite
def graphs(draw):
    count = draw(st.integers(min_value=1, max_value=11))
    keys = [f"s{index}" + draw(st.sampled_from(["", "-with-a-rather-long-key"])) for index in range(count)]
    stages = [{"key": key, "name": draw(TEXT), "agency_type": draw(st.sampled_from(["social", "health", "x"]))}
              for key in keys]
    stages[draw(st.integers(0, count - 1))]["start"] = True
    transitions = []
    for _ in range(draw(st.integers(0, 22))):
        transition = {"from": draw(st.sampled_from(keys)), "to": draw(st.sampled_from(keys))}
        if draw(st.booleans()):
            transition["label"] = draw(TEXT)
        if draw(st.integers(0, 4)) == 0:
            transition["return"] = True
        if draw(st.booleans()):
            transition["mode"] = "parallel"
        transitions.append(transition)
    return {"key": "random", "name": "Random", "stages": stages, "transitions": transitions}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graphs())
def test_random_graphs_have_no_overlap(document):
    drawing = layout(document)
    assert geometry(drawing) == []
    assert {node.key for node in drawing.nodes} == {stage["key"] for stage in document["stages"]}
    assert layout(document) == drawing
    for edge in drawing.edges:
        if not edge.is_self_loop:
            ends = [drawing.node(edge.from_stage), drawing.node(edge.to_stage)]
            assert (ends[0].layer < ends[1].layer) != edge.is_back_edge
