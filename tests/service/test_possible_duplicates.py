"""Possible duplicates (DESIGN.md §12): before a second file is opened, the child is compared with every case,
whoever holds it — names across scripts with one typo in one name, the birth date or ages a year apart, the sex —
and each match tells only what a summary tells; every check is audited; the holders can be asked."""

import json
import re
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from referral.audit.models import AuditEntry
from referral.auth.models import User
from referral.cases import duplicates
from referral.cases import service as cases
from referral.cases.models import Case
from referral.cases.names import fold
from referral.extensions import db
from referral.notifications.models import Notification
from referral.notifications.service import render
from tests.appfixtures import demo_actor

BORN = date(2015, 3, 4)
CHILD = {"given_name": "Айгерім", "family_name": "Нұрланова", "sex": "female", "region": "KZ-71",
         "birth_date": BORN.isoformat()}
MATCH_FIELDS = {"case_id", "number", "score", "region", "age", "sex", "status", "held_by"}


def register(email="social@demo.kz", **child):
    data = {**CHILD, **child}
    record = cases.ChildData(given_name=data["given_name"], family_name=data["family_name"], sex=data["sex"],
                             region=data["region"], patronymic=data.get("patronymic"),
                             birth_date=date.fromisoformat(data["birth_date"]) if data.get("birth_date") else None,
                             estimated_age=data.get("estimated_age"))
    case = cases.register_case("returned-child", "medium", record, demo_actor(email))
    db.session.commit()
    return case


@pytest.fixture
def known(demo):
    """The child already has a case at the Astana family support centre."""
    return register()


@pytest.fixture
def check(api):
    """Return ``check(email="social@demo.kz", **child fields)``: the numbers of the matches, best first."""

    def call(email="social@demo.kz", **child):
        response = api(email, "POST", "/api/v1/cases/matches", json={"child": {**CHILD, **child}})
        assert response.status_code == 200, response.get_data(as_text=True)
        return [match["number"] for match in response.json["matches"]]

    return call


def age_today(born: date) -> int:
    return cases.years_between(born, date.today())


@pytest.mark.parametrize("given, family", [
    ("Айгерім", "Нұрланова"), ("Айгерим", "Нурланова"), ("Aigerim", "Nurlanova"), ("Aygerim", "Nurlanova"),
    ("AIGERIM", "NURLANOVA"), ("Nurlanova", "Aigerim"),  # written in each other's field
])
def test_the_child_is_found_under_any_script_and_spelling(check, known, given, family):
    assert check(given_name=given, family_name=family) == [known.number]


def test_the_kazakh_latin_alphabet_meets_the_cyrillic():
    assert fold("Şynar") == fold("Шынар") and fold("Çoqan") == fold("Чоқан")
    assert fold("Şyñğys") == fold("Шыңғыс") == fold("Shyngys")


@pytest.mark.parametrize("given, family", [
    ("Aigerim", "Nurlanov"),  # delete
    ("Aigerim", "Nurlannova"),  # insert (a doubled letter folds away too)
    ("Aigerim", "Nurlanoba"),  # substitute
    ("Aigerim", "Nurlnaova"),  # swap of neighbours
    ("Aigreim", "Nurlanova"),  # swap, in the given name
    ("Айгерм", "Нұрланова"),  # delete, in Cyrillic
])
def test_one_typo_in_one_name_still_matches(check, known, given, family):
    assert check(given_name=given, family_name=family) == [known.number]


@pytest.mark.parametrize("given, family", [
    ("Aigerim", "Nurlnaoba"),  # two typos in one name
    ("Aigerm", "Nurlanoba"),  # one in each name
    ("Aidana", "Nurlanova"),  # another girl of the same family
    ("Aigerim", "Serikova"),
])
def test_two_typos_or_another_name_do_not_match(check, known, given, family):
    assert check(given_name=given, family_name=family) == []


def test_one_typo_scores_below_the_same_names_and_the_exact_record_scores_one(api, known):
    def score(**child):
        body = api("social@demo.kz", "POST", "/api/v1/cases/matches", json={"child": {**CHILD, **child}}).json
        return body["matches"][0]["score"]

    exact, typo = score(given_name="Aigerim", family_name="Nurlanova"), score(given_name="Aigerim",
                                                                              family_name="Nurlanoba")
    assert exact == 1.0 and 0 < typo < exact


def test_the_birth_date_must_be_the_same_when_both_are_known(check, known):
    assert check(birth_date="2015-03-05") == [] and check(birth_date="2016-03-04") == []
    assert check(birth_date="2015-04-03") == [known.number]  # day and month written the other way round


@pytest.mark.parametrize("offset, found", [(-2, False), (-1, True), (0, True), (1, True), (2, False)])
def test_an_estimated_age_matches_a_birth_date_within_one_year(check, known, offset, found):
    numbers = check(birth_date=None, estimated_age=age_today(BORN) + offset)
    assert numbers == ([known.number] if found else [])


