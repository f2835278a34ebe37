"""The definition format: parsing JSON and YAML, shape problems, dataclasses, the default workflow."""

import json
import time

import pytest
import yaml

from workflows import (
    AGENCY_TYPES,
    RISK_LEVELS,
    Definition,
    Mode,
    OnTimeout,
    Severity,
    load_definition,
    load_document,
    parse_document,
    validate,
)
from workflows.library import (
    DEFAULT_WORKFLOW_KEY,
    default_workflow_path,
    load_default_workflow,
    load_default_workflow_text,
)
from workflows.parsing import MAX_DOCUMENT_CHARS

EXAMPLE = """
key: returned-child
name: Returned child — rehabilitation and reintegration
description: optional text
calendar: KZ
stages:
  - key: registration
    name: Registration and guardian identification
    agency_type: social
    start: true
    respond_within: PT24H
    complete_within: {high: P3D, medium: P7D, low: P14D}
    review_every: P14D
    reminders: [PT4H]
    on_timeout: escalate
  - key: health-screening
    name: Health screening
    agency_type: health
    respond_within: 3 working days
    on_timeout: cancel
    clinic_form: F-112
  - key: closed
    name: Case closed
    agency_type: social
    terminal: true
    respond_within: P1D
transitions:
  - from: registration
    to: health-screening
    label: Refer for health screening
    mode: parallel
    requires: [consent]
  - from: health-screening
    to: closed
    label: Close
"""


def load(text=EXAMPLE):
    definition, problems = load_document(text)
    assert problems == []
    return definition


