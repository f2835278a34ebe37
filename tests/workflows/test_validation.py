"""validate(): every problem code of DESIGN.md section 5, each with a near miss that must not raise it."""

import pytest

from workflows import AGENCY_TYPES, CODES, Severity, is_valid, load_definition, validate
from workflows.library import load_default_workflow


def stage(key, **fields):
    return {
        "key": key,
        "name": key.replace("-", " ").title(),
        "agency_type": "social",
        "respond_within": "P1D",
        **fields,
    }


def edge(source, target, **fields):
    return {"from": source, "to": target, **fields}


def document(stages, transitions, **fields):
    return {"key": "test", "name": "Test", "stages": stages, "transitions": transitions, **fields}


def chain(*keys, **fields):
    """A path from the first stage (start) to the last (terminal)."""
    stages = [stage(key) for key in keys]
    stages[0]["start"] = True
    stages[-1]["terminal"] = True
    transitions = [edge(source, target) for source, target in zip(keys, keys[1:], strict=False)]
    return document(stages, transitions, **fields)


def codes(problems):
    return [problem.code for problem in problems]


def problems_of(data, code, directory=None):
    return [problem for problem in validate(data, directory) if problem.code == code]


def test_a_simple_path_is_valid_without_warnings():
    assert validate(chain("intake", "assessment", "closed")) == []


def test_a_definition_object_validates_like_its_document():
    data = chain("intake", "assessment", "closed")
    definition, _ = load_definition(data)
    data["stages"][1]["agency_type"] = "police"
    definition_broken, _ = load_definition(data)
    assert validate(definition) == []
    assert codes(validate(definition_broken)) == codes(validate(data)) == ["unknown_agency_type"]


def test_every_problem_carries_its_severity_and_json_shape():
    data = chain("intake", "closed")
    data["transitions"].append(edge("closed", "intake", **{"return": True}))
    [problem] = validate(data)
    assert problem.severity is Severity.error
    assert problem.as_dict() == {
        "code": "terminal_has_exit",
        "severity": "error",
        "message": problem.message,
        "stages": ["closed", "intake"],
        "transition": {"from": "closed", "to": "intake"},
    }
    assert problem.message == problem.template % problem.params


class TestSchema:
    def test_a_missing_field_is_a_schema_problem_naming_its_path(self):
        data = chain("intake", "closed")
        del data["stages"][1]["name"]
        [problem] = validate(data)
        assert problem.code == "schema"
        assert problem.message == "stages[1].name is required."
        assert problem.template == "%(path)s is required."
        assert problem.params == {"path": "stages[1].name"}

    def test_all_shape_problems_come_at_once(self):
        data = chain("a", "b", "c", "d")
        data["name"] = 7
        data["stages"][3]["respond_within"] = 24
        data["stages"][1]["start"] = "yes"
        data["transitions"][0]["mode"] = "sideways"
        messages = [problem.message for problem in validate(data)]
        assert messages == [
            "name must be text.",
            "stages[1].start must be true or false.",
            'stages[3].respond_within must be a duration such as PT24H, P3D or "5 working days", '
            "or a map of high, medium and low to durations.",
            "transitions[0].mode must be handover or parallel.",
        ]

    def test_unknown_fields_are_kept_and_ignored(self):
        data = chain("intake", "closed", owner="ministry")
        data["stages"][0]["colour"] = "blue"
        data["transitions"][0]["weight"] = 3
        assert validate(data) == []
        definition, _ = load_definition(data)
        assert definition.extra == {"owner": "ministry"}


