"""Translated names: the name_ru/name_kk and label_ru/label_kk extension fields (no app)."""

import pytest

from workflows import TRANSLATED_LANGUAGES, load_definition, parse_document, validate
from workflows.library import load_default_workflow, load_default_workflow_text

EXAMPLE = """
key: returned-child
name: Returned child — rehabilitation and reintegration
stages:
  - key: registration
    name: Registration and guardian identification
    agency_type: social
    start: true
    respond_within: PT24H
  - key: health-screening
    name: Health screening
    agency_type: health
    respond_within: 3 working days
  - key: closed
    name: Case closed
    agency_type: social
    terminal: true
    respond_within: P1D
transitions:
  - from: registration
    to: health-screening
    label: Refer for health screening
  - from: health-screening
    to: closed
    label: Close
"""


def shape_messages(data):
    definition, problems = load_definition(data)
    assert definition is None
    assert {problem.code for problem in problems} == {"schema"}
    return [problem.message for problem in problems]


def translated():
    data, _ = parse_document(EXAMPLE)
    data["name_ru"] = "Возвращённый ребёнок"
    data["name_kk"] = "Оралған бала"
    data["stages"][1]["name_ru"] = "Медицинский осмотр"
    data["stages"][1]["name_kk"] = "Медициналық тексеру"
    data["transitions"][0]["label_ru"] = "Направить на медицинский осмотр"
    return data


def test_translations_are_kept_as_extension_fields_and_round_trip():
    definition, problems = load_definition(translated())
    assert problems == []
    assert definition.extra == {"name_ru": "Возвращённый ребёнок", "name_kk": "Оралған бала"}
    assert definition.stage("health-screening").extra["name_kk"] == "Медициналық тексеру"
    assert load_definition(definition.to_document()) == (definition, [])
    assert definition.to_document()["transitions"][0]["label_ru"] == "Направить на медицинский осмотр"


def test_to_document_writes_translations_beside_what_they_translate():
    data = translated()
    data["stages"][1]["clinic_form"] = "F-112"
    document = load_definition(data)[0].to_document()
    assert list(document)[:4] == ["key", "name", "name_ru", "name_kk"]
    assert list(document["stages"][1]) == ["key", "name", "name_ru", "name_kk", "agency_type", "respond_within",
                                           "clinic_form"]
    assert list(document["transitions"][0]) == ["from", "to", "label", "label_ru"]


@pytest.mark.parametrize(
    ("locale", "workflow", "stage", "label"),
    [
        ("ru", "Возвращённый ребёнок", "Медицинский осмотр", "Направить на медицинский осмотр"),
        ("kk", "Оралған бала", "Медициналық тексеру", "Refer for health screening"),
        ("kk_KZ", "Оралған бала", "Медициналық тексеру", "Refer for health screening"),
        ("ru-RU", "Возвращённый ребёнок", "Медицинский осмотр", "Направить на медицинский осмотр"),
        ("en", "Returned child — rehabilitation and reintegration", "Health screening", "Refer for health screening"),
        (None, "Returned child — rehabilitation and reintegration", "Health screening", "Refer for health screening"),
        ("de", "Returned child — rehabilitation and reintegration", "Health screening", "Refer for health screening"),
    ],
)
def test_names_in_a_language_fall_back_to_english(locale, workflow, stage, label):
    definition, _ = load_definition(translated())
    assert definition.name_in(locale) == workflow
    assert definition.stage("health-screening").name_in(locale) == stage
    assert definition.transitions[0].label_in(locale) == label


def test_a_blank_or_null_translation_falls_back_to_english():
    data = translated()
    data["stages"][1]["name_ru"] = "  "
    data["stages"][1]["name_kk"] = None
    definition, problems = load_definition(data)
    assert problems == []
    assert definition.stage("health-screening").name_in("ru") == "Health screening"
    assert definition.stage("health-screening").name_in("kk") == "Health screening"


def test_a_definition_without_translations_reads_english_in_every_language():
    definition, _ = load_definition(parse_document(EXAMPLE)[0])
    for locale in ("en", *TRANSLATED_LANGUAGES):
        assert definition.name_in(locale) == definition.name
        assert [stage.name_in(locale) for stage in definition.stages] == [stage.name for stage in definition.stages]
        assert [t.label_in(locale) for t in definition.transitions] == [t.label for t in definition.transitions]


def test_a_transition_without_a_label_has_none_unless_translated():
    data, _ = parse_document(EXAMPLE)
    del data["transitions"][1]["label"]
    data["transitions"][1]["label_ru"] = "Закрыть"
    definition, _ = load_definition(data)
    assert definition.transitions[1].label_in("en") is None
    assert definition.transitions[1].label_in("kk") is None
    assert definition.transitions[1].label_in("ru") == "Закрыть"


def test_a_translation_that_is_not_text_is_a_schema_problem_naming_its_path():
    data = translated()
    data["name_kk"] = 7
    data["stages"][2]["name_ru"] = ["Дело закрыто"]
    data["stages"][2]["agency_type"] = 3
    data["transitions"][1]["label_kk"] = {"text": "Жабу"}
    assert shape_messages(data) == [
        "name_kk must be text.",
        "stages[2].name_ru must be text.",
        "stages[2].agency_type must be text.",
        "transitions[1].label_kk must be text.",
    ]
    assert [problem.params for problem in validate(data)][:2] == [{"path": "name_kk"}, {"path": "stages[2].name_ru"}]


def test_other_extension_fields_may_still_hold_anything():
    data = translated()
    data["stages"][1]["name_de"] = 5
    data["transitions"][0]["label_fr"] = ["x"]
    definition, problems = load_definition(data)
    assert problems == []
    assert definition.stage("health-screening").extra["name_de"] == 5


class TestDefaultWorkflow:
    def test_names_every_stage_and_transition_in_russian_and_kazakh(self):
        definition = load_default_workflow()
        for language in TRANSLATED_LANGUAGES:
            assert definition.extra[f"name_{language}"]
            for stage in definition.stages:
                assert stage.extra[f"name_{language}"].strip(), (language, stage.key)
                assert stage.name_in(language) != stage.name
            for transition in definition.transitions:
                assert transition.extra[f"label_{language}"].strip(), (language, transition.pair)

    def test_is_still_valid_with_its_translations(self):
        assert validate(parse_document(load_default_workflow_text())[0]) == []
        assert load_default_workflow().stage("health-screening").name_in("ru") == "Медицинский осмотр"
        assert load_default_workflow().stage("health-screening").name_in("kk") == "Медициналық тексеру"
