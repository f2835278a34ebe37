import copy
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agencies import (
    REGIONS,
    AgencyRecord,
    AgencyType,
    Contact,
    DirectorySchema,
    Service,
    dump_directory,
    is_agency_code,
    load_directory,
    parse_directory_text,
)


def organization(**changes):
    data = {
        "id": "astana-clinic-3",
        "name": "Astana Children's Clinic No. 3",
        "alternate_name": "Детская поликлиника №3 города Астаны",
        "description": "Paediatric care and health screening.",
        "x_agency_type": "health",
        "active": True,
        "email": "clinic3@example.kz",
        "phones": [{"number": "+7 7172 000 003"}],
        "locations": [
            {
                "address_1": "1 Example Street",
                "city": "Astana",
                "x_region": "KZ-71",
                "x_district": "Yesil",
            }
        ],
        "services": [{"name": "Health screening", "description": "Within three days."}],
        "contacts": [
            {
                "name": "Duty doctor",
                "title": "Paediatrician",
                "phone": "+7 7172 000 004",
            }
        ],
    }
    data.update(changes)
    return data


def directory(*organizations):
    return {
        "format": "hsds-referral-directory",
        "version": 1,
        "organizations": list(organizations),
    }


def by_path(problems):
    return {problem.path: problem.code for problem in problems}


def test_good_file_loads_into_records():
    records, problems = load_directory(
        directory(
            organization(),
            {
                "id": "shymkent-ngo",
                "name": "Bright Steps",
                "x_agency_type": "civil_society",
                "locations": [{"x_region": "KZ-79"}],
            },
        )
    )
    assert problems == []
    assert records == [
        AgencyRecord(
            code="astana-clinic-3",
            name="Astana Children's Clinic No. 3",
            name_ru="Детская поликлиника №3 города Астаны",
            type=AgencyType.health,
            region="KZ-71",
            district="Yesil",
            address="1 Example Street",
            city="Astana",
            email="clinic3@example.kz",
            phone="+7 7172 000 003",
            description="Paediatric care and health screening.",
            services=(Service("Health screening", "Within three days."),),
            contacts=(
                Contact(
                    name="Duty doctor", title="Paediatrician", phone="+7 7172 000 004"
                ),
            ),
            is_active=True,
        ),
        AgencyRecord(
            code="shymkent-ngo",
            name="Bright Steps",
            type=AgencyType.civil_society,
            region="KZ-79",
        ),
    ]


def test_text_is_trimmed_and_blank_optional_fields_are_absent():
    records, problems = load_directory(
        directory(
            organization(name="  Clinic  ", description="   ", email="", contacts=None)
        )
    )
    assert problems == []
    assert (records[0].name, records[0].description, records[0].email) == (
        "Clinic",
        None,
        None,
    )
    assert records[0].contacts == ()


def test_unknown_fields_are_ignored():
    records, problems = load_directory(
        directory(organization(url="https://example.kz", tax_id="1"))
    )
    assert problems == [] and len(records) == 1


def test_every_bad_field_is_reported_with_its_path():
    bad = organization(
        id="Clinic No 3",
        name="",
        x_agency_type="police",
        active="yes",
        email="not-an-address",
        phones=[{"number": 7}, {"number": "+7"}],
        locations=[{"x_region": "KZ-02", "x_district": ["x"]}],
        services=[{"name": "Screening"}, {"name": "screening "}, "therapy"],
        contacts=[{"title": "Nobody in particular"}, {"email": "bad"}],
    )
    records, problems = load_directory(directory(organization(), bad))
    assert records == [load_directory(directory(organization()))[0][0]]
    assert by_path(problems) == {
        "organizations[1].id": "invalid_code",
        "organizations[1].name": "blank",
        "organizations[1].x_agency_type": "unknown_agency_type",
        "organizations[1].active": "not_boolean",
        "organizations[1].email": "invalid_email",
        "organizations[1].phones": "one_phone",
        "organizations[1].phones[0].number": "not_text",
        "organizations[1].locations[0].x_region": "unknown_region",
        "organizations[1].locations[0].x_district": "not_text",
        "organizations[1].services[1].name": "duplicate_service",
        "organizations[1].services[2]": "not_object",
        "organizations[1].contacts[0]": "empty_contact",
        "organizations[1].contacts[1].email": "invalid_email",
    }
    assert {problem.record for problem in problems} == {1}


def test_missing_and_mistyped_fields():
    records, problems = load_directory(
        directory(
            {},
            "garbage",
            organization(locations=[]),
            organization(id="b", locations={"x_region": "KZ-71"}),
        )
    )
    assert records == []
    assert by_path(problems) == {
        "organizations[0].id": "required",
        "organizations[0].name": "required",
        "organizations[0].x_agency_type": "required",
        "organizations[0].locations": "required",
        "organizations[1]": "not_object",
        "organizations[2].locations": "one_location",
        "organizations[3].locations": "not_list",
    }
    assert [problem.record for problem in problems] == [0, 0, 0, 0, 1, 2, 3]