class TestStructure:
    def test_duplicate_stage(self):
        data = chain("intake", "assessment", "closed")
        data["stages"].insert(2, stage("assessment"))
        [problem] = problems_of(data, "duplicate_stage")
        assert problem.stages == ("assessment",)
        assert problem.params["count"] == 2

    def test_duplicate_stage_near_miss(self):
        data = chain("intake", "assessment", "closed")
        data["stages"].insert(2, stage("assessment-2"))
        data["transitions"].append(edge("intake", "assessment-2"))
        data["transitions"].append(edge("assessment-2", "closed"))
        assert validate(data) == []

    def test_unknown_stage_names_only_existing_stages(self):
        data = chain("intake", "closed")
        data["transitions"].append(edge("intake", "ghost"))
        [problem] = validate(data)
        assert problem.code == "unknown_stage"
        assert problem.stages == ("intake",)
        assert problem.transition == {"from": "intake", "to": "ghost"}
        assert "ghost" in problem.message

    def test_unknown_stage_at_both_ends(self):
        data = chain("intake", "closed")
        data["transitions"].append(edge("nowhere", "ghost"))
        problems = problems_of(data, "unknown_stage")
        assert [problem.params["stage"] for problem in problems] == ["nowhere", "ghost"]
        assert all(problem.stages == () for problem in problems)

    def test_unknown_stage_near_miss(self):
        data = chain("intake", "middle", "closed")
        data["transitions"].append(edge("intake", "closed"))
        assert validate(data) == []

    def test_no_start(self):
        data = chain("intake", "closed")
        del data["stages"][0]["start"]
        assert codes(validate(data)) == ["no_start"]

    def test_multiple_starts(self):
        data = chain("intake", "other", "closed")
        data["stages"][1]["start"] = True
        [problem] = problems_of(data, "multiple_starts")
        assert problem.stages == ("intake", "other")

    def test_one_start_is_a_near_miss_of_both(self):
        problems = validate(chain("intake", "other", "closed"))
        assert not {"no_start", "multiple_starts"} & set(codes(problems))

    def test_no_terminal(self):
        data = chain("intake", "closed")
        del data["stages"][1]["terminal"]
        assert "no_terminal" in codes(validate(data))

    def test_no_terminal_near_miss(self):
        assert "no_terminal" not in codes(validate(chain("intake", "closed")))

    def test_no_terminal_does_not_also_report_every_stage_as_without_a_path(self):
        data = chain("a", "b", "c")
        del data["stages"][2]["terminal"]
        assert codes(validate(data)) == ["no_terminal", "dead_end"]

    def test_unreachable_stage(self):
        data = chain("intake", "closed")
        data["stages"].append(stage("island"))
        data["transitions"].append(edge("island", "closed"))
        [problem] = validate(data)
        assert (problem.code, problem.stages) == ("unreachable_stage", ("island",))

    def test_unreachable_stage_near_miss_reached_by_a_parallel_branch(self):
        data = chain("intake", "closed")
        data["stages"].append(stage("island"))
        data["transitions"] += [edge("intake", "island", mode="parallel"), edge("island", "closed")]
        assert validate(data) == []

    def test_dead_end(self):
        data = chain("intake", "closed")
        data["stages"].append(stage("limbo"))
        data["transitions"].append(edge("intake", "limbo"))
        assert [(problem.code, problem.stages) for problem in validate(data)] == [("dead_end", ("limbo",))]

    def test_dead_end_near_miss_when_terminal(self):
        data = chain("intake", "closed")
        data["stages"].append(stage("withdrawn", terminal=True))
        data["transitions"].append(edge("intake", "withdrawn"))
        assert validate(data) == []

    def test_a_self_loop_is_no_way_out(self):
        data = chain("intake", "closed")
        data["stages"].append(stage("limbo"))
        data["transitions"] += [edge("intake", "limbo"), edge("limbo", "limbo")]
        assert codes(validate(data)) == ["dead_end", "self_loop"]

    def test_trap_cycle_is_reported_once_with_all_its_stages(self):
        data = chain("intake", "closed")
        data["stages"] += [stage("b"), stage("c"), stage("d")]
        data["transitions"] += [edge("intake", "b"), edge("b", "c"), edge("c", "d"), edge("d", "b")]
        problems = validate(data)
        assert codes(problems) == ["trap_cycle"]
        assert problems[0].stages == ("b", "c", "d")

    def test_a_stage_leading_only_into_a_trap_has_no_path_to_a_terminal(self):
        data = chain("intake", "closed")
        data["stages"] += [stage("a"), stage("b"), stage("c")]
        data["transitions"] += [edge("intake", "a"), edge("a", "b"), edge("b", "c"), edge("c", "b")]
        assert [(problem.code, problem.stages) for problem in validate(data)] == [
            ("trap_cycle", ("b", "c")),
            ("no_path_to_terminal", ("a",)),
        ]

    def test_trap_cycle_near_miss_a_loop_that_can_be_left(self):
        data = chain("intake", "closed")
        data["stages"] += [stage("b"), stage("c")]
        data["transitions"] += [edge("intake", "b"), edge("b", "c"), edge("c", "b"), edge("c", "closed")]
        assert codes(validate(data)) == ["loop"]

    def test_a_cycle_holding_a_terminal_is_no_trap(self):
        data = chain("intake", "closed")
        data["transitions"].append(edge("closed", "intake"))
        assert codes(validate(data)) == ["terminal_has_exit", "loop"]

    def test_no_path_to_terminal(self):
        data = chain("intake", "closed")
        data["stages"] += [stage("a"), stage("b")]
        data["transitions"] += [edge("intake", "a"), edge("a", "b")]
        assert [(problem.code, problem.stages) for problem in validate(data)] == [
            ("dead_end", ("b",)),
            ("no_path_to_terminal", ("a",)),
        ]

    def test_no_path_to_terminal_near_miss(self):
        data = chain("intake", "closed")
        data["stages"] += [stage("a"), stage("b", terminal=True)]
        data["transitions"] += [edge("intake", "a"), edge("a", "b")]
        assert validate(data) == []

    def test_a_loop_that_leads_nowhere_has_no_path_to_a_terminal(self):
        data = chain("intake", "closed")
        data["stages"] += [stage("a"), stage("b"), stage("c")]
        data["transitions"] += [edge("intake", "a"), edge("a", "b"), edge("b", "a"), edge("b", "c")]
        assert [(problem.code, problem.stages) for problem in validate(data)] == [
            ("dead_end", ("c",)),
            ("no_path_to_terminal", ("a",)),
            ("no_path_to_terminal", ("b",)),
            ("loop", ("a", "b")),
        ]

    def test_terminal_has_exit(self):
        data = chain("intake", "middle", "closed")
        data["transitions"].append(edge("closed", "middle", **{"return": True}))
        [problem] = validate(data)
        assert problem.code == "terminal_has_exit"
        assert problem.transition == {"from": "closed", "to": "middle"}

    def test_terminal_has_exit_near_miss(self):
        data = chain("intake", "middle", "closed")
        data["transitions"].append(edge("middle", "intake", **{"return": True}))
        assert validate(data) == []

    def test_self_loop(self):
        data = chain("intake", "closed")
        data["transitions"].append(edge("intake", "intake"))
        [problem] = validate(data)
        assert (problem.code, problem.stages, problem.transition) == (
            "self_loop",
            ("intake",),
            {"from": "intake", "to": "intake"},
        )

    def test_duplicate_transition(self):
        data = chain("intake", "closed")
        data["transitions"].append(edge("intake", "closed", label="Again"))
        [problem] = validate(data)
        assert problem.code == "duplicate_transition"
        assert problem.params["count"] == 2

    def test_duplicate_transition_near_miss_other_direction_or_target(self):
        data = chain("intake", "a", "closed")
        data["transitions"] += [edge("intake", "closed"), edge("a", "intake", **{"return": True})]
        assert validate(data) == []