@pytest.mark.parametrize("offset, found", [(-2, False), (-1, True), (0, True), (1, True), (2, False)])
def test_a_birth_date_matches_an_estimated_age_within_one_year(check, demo, offset, found):
    case = register(birth_date=None, estimated_age=10)
    born = date.today().replace(year=date.today().year - 10 - offset, month=1, day=1)
    assert check(birth_date=born.isoformat()) == ([case.number] if found else [])


def test_an_estimate_made_years_ago_has_aged_with_the_child(check, demo):
    case = register(birth_date=None, estimated_age=10)
    case.created_at = datetime.now(UTC) - timedelta(days=3 * 365 + 2)  # registered three years ago
    db.session.commit()
    assert check(birth_date=None, estimated_age=13) == [case.number]
    assert check(birth_date=None, estimated_age=10) == []


def test_two_estimates_match_within_one_year(check, demo):
    case = register(birth_date=None, estimated_age=9)
    assert check(birth_date=None, estimated_age=10) == [case.number]
    assert check(birth_date=None, estimated_age=11) == []


def test_a_child_of_the_other_sex_is_not_a_match_but_an_unknown_sex_is(check, known):
    assert check(sex="male") == []
    assert check(sex="unknown") == [known.number]
    other = register(given_name="Айгерім", family_name="Нұрланова", sex="unknown", birth_date="2015-03-04")
    assert check(sex="male") == [other.number]


def test_a_match_says_what_a_summary_says_and_never_a_name_or_a_birth_date(api, demo):
    case = register(email="rehab@demo.kz", region="KZ-75", patronymic="Серікқызы")
    for email in ("social@demo.kz", "rehab@demo.kz", "admin@demo.kz"):  # unrelated, holding, seeing everything
        response = api(email, "POST", "/api/v1/cases/matches",
                       json={"child": {**CHILD, "given_name": "Aigerim", "patronymic": "Serikkyzy"}})
        assert response.status_code == 200
        (match,) = response.json["matches"]
        assert set(match) == MATCH_FIELDS
        assert match == {"case_id": case.id, "number": case.number, "score": 1.0, "region": "KZ-75",
                         "age": age_today(BORN), "sex": "female", "status": "open",
                         "held_by": ["almaty-rehab-centre"]}
        text = response.get_data(as_text=True)
        for secret in ("Айгерім", "Нұрланова", "Серікқызы", "Aigerim", "2015", "03-04"):
            assert secret not in text


def test_held_by_names_the_agencies_working_on_the_case_now(api, demo):
    from referral.referrals import service as referrals

    case = register()
    cases.record_consent(case.id, cases.ConsentData(given_by="Guardian", relationship_to_child="aunt",
                                                    agency_types=["health"], given_on=date.today()),
                         demo_actor("social@demo.kz"))
    referral = referrals.refer(case.id, "health-screening", "astana-childrens-clinic", "Check-up",
                               demo_actor("social@demo.kz"))
    db.session.commit()

    def held_by():
        return api("rehab@demo.kz", "POST", "/api/v1/cases/matches", json={"child": CHILD}).json["matches"][0][
            "held_by"]

    assert held_by() == ["astana-family-support"]  # only asked: the clinic does not hold it yet
    referrals.act(referral.id, "accept", referral.version, demo_actor("health@demo.kz"))
    db.session.commit()
    assert held_by() == ["astana-childrens-clinic", "astana-family-support"]


def test_every_check_is_audited_without_the_names_typed(api, known):
    before = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry))
    api("rehab@demo.kz", "POST", "/api/v1/cases/matches", json={"child": CHILD})
    api("rehab@demo.kz", "POST", "/api/v1/cases/matches", json={"child": {**CHILD, "family_name": "Serikova"}})
    checks = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "case.matches")
                                .order_by(AuditEntry.id)).all()
    assert [(entry.actor_label, entry.detail["count"], entry.detail["cases"]) for entry in checks] == [
        ("rehab@demo.kz", 1, [known.id]), ("rehab@demo.kz", 0, [])]
    shown = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "case.matched")).all()
    assert [(entry.object_type, entry.object_id) for entry in shown] == [("case", str(known.id))]
    written = json.dumps([entry.detail for entry in db.session.scalars(
        sa.select(AuditEntry).offset(before))], ensure_ascii=False)
    assert "Нұрланова" not in written and "Serikova" not in written and "2015" not in written


