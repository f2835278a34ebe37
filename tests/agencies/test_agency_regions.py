import pytest

from agencies import REGIONS, Region, is_region_code, region

CODES = {
    "KZ-10": "Abai Region",
    "KZ-11": "Akmola Region",
    "KZ-15": "Aktobe Region",
    "KZ-19": "Almaty Region",
    "KZ-23": "Atyrau Region",
    "KZ-27": "West Kazakhstan Region",
    "KZ-31": "Jambyl Region",
    "KZ-33": "Jetisu Region",
    "KZ-35": "Karaganda Region",
    "KZ-39": "Kostanay Region",
    "KZ-43": "Kyzylorda Region",
    "KZ-47": "Mangystau Region",
    "KZ-55": "Pavlodar Region",
    "KZ-59": "North Kazakhstan Region",
    "KZ-61": "Turkistan Region",
    "KZ-62": "Ulytau Region",
    "KZ-63": "East Kazakhstan Region",
    "KZ-71": "Astana",
    "KZ-75": "Almaty",
    "KZ-79": "Shymkent",
}


def test_seventeen_regions_and_three_cities():
    assert len(REGIONS) == 20
    assert sum(1 for each in REGIONS if each.is_city) == 3
    assert {each.code for each in REGIONS if each.is_city} == {
        "KZ-71",
        "KZ-75",
        "KZ-79",
    }


def test_codes_are_the_2022_iso_codes():
    assert [each.code for each in REGIONS] == sorted(CODES)
    assert {each.code: each.name_en for each in REGIONS} == CODES


def test_every_region_is_named_in_three_languages():
    for each in REGIONS:
        assert each.name_en and each.name_ru and each.name_kk, each.code
        # Russian and Kazakh names are written in Cyrillic.
        assert any("а" <= letter.lower() <= "я" for letter in each.name_ru), each.code
        assert any("а" <= letter.lower() <= "я" for letter in each.name_kk), each.code


def test_names_are_unique_in_every_language():
    for attribute in ("name_en", "name_ru", "name_kk"):
        names = [getattr(each, attribute) for each in REGIONS]
        assert len(set(names)) == len(names), attribute


def test_region_and_city_of_almaty_are_different():
    assert region("KZ-19").name("ru") == "Алматинская область"
    assert region("KZ-75").name("ru") == "город Алматы"
    assert region("KZ-75").name("kk") == "Алматы қаласы"


def test_lookup_by_code():
    astana = region("KZ-71")
    assert astana == Region(
        "KZ-71", "Astana", "город Астана", "Астана қаласы", is_city=True
    )
    assert region("KZ-10").name_kk == "Абай облысы"


@pytest.mark.parametrize(
    "code", ["KZ-02", "kz-71", "KZ-71 ", "", "KZ-ALA", None, ["KZ-71"]]
)
def test_unknown_code_is_a_key_error(code):
    with pytest.raises(KeyError):
        region(code)
    assert not is_region_code(code)


def test_is_region_code():
    assert all(is_region_code(code) for code in CODES)


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("kk", "Маңғыстау облысы"),
        ("kk_KZ", "Маңғыстау облысы"),
        ("ru", "Мангистауская область"),
        ("ru-RU", "Мангистауская область"),
        ("en", "Mangystau Region"),
        ("de", "Mangystau Region"),
        (None, "Mangystau Region"),
        ("", "Mangystau Region"),
    ],
)
def test_name_in_locale_falls_back_to_english(locale, expected):
    assert region("KZ-47").name(locale) == expected