class TestStages:
    def test_unknown_agency_type(self):
        data = chain("intake", "closed")
        data["stages"][1]["agency_type"] = "police"
        [problem] = validate(data)
        assert (problem.code, problem.stages, problem.params["agency_type"]) == (
            "unknown_agency_type",
            ("closed",),
            "police",
        )

    @pytest.mark.parametrize("agency_type", AGENCY_TYPES)
    def test_unknown_agency_type_near_miss(self, agency_type):
        data = chain("intake", "closed")
        data["stages"][1]["agency_type"] = agency_type
        assert validate(data) == []

    @pytest.mark.parametrize(
        ("field", "value", "path"),
        [
            ("respond_within", "3 days", "stages[1].respond_within"),
            ("respond_within", "P0D", "stages[1].respond_within"),
            ("complete_within", {"high": "P1D", "low": "0 working days"}, "stages[1].complete_within.low"),
            ("review_every", "PT0H", "stages[1].review_every"),
            ("reminders", ["PT1H", "soon"], "stages[1].reminders[1]"),
        ],
    )
    def test_invalid_duration(self, field, value, path):
        data = chain("intake", "closed")
        data["stages"][1][field] = value
        [problem] = validate(data)
        assert problem.code == "invalid_duration"
        assert problem.params["path"] == path
        assert problem.stages == ("closed",)

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("respond_within", "3 working days"),
            ("respond_within", "P1DT12H"),
            ("complete_within", {"high": "PT24H", "medium": "P1W"}),
            ("review_every", "P1M"),
            ("reminders", ["PT1H"]),
        ],
    )
    def test_invalid_duration_near_miss(self, field, value):
        data = chain("intake", "closed")
        data["stages"][1][field] = value
        assert validate(data) == []

    @pytest.mark.parametrize(
        ("fields", "deadline_path"),
        [
            ({"respond_within": "PT24H", "reminders": ["P1D"]}, "respond_within"),
            (
                {"respond_within": "P5D", "complete_within": {"high": "P2D", "low": "P9D"}, "reminders": ["P3D"]},
                "complete_within.high",
            ),
            ({"respond_within": "P5D", "review_every": "P1D", "reminders": ["PT36H"]}, "review_every"),
            ({"respond_within": "1 working day", "reminders": ["PT24H"]}, "respond_within"),
        ],
    )
    def test_reminder_not_before_deadline(self, fields, deadline_path):
        data = chain("intake", "closed")
        data["stages"][1].update(fields)
        [problem] = validate(data)
        assert problem.code == "reminder_not_before_deadline"
        assert problem.params["path"] == "stages[1].reminders[0]"
        assert problem.params["deadline_path"] == deadline_path

    def test_reminder_not_before_deadline_near_miss(self):
        data = chain("intake", "closed")
        data["stages"][1].update(
            respond_within="PT24H",
            complete_within={"high": "P2D", "low": "5 working days"},
            review_every="P14D",
            reminders=["PT23H", "PT4H"],
        )
        assert validate(data) == []

    def test_a_reminder_without_deadlines_is_no_problem(self):
        data = chain("intake", "closed")
        del data["stages"][0]["respond_within"]
        data["stages"][0]["reminders"] = ["P30D"]
        assert validate(data) == []


