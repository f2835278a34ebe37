"""Search across scripts (DESIGN.md §12): a child found under any spelling of the name, only among the cases the
caller sees in full; the case number as before; wildcards are plain characters."""

from datetime import date

import pytest
import sqlalchemy as sa

from referral.auth.models import User
from referral.cases import service as cases
from referral.cases.names import fold
from referral.extensions import db
from referral.referrals import service as referrals
from tests.appfixtures import demo_actor


@pytest.mark.parametrize("written, searched", [
    ("Нұрланова", "Нурланова"), ("Нұрланова", "Nurlanova"), ("Нурланова", "nurlanova"),
    ("Айгерім", "Aigerim"), ("Айгерім", "Aygerim"), ("Қайрат", "Kairat"), ("Ғалым", "Galym"),
    ("Жанна", "Zhanna"), ("Жанна", "Janna"), ("Юлия", "Yulia"), ("Юлия", "Iuliia"), ("Хадиджа", "Khadija"),
    ("Іңкәр", "Inkar"), ("Өмір", "Omir"), ("Үміт", "Umit"), ("Әлия", "Aliya"), ("Серік", "SERIK"),
])
def test_spellings_of_one_name_fold_alike(written, searched):
    assert fold(written) == fold(searched)


@pytest.mark.parametrize("one, other", [("Нурланова", "Нурланов"), ("Айгерим", "Айдана"), ("Серік", "Сергей")])
def test_different_names_stay_apart(one, other):
    assert fold(one) != fold(other)


@pytest.fixture
def nurlanova(demo):
    child = cases.ChildData(given_name="Айгерім", family_name="Нұрланова", sex="female", region="KZ-71",
                            estimated_age=10)
    case = cases.register_case("returned-child", "medium", child, demo_actor("social@demo.kz"))
    db.session.commit()
    return case


@pytest.fixture
def api(client, token_for):
    def numbers(email, q):
        user = db.session.scalar(sa.select(User).where(User.email == email))
        response = client.get("/api/v1/cases", query_string={"q": q}, headers=token_for(user))
        assert response.status_code == 200
        return [case["number"] for case in response.json]

    return numbers


@pytest.mark.parametrize("q", ["Нурланова", "Nurlanova", "nurlan", "Aigerim Nurlanova", "Айгерим"])
def test_the_holding_agency_finds_the_child_under_any_spelling(api, nurlanova, q):
    assert api("social@demo.kz", q) == [nurlanova.number]


def test_an_agency_only_asked_never_finds_the_child_by_name_but_by_number(api, nurlanova):
    cases.record_consent(nurlanova.id, cases.ConsentData(given_by="Guardian", relationship_to_child="aunt",
                                                         agency_types=["health"], given_on=date.today()),
                         demo_actor("social@demo.kz"))
    referrals.refer(nurlanova.id, "health-screening", "astana-childrens-clinic", "Check-up",
                    demo_actor("social@demo.kz"))
    db.session.commit()
    assert api("health@demo.kz", "Nurlanova") == []
    assert api("health@demo.kz", nurlanova.number[-6:]) == [nurlanova.number]
    assert api("school@demo.kz", nurlanova.number[-6:]) == []


@pytest.mark.parametrize("q", ["%", "_", "%%", "\\"])
def test_wildcards_match_nothing_special(api, nurlanova, q):
    assert api("social@demo.kz", q) == []


def test_a_page_past_the_last_says_so_instead_of_no_case_matches(client, nurlanova, sign_in):
    sign_in("social@demo.kz")
    page = client.get("/cases/?page=999").get_data(as_text=True)
    assert "No case matches." not in page and "Page 999 is past the last one." in page
    assert "Go to the last page, 1" in page
    assert "No case matches." in client.get("/cases/?q=Zzyzx").get_data(as_text=True)
    assert "Нұрланова" in client.get("/cases/?q=Nurlanova").get_data(as_text=True)


def test_the_case_list_filters_by_risk_region_and_what_is_assigned_to_me(client, nurlanova, sign_in, token_for):
    sign_in("social@demo.kz")
    assert nurlanova.number in client.get("/cases/?risk=medium&region=KZ-71").get_data(as_text=True)
    assert nurlanova.number not in client.get("/cases/?risk=high").get_data(as_text=True)
    assert nurlanova.number not in client.get("/cases/?region=KZ-75").get_data(as_text=True)
    assert nurlanova.number not in client.get("/cases/?mine=1").get_data(as_text=True)
    first = nurlanova.referrals[0]
    referrals.assign(first.id, "social@demo.kz", first.version, demo_actor("social@demo.kz"))
    db.session.commit()
    assert nurlanova.number in client.get("/cases/?mine=1").get_data(as_text=True)
    user = db.session.scalar(sa.select(User).where(User.email == "social@demo.kz"))
    body = client.get("/api/v1/cases", query_string={"assignee": "me", "risk_level": "medium"},
                      headers=token_for(user)).json
    assert [case["number"] for case in body] == [nurlanova.number]
    assert client.get("/api/v1/cases", query_string={"region": "KZ-99"}, headers=token_for(user)).status_code == 422
