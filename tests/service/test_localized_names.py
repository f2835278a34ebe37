"""Stage names and route labels in the reader's language, where the workflow gives them (name_ru, label_kk...)."""

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from referral.actors import Actor
from referral.auth.models import User
from referral.cases.models import Case
from referral.designer import editing
from referral.designer import service as designer
from referral.extensions import db
from referral.notifications.models import Delivery, Notification
from referral.notifications.service import render, stage_params
from referral.referrals.models import Referral
from workflows import TRANSLATED_LANGUAGES
from workflows.library import load_default_workflow

REGISTRATION = {"en": "Registration and guardian identification",
                "ru": "Регистрация и установление законного представителя", "kk": "Тіркеу және заңды өкілді анықтау"}
HEALTH = {"en": "Health screening", "ru": "Медицинский осмотр", "kk": "Медициналық тексеру"}
ASSESSMENT = {"en": "Joint initial assessment", "ru": "Совместная первичная оценка",
              "kk": "Бірлескен бастапқы бағалау"}
START_ASSESSMENT = {"en": "Start the joint initial assessment", "ru": "Начать совместную первичную оценку",
                    "kk": "Бірлескен бастапқы бағалауды бастау"}
WORKFLOW = {"en": "Returned child — rehabilitation and reintegration",
            "ru": "Возвращённый ребёнок — реабилитация и реинтеграция",
            "kk": "Оралған бала — оңалту және реинтеграция"}