def test_bad_input_is_refused_clearly_and_records_nothing(api, known):
    def case_entries():
        return db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)
                                 .where(AuditEntry.action.like("case.%")))

    before = case_entries()
    response = api("social@demo.kz", "POST", "/api/v1/cases/matches",
                   json={"child": {"given_name": "Aigerim", "sex": "girl", "region": "KZ-71"}})
    assert response.status_code == 422
    errors = response.json["errors"]["json"]["child"]
    assert {"family_name", "sex", "birth_date"} <= set(errors)
    assert case_entries() == before


def test_registering_answers_with_the_possible_duplicates_and_is_never_refused_for_them(api, demo):
    body = {"workflow": "returned-child", "risk_level": "medium", "child": CHILD}
    first = api("social@demo.kz", "POST", "/api/v1/cases", json=body)
    assert first.status_code == 201 and first.json["possible_duplicates"] == []
    second = api("rehab@demo.kz", "POST", "/api/v1/cases",
                 json={**body, "child": {**CHILD, "given_name": "Aigerim", "family_name": "Nurlanova"}})
    assert second.status_code == 201
    assert [match["case_id"] for match in second.json["possible_duplicates"]] == [first.json["id"]]
    assert set(second.json["possible_duplicates"][0]) == MATCH_FIELDS
    assert second.json["child"]["given_name"] == "Aigerim"  # the new file itself, in full, for its registrar
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Case).where(
        Case.search_key.startswith("aigerim nurlanova"))) == 2


def test_the_holding_agency_is_asked_without_the_childs_name(api, known):
    assert api("rehab@demo.kz", "POST", "/api/v1/cases/matches", json={"child": CHILD}).status_code == 200
    response = api("rehab@demo.kz", "POST", f"/api/v1/cases/{known.id}/inquiries")
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.json["asked"] == ["astana-family-support"] and response.json["number"] == known.number
    told = db.session.scalars(sa.select(Notification).where(Notification.kind == "case.inquiry")).all()
    emails = sorted(db.session.get(User, notification.user_id).email for notification in told)
    assert emails == ["admin@demo.kz", "coordinator@demo.kz", "social@demo.kz", "supervisor@demo.kz"]
    text = render(told[0])
    assert known.number in text and "Almaty Rehabilitation and Adaptation Centre (demo)" in text
    assert "Нұрланова" not in json.dumps([n.params for n in told], ensure_ascii=False) + text
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "case.inquiry"))
    assert (entry.actor_label, entry.object_id, entry.detail) == (
        "rehab@demo.kz", str(known.id), {"asked": ["astana-family-support"]})
    # Asking again the same day is answered, and the holders hear once.
    assert api("rehab@demo.kz", "POST", f"/api/v1/cases/{known.id}/inquiries").status_code == 201
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification)
                             .where(Notification.kind == "case.inquiry")) == 4


def test_only_a_case_a_check_showed_in_the_last_day_can_be_asked_about(api, known, monkeypatch):
    response = api("rehab@demo.kz", "POST", f"/api/v1/cases/{known.id}/inquiries")
    assert response.status_code == 404
    api("rehab@demo.kz", "POST", "/api/v1/cases/matches", json={"child": CHILD})
    later = datetime.now(UTC) + duplicates.INQUIRY_WINDOW + timedelta(minutes=1)
    monkeypatch.setattr(duplicates, "utcnow", lambda: later)
    assert api("rehab@demo.kz", "POST", f"/api/v1/cases/{known.id}/inquiries").status_code == 404
    assert api("rehab@demo.kz", "POST", "/api/v1/cases/999999/inquiries").status_code == 404
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification)
                             .where(Notification.kind == "case.inquiry")) == 0


def test_an_agency_holding_the_case_has_no_one_to_ask(api, known):
    api("social@demo.kz", "POST", "/api/v1/cases/matches", json={"child": CHILD})
    response = api("social@demo.kz", "POST", f"/api/v1/cases/{known.id}/inquiries")
    assert response.status_code == 409 and response.json["problems"][0]["code"] == "already_holding"


def test_a_corrected_record_is_matched_as_it_reads_now(api, check, known):
    patch = {"child": {"family_name": "Серікова", "birth_date": None, "estimated_age": 7}}
    assert api("social@demo.kz", "PATCH", f"/api/v1/cases/{known.id}", json=patch).status_code == 200
    assert check() == []
    assert check(family_name="Serikova", birth_date=None, estimated_age=8) == [known.number]


def test_the_candidates_are_narrowed_in_sql_before_python_compares(app, known):
    """The SQL keeps cases sharing a name and a possible birth; the typo is Python's to find."""
    register(given_name="Aidana", family_name="Serikova")  # no name in common
    register(given_name="Aigerim", family_name="Omarova", birth_date="2009-01-01")  # a name, not the age
    child = cases.ChildData(given_name="Aigerim", family_name="Nurlanoba", sex="female", region="KZ-71",
                            birth_date=BORN)
    statement = duplicates._candidates(child, ["aigerim", "nurlanoba"], age_today(BORN), date.today())
    assert [row.number for row in db.session.execute(statement)] == [known.number]