def test_more_than_one_location_is_refused_and_each_one_still_checked():
    problems = load_directory(
        directory(
            organization(locations=[{"x_region": "KZ-71"}, {"x_region": "nowhere"}])
        )
    )[1]
    assert by_path(problems) == {
        "organizations[0].locations": "one_location",
        "organizations[0].locations[1].x_region": "unknown_region",
    }


@pytest.mark.parametrize("text", ["Clinic\x00", "Clinic\ud800", "Cli\x1bnic"])
def test_text_that_cannot_be_stored_is_refused(text):
    problems = load_directory(directory(organization(name=text)))[1]
    assert by_path(problems) == {"organizations[0].name": "invalid_characters"}


def test_line_breaks_are_text():
    records = load_directory(directory(organization(description="One.\r\n\tTwo.")))[0]
    assert records[0].description == "One.\r\n\tTwo."


def test_null_is_not_a_value_for_required_fields():
    problems = load_directory(directory(organization(id=None, active=None)))[1]
    assert by_path(problems) == {
        "organizations[0].id": "null",
        "organizations[0].active": "null",
    }


def test_too_long_text():
    problems = load_directory(directory(organization(name="x" * 201)))[1]
    assert [(p.path, p.code, p.params) for p in problems] == [
        ("organizations[0].name", "too_long", {"max": 200})
    ]
    assert problems[0].message == "Must be at most 200 characters long."


def test_duplicate_codes_are_reported_against_the_first():
    records, problems = load_directory(
        directory(
            organization(),
            organization(name="Other"),
            organization(id="other"),
            organization(),
        )
    )
    assert [record.code for record in records] == ["astana-clinic-3", "other"]
    assert [(p.path, p.code, p.params) for p in problems] == [
        (
            "organizations[1].id",
            "duplicate_code",
            {"value": "astana-clinic-3", "first": 0},
        ),
        (
            "organizations[3].id",
            "duplicate_code",
            {"value": "astana-clinic-3", "first": 0},
        ),
    ]


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ({"organizations": []}, {"format": "required", "version": "required"}),
        (
            {"format": "hsds", "version": 2, "organizations": []},
            {"format": "wrong_format", "version": "unsupported_version"},
        ),
        (
            {"format": "hsds-referral-directory", "version": True, "organizations": []},
            {"version": "not_integer"},
        ),
        (
            {"format": 1, "version": "1", "organizations": {}},
            {
                "format": "not_text",
                "version": "not_integer",
                "organizations": "not_list",
            },
        ),
    ],
)
def test_document_level_problems(document, expected):
    records, problems = load_directory(document)
    assert records == []
    assert by_path(problems) == expected
    assert all(problem.record is None for problem in problems)


@pytest.mark.parametrize(
    "garbage", [None, 1, "text", [], [{"id": "x"}], b"{}", 3.5, True]
)
def test_a_document_that_is_not_an_object(garbage):
    records, problems = load_directory(garbage)
    assert records == []
    assert [(p.path, p.code, p.record) for p in problems] == [
        ("", "not_a_document", None)
    ]


def test_messages_are_translatable_templates():
    problems = load_directory(directory(organization(x_agency_type="police")))[1]
    (problem,) = problems
    assert (
        problem.template
        == 'Unknown agency type "%(value)s"; expected one of: %(choices)s.'
    )
    assert problem.params == {
        "value": "police",
        "choices": "justice, health, education, social, civil_society",
    }
    assert problem.message == problem.template % problem.params
    assert str(problem) == f"organizations[0].x_agency_type: {problem.message}"


def test_json_syntax_error_names_the_line():
    records, problems = parse_directory_text(
        '{\n  "format": "hsds-referral-directory",\n  "version": 1,,\n}'
    )
    assert records == []
    assert [(p.code, p.params) for p in problems] == [
        ("invalid_json", {"line": 3, "column": 16})
    ]
    assert problems[0].message == "The file is not valid JSON (line 3, column 16)."


@pytest.mark.parametrize("text", [b"\xff\xfe\xfa", "[" * 100_000, "1" * 5000, ""])
def test_unreadable_text_is_a_problem_not_an_exception(text):
    records, problems = parse_directory_text(text)
    assert records == [] and len(problems) == 1
    assert problems[0].code in {"invalid_json", "unreadable"}


def test_parse_text_of_a_good_file():
    records, problems = parse_directory_text(json.dumps(directory(organization())))
    assert problems == [] and records[0].code == "astana-clinic-3"