def text_of(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def demo_case(family_name: str) -> Case:
    return db.session.scalar(sa.select(Case).where(Case.family_name == f"{family_name} (demo)"))


def screening_of(case: Case) -> Referral:
    return db.session.scalar(sa.select(Referral).where(Referral.case_id == case.id,
                                                       Referral.to_stage == "health-screening"))


def user(email: str) -> User:
    return db.session.scalar(sa.select(User).where(User.email == email))


def others(language: str, names: dict) -> list[str]:
    return [name for other, name in names.items() if other != language]


@pytest.mark.parametrize("language", ["en", "ru", "kk"])
def test_the_case_page_names_stages_routes_and_workflow_in_the_readers_language(client, demo, sign_in, language):
    case = demo_case("Samplova")
    sign_in("social@demo.kz", language)
    page = text_of(client.get(f"/cases/{case.id}"))
    assert f'active-stage">{REGISTRATION[language]}</span>' in page
    for names in (REGISTRATION, HEALTH, ASSESSMENT, START_ASSESSMENT, WORKFLOW):
        assert names[language] in page
        assert not any(other in page for other in others(language, names)), names
    assert 'data-stage="health-screening"' in page  # keys stay keys


@pytest.mark.parametrize("language", ["en", "ru", "kk"])
def test_the_inbox_names_stages_in_the_readers_language(client, demo, sign_in, language):
    referral = screening_of(demo_case("Samplova"))
    sign_in("health@demo.kz", language)
    for page in (text_of(client.get("/inbox/")), text_of(client.get(f"/inbox/{referral.id}"))):
        assert HEALTH[language] in page
        assert not any(other in page for other in others(language, HEALTH))


def test_a_russian_reader_sees_russian_stage_names_in_notifications(client, demo, sign_in):
    referral = screening_of(demo_case("Samplova"))
    sign_in("health@demo.kz")
    client.post(f"/inbox/{referral.id}/accept", data={"version": referral.version})
    [accepted] = db.session.scalars(sa.select(Notification).where(
        Notification.kind == "referral.accepted", Notification.referral_id == referral.id,
        Notification.user_id == user("social@demo.kz").id))
    assert accepted.params["stage"] == HEALTH["en"]
    assert (accepted.params["stage_ru"], accepted.params["stage_kk"]) == (HEALTH["ru"], HEALTH["kk"])

    sign_in("social@demo.kz", "ru")
    page = text_of(client.get("/notifications/"))
    assert f"«{HEALTH['ru']}»" in page and HEALTH["en"] not in page
    sign_in("social@demo.kz", "kk")
    assert f"«{HEALTH['kk']}»" in text_of(client.get("/notifications/"))
    sign_in("social@demo.kz", "en")
    assert f"“{HEALTH['en']}”" in text_of(client.get("/notifications/"))


def test_an_email_names_the_stage_in_the_recipients_language(app, client, demo, sign_in):
    app.config["REFERRAL_SMTP_URL"] = "smtp://127.0.0.1:2525"
    user("social@demo.kz").locale = "kk"
    user("supervisor@demo.kz").locale = "ru"
    db.session.commit()
    referral = screening_of(demo_case("Samplova"))
    sign_in("health@demo.kz")
    client.post(f"/inbox/{referral.id}/accept", data={"version": referral.version})
    bodies = {delivery.user_id: delivery.payload["body"]
              for delivery in db.session.scalars(sa.select(Delivery).where(Delivery.channel == "email"))}
    assert HEALTH["kk"] in bodies[user("social@demo.kz").id]
    assert HEALTH["ru"] in bodies[user("supervisor@demo.kz").id]


def test_a_notification_written_before_the_translations_reads_the_english_name(app):
    notification = Notification(kind="referral.completed",
                                params={"case": "KZ-1", "stage": "Health screening", "agency": "Clinic"})
    with force_locale("ru"):
        assert "«Health screening»" in render(notification)


def test_the_deadlines_page_names_stages_in_the_readers_language(client, demo, sign_in):
    sign_in("health.supervisor@demo.kz", "kk")
    page = text_of(client.get("/deadlines/"))
    assert HEALTH["kk"] in page and HEALTH["en"] not in page


def test_the_picture_draws_names_in_the_readers_language_and_the_editor_edits_english(client, demo, sign_in):
    sign_in("coordinator@demo.kz", "ru")
    page = text_of(client.get("/designer/returned-child"))
    assert HEALTH["ru"] in page and START_ASSESSMENT["ru"] in page
    assert ">health-screening</tspan>" in page  # the key under the name stays the key
    editor = text_of(client.get("/designer/returned-child/edit"))
    assert f'value="{HEALTH["en"]}"' in editor


def test_the_api_keeps_english_names_and_adds_the_translations(client, demo, sign_in, token_for):
    case = demo_case("Samplova")
    routes = client.get(f"/api/v1/cases/{case.id}/routes", headers=token_for(user("social@demo.kz"))).json
    [route] = [route for route in routes if route["to_stage"] == "initial-assessment"]
    assert (route["name"], route["name_ru"], route["name_kk"]) == (ASSESSMENT["en"], ASSESSMENT["ru"], ASSESSMENT["kk"])
    assert route["label"] == START_ASSESSMENT["en"]


def _without_translations(document: dict) -> dict:
    keys = {f"{field}_{language}" for field in ("name", "label") for language in TRANSLATED_LANGUAGES}
    strip = lambda item: {key: value for key, value in item.items() if key not in keys}  # noqa: E731
    return {**strip(document), "key": "plain-child", "stages": [strip(stage) for stage in document["stages"]],
            "transitions": [strip(transition) for transition in document["transitions"]]}


@pytest.fixture
def plain_workflow(demo):
    coordinator = Actor.of(user("coordinator@demo.kz"))
    designer.save_draft(_without_translations(load_default_workflow().to_document()), coordinator)
    designer.publish("plain-child", coordinator)
    db.session.commit()


@pytest.mark.parametrize("language", ["en", "ru", "kk"])
def test_a_workflow_without_translations_reads_english_in_every_language(client, plain_workflow, sign_in,
                                                                         language):
    sign_in("social@demo.kz", language)
    form = text_of(client.get("/cases/new"))
    assert f'<option value="plain-child">{WORKFLOW["en"]}</option>' in form
    assert f'<option value="returned-child">{WORKFLOW[language]}</option>' in form
    response = client.post("/cases/new", data={
        "workflow": "plain-child", "risk_level": "high", "given_name": "Aigerim", "family_name": "Plainova",
        "patronymic": "", "birth_date": "2015-02-03", "estimated_age": "", "sex": "female", "region": "KZ-71",
        "languages": ["kk"]})
    assert response.status_code == 302
    case = db.session.scalar(sa.select(Case).where(Case.family_name == "Plainova"))
    page = text_of(client.get(f"/cases/{case.id}"))
    assert WORKFLOW["en"] in page and START_ASSESSMENT["en"] in page and ASSESSMENT["en"] in page
    assert not any(name in page for name in others("en", ASSESSMENT) + others("en", START_ASSESSMENT))
    definition = designer.published_definition(designer.latest_version("plain-child"))
    assert stage_params(definition.stage("health-screening")) == {"stage": HEALTH["en"],
                                                                  "stage_key": "health-screening"}


def test_the_editor_tables_keep_translations_beside_the_names_they_translate(app):
    document = {"key": "t", "name": "T", "stages": [{"key": "a", "name": "A", "agency_type": "social",
                                                     "clinic_form": "F-1", "name_ru": "А"}],
                "transitions": [{"from": "a", "to": "a", "note": "n", "label": "L", "label_kk": "Л"}], "name_kk": "Т"}
    rows = editing.table_rows(document)
    back = editing.document_from_form({
        "key": "t", "name": "T", "rest": rows["rest"],
        "stage-0-key": "a", "stage-0-name": "A", "stage-0-agency_type": "social",
        "stage-0-rest": rows["stages"][0]["rest"],
        "transition-0-from": "a", "transition-0-to": "a", "transition-0-label": "L",
        "transition-0-rest": rows["transitions"][0]["rest"]})
    assert back == document
    assert list(back) == ["key", "name", "name_kk", "stages", "transitions"]
    assert list(back["stages"][0]) == ["key", "name", "name_ru", "agency_type", "clinic_form"]
    assert list(back["transitions"][0]) == ["from", "to", "label", "label_kk", "note"]
