"""Property-based tests of validation over random graphs (no app)."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workflows import AGENCY_TYPES, CODES, Severity, is_valid, layout, validate

KEYS = [f"s{index}" for index in range(12)]
DURATIONS = st.sampled_from(["PT24H", "P3D", "5 working days", "P0D", "soon", "PT4H", 7])


@st.composite
def stages(draw):
    keys = draw(st.lists(st.sampled_from(KEYS + ["s0"]), min_size=0, max_size=10))
    result = []
    for key in keys:
        stage = {"key": key, "name": key.upper(),
                 "agency_type": draw(st.sampled_from([*AGENCY_TYPES, "police"]))}
        if draw(st.booleans()):
            stage["start"] = draw(st.booleans())
        if draw(st.booleans()):
            stage["terminal"] = draw(st.booleans())
        if draw(st.booleans()):
            stage["respond_within"] = draw(DURATIONS)
        if draw(st.booleans()):
            stage["complete_within"] = draw(st.one_of(
                DURATIONS, st.dictionaries(st.sampled_from(["high", "medium", "low", "extreme"]), DURATIONS,
                                           max_size=3)))
        if draw(st.booleans()):
            stage["reminders"] = draw(st.lists(DURATIONS, max_size=2))
        if draw(st.booleans()):
            stage["on_timeout"] = draw(st.sampled_from(["escalate", "cancel", "explode"]))
        result.append(stage)
    return result


@st.composite
def documents(draw):
    document_stages = draw(stages())
    keys = [stage["key"] for stage in document_stages] + ["ghost"]
    transitions = draw(st.lists(
        st.fixed_dictionaries({"from": st.sampled_from(keys), "to": st.sampled_from(keys)},
                              optional={"mode": st.sampled_from(["handover", "parallel", "sideways"]),
                                        "requires": st.lists(st.sampled_from(["consent", "magic"]), max_size=2),
                                        "return": st.booleans()}),
        max_size=20))
    document = {"key": "random", "name": "Random", "stages": document_stages, "transitions": transitions}
    if draw(st.booleans()):
        del document[draw(st.sampled_from(["key", "name", "stages", "transitions"]))]
    return document


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents(), st.booleans())
def test_validation_never_raises_and_reports_only_known_codes_and_stages(document, with_directory):
    directory = ["social", "health"] if with_directory else None
    problems = validate(document, directory)
    assert isinstance(problems, list)
    known = {stage.get("key") for stage in document.get("stages", []) if isinstance(stage, dict)}
    for problem in problems:
        assert problem.code in CODES
        assert problem.severity is CODES[problem.code]
        assert problem.message
        assert list(problem.stages) == sorted(set(problem.stages))
        assert set(problem.stages) <= known | {"ghost"}
    assert is_valid(problems) == (not any(p.severity is Severity.error for p in problems))
    layout(document)  # drawing never raises either


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(AGENCY_TYPES), min_size=2, max_size=30),
       st.sampled_from(["PT24H", "P3D", "2 working days"]))
def test_a_path_from_start_to_terminal_is_valid(types, respond_within):
    document = {
        "key": "path",
        "name": "Path",
        "stages": [{"key": f"p{index}", "name": f"P{index}", "agency_type": kind, "respond_within": respond_within}
                   for index, kind in enumerate(types)],
        "transitions": [{"from": f"p{index}", "to": f"p{index + 1}"} for index in range(len(types) - 1)],
    }
    document["stages"][0]["start"] = True
    document["stages"][-1]["terminal"] = True
    problems = validate(document, AGENCY_TYPES)
    assert problems == []
    assert is_valid(problems)


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=2, max_value=15), st.data())
def test_a_path_with_a_dead_branch_is_invalid_and_names_the_branch(length, data):
    document = {
        "key": "branch",
        "name": "Branch",
        "stages": [{"key": f"p{index}", "name": f"P{index}", "agency_type": "social", "respond_within": "P1D"}
                   for index in range(length)],
        "transitions": [{"from": f"p{index}", "to": f"p{index + 1}"} for index in range(length - 1)],
    }
    document["stages"][0]["start"] = True
    document["stages"][-1]["terminal"] = True
    branch_from = data.draw(st.integers(min_value=0, max_value=length - 2))
    document["stages"].append({"key": "dead", "name": "Dead", "agency_type": "health", "respond_within": "P1D"})
    document["transitions"].append({"from": f"p{branch_from}", "to": "dead"})
    problems = validate(document)
    assert not is_valid(problems)
    assert [(p.code, p.stages) for p in problems if p.is_error] == [("dead_end", ("dead",))]