def test_dump_writes_the_file_format():
    record = AgencyRecord(
        code="almaty-court",
        name="Almaty Juvenile Court",
        type=AgencyType.justice,
        region="KZ-75",
        services=(Service("Hearings"),),
        is_active=False,
    )
    assert dump_directory([record]) == {
        "format": "hsds-referral-directory",
        "version": 1,
        "organizations": [
            {
                "id": "almaty-court",
                "name": "Almaty Juvenile Court",
                "x_agency_type": "justice",
                "active": False,
                "locations": [{"x_region": "KZ-75"}],
                "services": [{"name": "Hearings"}],
            }
        ],
    }


def test_round_trip_through_json_text():
    records = load_directory(
        directory(organization(), organization(id="b", active=False, phones=[]))
    )[0]
    text = json.dumps(dump_directory(records), ensure_ascii=False)
    assert parse_directory_text(text) == (records, [])


def test_the_schema_can_be_used_on_its_own():
    assert DirectorySchema().validate(directory(organization())) == {}


def test_loading_leaves_the_input_alone():
    document = directory(organization(), {"id": 1})
    before = copy.deepcopy(document)
    load_directory(document)
    assert document == before


@pytest.mark.parametrize("code", ["a", "astana-clinic-3", "0", "-", "x" * 64])
def test_agency_codes(code):
    assert is_agency_code(code)


@pytest.mark.parametrize(
    "code",
    [
        "",
        "Astana",
        "astana clinic",
        "astana_clinic",
        "клиника",
        "a\n",
        "x" * 65,
        5,
        None,
    ],
)
def test_not_agency_codes(code):
    assert not is_agency_code(code)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
field_names = st.sampled_from(
    [
        "id",
        "name",
        "alternate_name",
        "description",
        "x_agency_type",
        "active",
        "email",
        "phones",
        "locations",
        "services",
        "contacts",
        "number",
        "x_region",
        "x_district",
        "address_1",
        "city",
        "title",
        "phone",
    ]
)
almost_organizations = st.dictionaries(
    field_names,
    json_values
    | st.lists(st.dictionaries(field_names, json_values, max_size=5), max_size=3),
    max_size=8,
)


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_any_json_value_gives_problems_not_exceptions(value):
    records, problems = load_directory(value)
    assert records == [] and problems


@settings(max_examples=300, deadline=None)
@given(st.lists(almost_organizations | json_values, max_size=4))
def test_any_organizations_give_problems_with_paths_not_exceptions(organizations):
    records, problems = load_directory(directory(*organizations))
    assert len(records) + len({p.record for p in problems}) == len(organizations)
    for problem in problems:
        assert problem.path.startswith(f"organizations[{problem.record}]")
        assert problem.message == problem.template % problem.params


words = (
    st.text(
        alphabet="abcdefghijklmnopqrstuvwxyz АБВабвәіңғүұқөһ-.'",
        min_size=1,
        max_size=30,
    )
    .map(str.strip)
    .filter(bool)
)
optional_words = st.none() | words
codes = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=64
)
records_strategy = st.builds(
    AgencyRecord,
    code=codes,
    name=words,
    name_ru=optional_words,
    name_kk=optional_words,
    type=st.sampled_from(AgencyType),
    region=st.sampled_from([each.code for each in REGIONS]),
    district=optional_words,
    address=optional_words,
    city=optional_words,
    email=st.none() | st.sampled_from(["office@example.kz", "a.b@example.org"]),
    phone=st.none() | st.sampled_from(["+7 700 000 0000", "8 (7172) 00-00-00"]),
    description=optional_words,
    services=st.lists(words, unique_by=str.casefold, max_size=3).map(
        lambda names: tuple(Service(name) for name in names)
    ),
    contacts=st.lists(
        st.builds(
            Contact,
            name=words,
            title=optional_words,
            email=st.none(),
            phone=optional_words,
        ),
        max_size=2,
    ).map(tuple),
    is_active=st.booleans(),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(records_strategy, max_size=5, unique_by=lambda record: record.code))
def test_load_of_dump_gives_the_records_back(records):
    assert load_directory(json.loads(json.dumps(dump_directory(records)))) == (
        records,
        [],
    )


def test_the_kazakh_name_travels_as_x_name_kk_beside_the_russian_alternate_name():
    records, problems = load_directory(
        directory(organization(x_name_kk="  Астана қаласының №3 балалар емханасы ")))
    assert problems == []
    assert (records[0].name_ru, records[0].name_kk) == (
        "Детская поликлиника №3 города Астаны", "Астана қаласының №3 балалар емханасы")
    written = dump_directory(records)["organizations"][0]
    assert (written["alternate_name"], written["x_name_kk"]) == (
        "Детская поликлиника №3 города Астаны", "Астана қаласының №3 балалар емханасы")
    # Without one, the file has no x_name_kk at all, and a name too long to keep is named by its path.
    assert "x_name_kk" not in dump_directory(load_directory(directory(organization()))[0])["organizations"][0]
    _, problems = load_directory(directory(organization(x_name_kk="Ә" * 201)))
    assert by_path(problems) == {"organizations[0].x_name_kk": "too_long"}