# -- the case form ------------------------------------------------------------------------

FORM = {"workflow": "returned-child", "risk_level": "medium", "family_name": "Nurlanova", "given_name": "Aygerim",
        "birth_date": BORN.isoformat(), "sex": "female", "region": "KZ-71", "languages": ["kk", "ru"]}


def case_count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Case))


def checked_value(page: str) -> str:
    return re.search(r'id="checked" name="checked" type="hidden" value="([0-9a-f]+)"', page).group(1)


def test_the_form_shows_the_possible_duplicates_before_it_saves_and_keeps_what_was_typed(client, sign_in, known):
    sign_in("rehab@demo.kz")
    before = case_count()
    response = client.post("/cases/new", data=FORM)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and case_count() == before
    assert "This child may already have a case" in page and f'data-case="{known.number}"' in page
    assert "Astana Family Support Centre (demo)" in page and "Register anyway" in page
    assert 'value="Aygerim"' in page and 'value="Nurlanova"' in page and 'value="2015-03-04"' in page
    ticked = re.findall(r'<input checked class="form-check-input" id="languages-\d" name="languages" '
                        r'type="checkbox" value="(\w+)">', page)
    assert ticked == ["kk", "ru"]
    assert "Нұрланова" not in page and "Айгерім" not in page  # the other file's names stay hidden
    confirmed = client.post("/cases/new", data={**FORM, "checked": checked_value(page)})
    assert confirmed.status_code == 302 and case_count() == before + 1
    case = db.session.scalar(sa.select(Case).order_by(Case.id.desc()).limit(1))
    assert (case.given_name, case.languages, case.registered_by_agency.code) == (
        "Aygerim", ["kk", "ru"], "almaty-rehab-centre")


def test_a_record_changed_after_the_check_is_checked_again(client, sign_in, known):
    sign_in("rehab@demo.kz")
    page = client.post("/cases/new", data=FORM).get_data(as_text=True)
    before = case_count()
    again = client.post("/cases/new", data={**FORM, "given_name": "Aigerm", "checked": checked_value(page)})
    assert again.status_code == 200 and "This child may already have a case" in again.get_data(as_text=True)
    assert case_count() == before


def test_a_child_nobody_knows_is_registered_on_the_first_press(client, sign_in, known):
    sign_in("rehab@demo.kz")
    response = client.post("/cases/new", data={**FORM, "given_name": "Madina", "family_name": "Omarova"})
    assert response.status_code == 302
    checks = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "case.matches")).all()
    assert [entry.detail["count"] for entry in checks] == [0]  # the check ran, and is audited


def test_the_form_asks_the_holding_agency_and_keeps_the_record_for_later(client, sign_in, known):
    sign_in("rehab@demo.kz")
    page = client.post("/cases/new", data=FORM).get_data(as_text=True)
    before = case_count()
    response = client.post("/cases/new", data={**FORM, "checked": checked_value(page), "ask": str(known.id)})
    asked = response.get_data(as_text=True)
    assert response.status_code == 200 and case_count() == before
    assert (f"Astana Family Support Centre (demo) have been asked about case {known.number}" in asked
            and 'value="Aygerim"' in asked and f'data-case="{known.number}"' in asked)
    assert "Asked: they will get in touch with your agency." in asked and f'name="ask" value="{known.id}"' not in asked
    told = db.session.scalars(sa.select(Notification).where(Notification.kind == "case.inquiry")).all()
    assert told and all(n.params == {"case": known.number, "agency": "Almaty Rehabilitation and Adaptation "
                                                                      "Centre (demo)"} for n in told)


def test_the_form_offers_to_open_a_case_the_user_may_open(client, sign_in, known):
    sign_in("social@demo.kz")
    page = client.post("/cases/new", data=FORM).get_data(as_text=True)
    assert f'href="/cases/{known.id}"' in page
    sign_in("rehab@demo.kz")
    page = client.post("/cases/new", data=FORM).get_data(as_text=True)
    assert f'href="/cases/{known.id}"' not in page and "Ask the holding agency" in page


def test_the_form_speaks_russian_and_kazakh(client, sign_in, known):
    sign_in("rehab@demo.kz", locale="ru")
    page = client.post("/cases/new", data=FORM).get_data(as_text=True)
    assert "Возможно, на этого ребёнка уже открыт случай" in page and "Всё равно зарегистрировать" in page
    sign_in("rehab@demo.kz", locale="kk")
    page = client.post("/cases/new", data=FORM).get_data(as_text=True)
    assert "Бұл балаға іс ашылған болуы мүмкін" in page and "Істі жүргізетін ұйымнан сұрау" in page