class TestWarnings:
    def test_loop(self):
        data = chain("intake", "plan", "closed")
        data["transitions"].append(edge("plan", "intake", label="Return for more information"))
        [problem] = validate(data)
        assert (problem.code, problem.severity, problem.stages) == ("loop", Severity.warning, ("intake", "plan"))
        assert is_valid([problem])

    def test_loop_near_miss_when_the_route_back_is_marked_as_a_return(self):
        data = chain("intake", "plan", "closed")
        data["transitions"].append(edge("plan", "intake", label="Return for more information", **{"return": True}))
        assert validate(data) == []

    def test_a_loop_with_another_unmarked_way_round_still_warns(self):
        data = chain("a", "b", "c", "closed")
        data["transitions"] += [edge("c", "a", **{"return": True}), edge("c", "b")]
        [problem] = validate(data)
        assert (problem.code, problem.stages) == ("loop", ("b", "c"))

    def test_no_response_deadline(self):
        data = chain("intake", "assessment", "closed")
        del data["stages"][1]["respond_within"]
        [problem] = validate(data)
        assert (problem.code, problem.severity, problem.stages) == (
            "no_response_deadline",
            Severity.warning,
            ("assessment",),
        )

    def test_no_response_deadline_near_miss_a_start_nothing_leads_to(self):
        data = chain("intake", "assessment", "closed")
        del data["stages"][0]["respond_within"]
        assert validate(data) == []

    def test_no_response_deadline_for_a_start_that_receives_referrals(self):
        data = chain("intake", "assessment", "closed")
        del data["stages"][0]["respond_within"]
        data["transitions"].append(edge("assessment", "intake", **{"return": True}))
        assert codes(validate(data)) == ["no_response_deadline"]

    def test_no_agency_for_stage(self):
        data = chain("intake", "screening", "closed")
        data["stages"][1]["agency_type"] = "health"
        [problem] = validate(data, directory=["social", "justice"])
        assert (problem.code, problem.severity, problem.stages) == (
            "no_agency_for_stage",
            Severity.warning,
            ("screening",),
        )

    def test_no_agency_for_stage_near_miss(self):
        data = chain("intake", "screening", "closed")
        data["stages"][1]["agency_type"] = "health"
        assert validate(data) == []
        assert validate(data, directory={"social", "health"}) == []

    def test_an_unknown_agency_type_is_not_also_without_an_agency(self):
        data = chain("intake", "closed")
        data["stages"][1]["agency_type"] = "police"
        assert codes(validate(data, directory=[])) == ["unknown_agency_type", "no_agency_for_stage"]