class TestParsing:
    def test_yaml_and_json_give_the_same_document(self):
        data, problems = parse_document(EXAMPLE)
        assert problems == []
        assert parse_document(json.dumps(data)) == (data, [])
        assert parse_document(json.dumps(data), "json") == (data, [])
        assert parse_document(EXAMPLE, "yaml") == (data, [])

    def test_a_yaml_syntax_error_names_the_line(self):
        _, [problem] = parse_document("key: a\nstages: [\n  - key: b\n")
        assert problem.code == "schema"
        assert problem.params["line"] == 3
        assert problem.message.startswith("The document is not valid YAML: line 3, column")

    def test_a_json_syntax_error_names_the_line_and_column(self):
        data, [problem] = parse_document('{\n  "key": "a",\n  "name": }')
        assert data is None
        assert problem.message == "The document is not valid JSON: line 3, column 11: Expecting value"

    def test_text_that_looks_like_json_is_read_as_json(self):
        data, [problem] = parse_document('{"key": }')
        assert data is None
        assert "JSON" in problem.message

    def test_a_key_given_twice_is_refused_not_silently_dropped(self):
        _, [problem] = parse_document("key: a\nname: A\nkey: b\n")
        assert problem.message == "The document is not valid YAML: line 3: the field key appears twice in one mapping."
        _, [problem] = parse_document('{"key": "a",\n "stages": [{"key": "s", "name": "S",\n "name": "T"}]}')
        assert problem.message == "The document is not valid JSON: line 3: the field name appears twice in one mapping."

    @pytest.mark.parametrize(
        "text, line",
        [
            ("base: &deadline {high: P1D}\nother:\n  <<: *deadline\n  low: P5D\n", 1),
            ("key: a\nname: &n A\n", 2),
            ("key: a\nstages:\n  - &s {key: s}\n", 3),
        ],
    )
    def test_yaml_anchors_and_aliases_are_refused_not_expanded(self, text, line):
        data, [problem] = parse_document(text)
        assert data is None
        assert problem.code == "schema"
        assert problem.params == {"line": line}
        assert "anchor or alias" in problem.message

    def test_a_billion_laughs_is_refused_at_once(self, billion_laughs):
        started = time.perf_counter()
        data, [problem] = parse_document(billion_laughs)
        assert data is None and problem.code == "schema"
        assert time.perf_counter() - started < 1

    def test_a_document_beyond_the_size_bound_is_refused_unparsed(self):
        text = "key: a\n" + "# padding\n" * (MAX_DOCUMENT_CHARS // 10)
        data, [problem] = parse_document(text)
        assert data is None
        assert problem.code == "schema"
        assert problem.params == {"size": len(text), "limit": MAX_DOCUMENT_CHARS}

    def test_json_nested_too_deep_is_a_problem_not_a_crash(self):
        data, [problem] = parse_document("[" * 100_000 + "]" * 100_000)
        assert data is None and problem.code == "schema"

    @pytest.mark.parametrize("text", ["", "   \n", "# only a comment\n", "~"])
    def test_an_empty_document(self, text):
        assert parse_document(text)[1][0].message == "The document is empty."

    @pytest.mark.parametrize("text", ["- a\n- b\n", "42", "just words", "[1, 2]"])
    def test_a_document_that_is_not_a_mapping(self, text):
        data, [problem] = parse_document(text)
        assert data is None
        assert problem.message.startswith("A workflow definition must be a mapping")

    def test_an_unknown_format(self):
        assert parse_document("key: a", "xml")[1][0].message == "Unknown document format xml; use json or yaml."

    def test_yaml_that_would_build_python_objects_is_refused(self):
        _, [problem] = parse_document("key: !!python/object/apply:os.system ['true']\n")
        assert problem.code == "schema"

    def test_bytes_are_decoded(self):
        data, problems = parse_document(EXAMPLE.encode())
        assert problems == []
        assert data["key"] == "returned-child"


class TestLoading:
    def test_loads_into_frozen_dataclasses(self):
        definition = load()
        assert isinstance(definition, Definition)
        assert (definition.key, definition.calendar, definition.description) == (
            "returned-child",
            "KZ",
            "optional text",
        )
        registration = definition.stage("registration")
        assert registration.is_start and not registration.is_terminal
        assert registration.respond_within.for_risk("low").text == "PT24H"
        assert registration.complete_within.for_risk("medium").text == "P7D"
        assert registration.review_every.text == "P14D"
        assert [reminder.text for reminder in registration.reminders] == ["PT4H"]
        assert registration.on_timeout is OnTimeout.escalate
        assert definition.stage("health-screening").on_timeout is OnTimeout.cancel
        with pytest.raises(AttributeError):
            registration.key = "other"

    def test_transitions(self):
        definition = load()
        [referral] = definition.outgoing("registration")
        assert (referral.from_stage, referral.to_stage, referral.mode) == (
            "registration",
            "health-screening",
            Mode.parallel,
        )
        assert referral.requires == ("consent",)
        assert referral.label == "Refer for health screening"
        assert definition.outgoing("health-screening")[0].mode is Mode.handover
        assert definition.outgoing("closed") == ()
        assert definition.transition("registration", "health-screening") is referral
        assert definition.transition("registration", "closed") is None

    def test_helpers(self):
        definition = load()
        assert definition.start_stage.key == "registration"
        assert definition.terminal_keys == {"closed"}
        assert definition.stage_keys == ("registration", "health-screening", "closed")
        assert definition.has_stage("closed") and not definition.has_stage("ghost")
        with pytest.raises(KeyError, match="ghost"):
            definition.stage("ghost")

    def test_unknown_fields_are_kept_in_extra(self):
        data, _ = parse_document(EXAMPLE)
        data["owner"] = "ministry"
        data["transitions"][0]["note"] = "by phone"
        definition, problems = load_definition(data)
        assert problems == []
        assert definition.extra == {"owner": "ministry"}
        assert definition.stage("health-screening").extra == {"clinic_form": "F-112"}
        assert definition.transitions[0].extra == {"note": "by phone"}

    def test_to_document_round_trips_and_keeps_unknown_fields(self):
        definition = load()
        document = definition.to_document()
        assert load_definition(document) == (definition, [])
        assert document["stages"][1]["clinic_form"] == "F-112"
        assert document["stages"][0]["complete_within"] == {"high": "P3D", "medium": "P7D", "low": "P14D"}
        assert json.loads(json.dumps(document)) == document
        assert load_document(yaml.safe_dump(document, allow_unicode=True))[0] == definition

    def test_optional_fields_may_be_null_or_absent(self):
        text = EXAMPLE.replace("description: optional text", "description:").replace("reminders: [PT4H]", "reminders:")
        definition = load(text)
        assert definition.description is None
        assert definition.stage("registration").reminders == ()

    def test_a_document_without_transitions_loads(self):
        definition, problems = load_definition(
            {"key": "one", "name": "One", "stages": [{"key": "a", "name": "A", "agency_type": "social"}]}
        )
        assert problems == []
        assert definition.transitions == ()


def shape_messages(data):
    definition, problems = load_definition(data)
    assert definition is None
    assert {problem.code for problem in problems} == {"schema"}
    assert all(problem.severity is Severity.error for problem in problems)
    return [problem.message for problem in problems]


class TestShapeProblems:
    def test_paths_name_the_list_index_and_field(self):
        data, _ = parse_document(EXAMPLE)
        data["stages"][2]["respond_within"] = ["P1D"]
        data["stages"][0]["complete_within"] = {"high": "P1D", "urgent": "PT1H", "low": 5}
        data["transitions"][0]["requires"] = ["consent", "approval"]
        assert shape_messages(data) == [
            'stages[0].complete_within.low must be a duration such as PT24H, P3D or "5 working days".',
            "stages[0].complete_within.urgent is not a risk level; use high, medium or low.",
            'stages[2].respond_within must be a duration such as PT24H, P3D or "5 working days", '
            "or a map of high, medium and low to durations.",
            "transitions[0].requires[1] is not a known guard; the only guard is consent.",
        ]

    def test_keys_must_be_slugs(self):
        data, _ = parse_document(EXAMPLE)
        data["key"] = "Returned Child"
        data["stages"][1]["key"] = "health screening"
        data["stages"][2]["key"] = "x" * 65
        assert shape_messages(data) == [
            "key must be 1 to 64 lowercase letters, digits and hyphens.",
            "stages[1].key must be 1 to 64 lowercase letters, digits and hyphens.",
            "stages[2].key must be 1 to 64 lowercase letters, digits and hyphens.",
        ]

    def test_a_key_with_a_trailing_newline_is_no_slug(self):
        data, _ = parse_document(EXAMPLE)
        data["key"] = "returned-child\n"
        assert shape_messages(data) == ["key must be 1 to 64 lowercase letters, digits and hyphens."]

    def test_required_fields(self):
        assert shape_messages({"stages": [{}], "transitions": [{}]}) == [
            "key is required.",
            "name is required.",
            "stages[0].key is required.",
            "stages[0].name is required.",
            "stages[0].agency_type is required.",
            "transitions[0].from is required.",
            "transitions[0].to is required.",
        ]

    def test_types(self):
        assert shape_messages(
            {
                "key": "k",
                "name": "  ",
                "calendar": "Kazakhstan",
                "stages": {"key": "a"},
                "transitions": [None, "a -> b", {"from": "a", "to": "b", "mode": None, "return": "yes"}],
            }
        ) == [
            "name must not be blank.",
            "calendar must be a country code whose public holidays are known, such as KZ.",
            "stages must be a list.",
            "transitions[0] must be a mapping of fields.",
            "transitions[1] must be a mapping of fields.",
            "transitions[2].mode must have a value.",
            "transitions[2].return must be true or false.",
        ]

    def test_stage_fields(self):
        stage = {
            "key": "a",
            "name": "A",
            "agency_type": 3,
            "start": 1.5,
            "terminal": "no",
            "review_every": {"high": "P1D"},
            "reminders": ["PT1H", 4],
            "on_timeout": "ignore",
            "complete_within": {},
        }
        assert shape_messages({"key": "k", "name": "K", "stages": [stage]}) == [
            "stages[0].agency_type must be text.",
            "stages[0].start must be true or false.",
            "stages[0].terminal must be true or false.",
            "stages[0].complete_within must name at least one of high, medium and low.",
            'stages[0].review_every must be a duration such as PT24H, P3D or "5 working days".',
            'stages[0].reminders[1] must be a duration such as PT24H, P3D or "5 working days".',
            "stages[0].on_timeout must be escalate or cancel.",
        ]

    def test_templates_carry_the_path_for_translation(self):
        _, [problem] = load_definition({"name": "K", "stages": []})
        assert problem.template == "%(path)s is required."
        assert problem.params == {"path": "key"}
        assert problem.as_dict()["message"] == "key is required."

    @pytest.mark.parametrize(
        "data",
        [
            None,
            [],
            [{"key": "a"}],
            0,
            3.5,
            "returned-child",
            b"bytes",
            True,
            {"key": None, "name": None, "stages": None},
            {"key": ["a"], "name": {"n": 1}, "stages": [[], [[]], {"key": {"deep": [1, {"x": None}]}}]},
            {"stages": [{"respond_within": {None: "P1D", 3: None}}]},
            {
                "key": "k",
                "name": "n",
                "stages": [{"key": "a", "name": "A", "agency_type": "social", "reminders": {"a": 1}}],
            },
            {"key": "k", "name": "n", "stages": (), "transitions": "none"},
            {1: 2, (1, 2): [3], None: None},
        ],
    )
    def test_garbage_never_raises(self, data):
        definition, problems = load_definition(data)
        assert definition is None
        assert problems
        assert {problem.code for problem in problems} == {"schema"}
        assert validate(data) == problems


class TestDefaultWorkflow:
    def test_is_bundled(self):
        assert default_workflow_path().name == "returned-child.yaml"
        assert default_workflow_path().is_file()
        assert load_default_workflow_text().startswith("#")

    def test_validates_with_no_errors_and_no_warnings(self):
        definition = load_default_workflow()
        assert definition.key == DEFAULT_WORKFLOW_KEY
        assert validate(definition) == []
        assert validate(definition, directory=AGENCY_TYPES) == []
        assert validate(parse_document(load_default_workflow_text())[0]) == []

    def test_warns_only_about_missing_agencies_when_the_directory_lacks_them(self):
        problems = validate(load_default_workflow(), directory=["social"])
        assert {problem.code for problem in problems} == {"no_agency_for_stage"}
        assert {stage for problem in problems for stage in problem.stages} == {
            "health-screening",
            "legal-status-review",
            "school-enrolment",
            "psychosocial-follow-up",
        }

    def test_covers_the_route_of_the_issue(self):
        definition = load_default_workflow()
        assert definition.calendar == "KZ"
        assert definition.description
        types = {stage.key: stage.agency_type for stage in definition.stages}
        assert types["registration"] == "social" and definition.start_stage.key == "registration"
        assert types["health-screening"] == "health"
        assert types["legal-status-review"] == "justice"
        assert types["school-enrolment"] == "education"
        assert types["psychosocial-follow-up"] == "civil_society"
        assert definition.terminal_keys == {"closed"}
        assert set(types.values()) == set(AGENCY_TYPES)
        assert all(stage.name and stage.description for stage in definition.stages)
        assert all(transition.label for transition in definition.transitions)

    def test_agencies_work_side_by_side(self):
        definition = load_default_workflow()
        parallel = {transition.to_stage for transition in definition.transitions if transition.mode is Mode.parallel}
        assert {"health-screening", "legal-status-review", "school-enrolment", "psychosocial-follow-up"} <= parallel

    def test_sharing_with_health_education_or_an_ngo_needs_consent(self):
        definition = load_default_workflow()
        for transition in definition.transitions:
            receiver = definition.stage(transition.to_stage).agency_type
            if receiver in ("health", "education", "civil_society"):
                assert transition.requires == ("consent",), transition

    def test_returns_for_more_information(self):
        definition = load_default_workflow()
        back = definition.transition("rehabilitation-plan", "initial-assessment")
        assert back.is_return
        assert back.label == "Return for more information"

    def test_deadlines_tighten_with_risk(self):
        definition = load_default_workflow()
        for stage in definition.stages:
            for spec in (stage.respond_within, stage.complete_within):
                if spec is not None:
                    lengths = [spec.for_risk(level).nominal for level in RISK_LEVELS]
                    assert lengths == sorted(lengths), stage.key
        assert definition.stage("health-screening").respond_within.for_risk("high").text == "PT24H"
        assert any(stage.review_every for stage in definition.stages)
        assert any(stage.reminders for stage in definition.stages)
        assert any(duration.is_working_days for stage in definition.stages for _, duration in stage.deadlines())
