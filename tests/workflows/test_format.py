"""The one description of the format: the fast path and the schema derived from it load the same Definition."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workflows import AGENCY_TYPES, load_definition, parse_document
from workflows.format import DEFINITION, DefinitionSchema, NotPlain
from workflows.library import load_default_workflow_text

EVERY_FIELD = """
key: every-field
name: Every field
name_ru: Каждое поле
description: every field the format knows, and one it does not
calendar: KZ
owner: ministry
stages:
  - key: first
    name: First
    name_kk: Бірінші
    agency_type: social
    start: true
    respond_within: PT24H
    complete_within: {high: P3D, medium: 5 working days}
    review_every: P14D
    reminders: [PT4H]
    on_timeout: cancel
    clinic_form: F-112
  - key: last
    name: Last
    agency_type: health
    terminal: true
transitions:
  - from: first
    to: last
    label: Onward
    label_ru: Дальше
    mode: parallel
    requires: [consent]
    return: false
    note: by phone
"""

DURATIONS = st.sampled_from(["PT24H", "P3D", "5 working days", "soon", "P0D"])
TEXTS = st.text(min_size=1, max_size=8).filter(str.strip)
OPTIONAL_TEXTS = st.one_of(st.none(), st.text(max_size=8))


@st.composite
def stages(draw, index):
    stage = {"key": f"s{index}", "name": draw(TEXTS), "agency_type": draw(st.sampled_from(AGENCY_TYPES))}
    optional = {
        "name_ru": OPTIONAL_TEXTS,
        "description": OPTIONAL_TEXTS,
        "start": st.booleans(),
        "terminal": st.booleans(),
        "respond_within": st.one_of(st.none(), DURATIONS),
        "complete_within": st.dictionaries(st.sampled_from(["high", "medium", "low"]), DURATIONS, min_size=1),
        "review_every": st.one_of(st.none(), DURATIONS),
        "reminders": st.one_of(st.none(), st.lists(DURATIONS, max_size=2)),
        "on_timeout": st.sampled_from(["escalate", "cancel"]),
        "clinic_form": st.text(max_size=4),
    }
    for name, values in optional.items():
        if draw(st.booleans()):
            stage[name] = draw(values)
    return stage


@st.composite
def documents(draw):
    count = draw(st.integers(min_value=1, max_value=5))
    document = {
        "key": "random",
        "name": draw(TEXTS),
        "stages": [draw(stages(index)) for index in range(count)],
    }
    transitions = []
    for _ in range(draw(st.integers(min_value=0, max_value=5))):
        transition = {"from": f"s{draw(st.integers(0, count - 1))}", "to": f"s{draw(st.integers(0, count))}"}
        optional = {
            "label": OPTIONAL_TEXTS,
            "label_kk": OPTIONAL_TEXTS,
            "mode": st.sampled_from(["handover", "parallel"]),
            "requires": st.one_of(st.none(), st.lists(st.just("consent"), max_size=1)),
            "return": st.booleans(),
            "note": st.text(max_size=4),
        }
        for name, values in optional.items():
            if draw(st.booleans()):
                transition[name] = draw(values)
        transitions.append(transition)
    if transitions or draw(st.booleans()):
        document["transitions"] = transitions
    optional = {
        "description": OPTIONAL_TEXTS,
        "calendar": st.sampled_from(["KZ", None]),
        "name_kk": OPTIONAL_TEXTS,
        "owner": st.text(max_size=4),
    }
    for name, values in optional.items():
        if draw(st.booleans()):
            document[name] = draw(values)
    return document


@pytest.mark.parametrize("text", [EVERY_FIELD, load_default_workflow_text()])
def test_the_fast_path_builds_what_the_schema_builds(text):
    data, _ = parse_document(text)
    assert DEFINITION.read(data) == DefinitionSchema().load(data)


@settings(max_examples=200, deadline=None)
@given(documents())
def test_both_loaders_agree_on_any_valid_document(document):
    assert DEFINITION.read(document) == DefinitionSchema().load(document)


def test_a_document_the_fast_path_declines_still_loads():
    data, _ = parse_document(EVERY_FIELD)
    written_otherwise = {**data, "stages": tuple(data["stages"]), "transitions": tuple(data["transitions"])}
    with pytest.raises(NotPlain):
        DEFINITION.read(written_otherwise)
    assert load_definition(written_otherwise) == load_definition(data)


@pytest.mark.parametrize(
    "stage_fields",
    [
        {"reminders": [["PT4H"]]},
        {"complete_within": {"high": ["P3D"]}},
        {"complete_within": {"urgent": "P3D"}},
        {"complete_within": {"high": "P3D", "urgent": "P1D"}},
        {"complete_within": {"high": None, "low": "P3D"}},
        {"complete_within": {}},
        {"respond_within": 3},
        {"start": None},
        {"name_ru": 5},
    ],
)
def test_the_fast_path_declines_what_is_not_plain_and_the_schema_says_why(stage_fields):
    stage = {"key": "only", "name": "Only", "agency_type": "social", "start": True, "terminal": True, **stage_fields}
    document = {"key": "odd", "name": "Odd", "stages": [stage]}
    with pytest.raises(NotPlain):
        DEFINITION.read(document)
    definition, problems = load_definition(document)
    assert definition is None
    assert problems and {problem.code for problem in problems} == {"schema"}
    assert all(problem.message.startswith("stages[0].") for problem in problems)


def test_what_the_fast_path_builds_is_frozen_equal_and_hashable_like_what_the_schema_builds():
    data, _ = parse_document(EVERY_FIELD)
    fast, schema = DEFINITION.read(data), DefinitionSchema().load(data)
    for built, loaded in [*zip(fast.stages, schema.stages, strict=True),
                          *zip(fast.transitions, schema.transitions, strict=True)]:
        assert type(built) is type(loaded)
        assert built == loaded
        assert hash(built) == hash(loaded)
        assert repr(built) == repr(loaded)
    with pytest.raises(AttributeError):
        fast.stages[0].key = "other"  # type: ignore[misc]