def test_problems_come_errors_first_in_code_order_and_deterministically():
    data = chain("intake", "assessment", "closed")
    data["stages"][1]["agency_type"] = "police"
    del data["stages"][2]["respond_within"]
    data["stages"].append(stage("island"))
    data["transitions"] += [edge("intake", "ghost"), edge("assessment", "intake")]
    problems = validate(data)
    order = list(CODES)
    assert [order.index(code) for code in codes(problems)] == sorted(order.index(code) for code in codes(problems))
    assert codes(problems) == [
        "unknown_stage",
        "unreachable_stage",
        "dead_end",
        "unknown_agency_type",
        "loop",
        "no_response_deadline",
    ]
    assert validate(data) == problems
    assert not is_valid(problems)


def test_every_error_code_is_listed_with_its_severity():
    errors = [code for code, severity in CODES.items() if severity is Severity.error]
    warnings = [code for code, severity in CODES.items() if severity is Severity.warning]
    assert warnings == ["loop", "no_response_deadline", "no_agency_for_stage", "missing_translation"]
    assert len(errors) == 16


class TestTranslations:
    """missing_translation: a workflow that names anything in a language should name everything in it."""

    @staticmethod
    def translated(*keys):
        data = chain(*keys)
        for item in data["stages"]:
            item["name_ru"], item["name_kk"] = f"{item['name']} (ru)", f"{item['name']} (kk)"
        for item in data["transitions"]:
            item["label"] = f"to {item['to']}"
            item["label_ru"], item["label_kk"] = f"{item['label']} (ru)", f"{item['label']} (kk)"
        return data

    def test_a_fully_translated_workflow_has_no_warning(self):
        assert validate(self.translated("intake", "assessment", "closed")) == []

    def test_an_untranslated_workflow_is_not_warned_about_every_stage(self):
        assert problems_of(chain("intake", "assessment", "closed"), "missing_translation") == []

    def test_a_stage_added_without_its_names_is_warned_with_the_languages_it_lacks(self):
        data = self.translated("intake", "assessment", "closed")
        del data["stages"][1]["name_kk"]
        data["stages"][2]["name_ru"] = "  "
        found = problems_of(data, "missing_translation")
        assert [(problem.stages, problem.params["languages"]) for problem in found] == [
            (("assessment",), "kk"), (("closed",), "ru")]
        assert all(problem.severity is Severity.warning and problem.transition is None for problem in found)
        assert is_valid(validate(data))

    def test_a_route_whose_label_lacks_a_language_is_warned_once_with_its_transition(self):
        data = self.translated("intake", "assessment", "closed")
        del data["transitions"][0]["label_ru"]
        del data["transitions"][0]["label_kk"]
        [problem] = problems_of(data, "missing_translation")
        assert problem.transition == {"from": "intake", "to": "assessment"}
        assert problem.params["languages"] == "ru, kk"
        assert problem.stages == ("assessment", "intake")

    def test_a_route_without_a_label_needs_no_translation(self):
        data = self.translated("intake", "assessment", "closed")
        for item in data["transitions"]:
            for name in ("label", "label_ru", "label_kk"):
                item.pop(name)
        assert problems_of(data, "missing_translation") == []

    def test_one_language_spoken_asks_only_for_that_language(self):
        data = chain("intake", "assessment", "closed")
        data["stages"][0]["name_ru"] = "Приём"
        found = problems_of(data, "missing_translation")
        assert [(problem.stages, problem.params["languages"]) for problem in found] == [
            (("assessment",), "ru"), (("closed",), "ru")]

    def test_the_bundled_workflow_speaks_every_language_everywhere(self):
        assert [problem for problem in validate(load_default_workflow()) if problem.code == "missing_translation"] == []
