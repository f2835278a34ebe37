"""An agency's name in Kazakh and Russian beside its own: the API, the form, the directory file, the command line."""

import io
import json

import pytest
import sqlalchemy as sa
from flask_babel import force_locale
from markupsafe import escape

from referral.audit.models import AuditEntry
from referral.auth.models import User
from referral.cases.models import Case
from referral.cli import cli
from referral.deadlines.calendar import agency_feed
from referral.directory.models import Agency
from referral.extensions import db
from referral.notifications.models import Delivery, Notification
from referral.notifications.service import render
from referral.referrals.models import Referral

KAZAKH = "Астана қаласының № 3 балалар емханасы"
RUSSIAN = "Детская поликлиника № 3 Астаны"


def agency_row(code):
    db.session.expire_all()
    return db.session.scalar(sa.select(Agency).where(Agency.code == code))


def test_the_api_takes_and_gives_the_kazakh_name(client, make_user, token_for):
    headers = token_for(make_user(role="admin"))
    created = client.post("/api/v1/agencies", headers=headers, json={
        "code": "clinic-3", "name": "Children's Clinic No. 3", "name_ru": RUSSIAN, "name_kk": KAZAKH,
        "type": "health", "region": "KZ-71"})
    assert created.status_code == 201, created.json
    assert (created.json["name_ru"], created.json["name_kk"]) == (RUSSIAN, KAZAKH)
    agency_id = created.json["id"]
    assert client.get(f"/api/v1/agencies/{agency_id}", headers=headers).json["name_kk"] == KAZAKH
    # Found by its Kazakh name, too.
    found = client.get("/api/v1/agencies", query_string={"q": "балалар емханасы"}, headers=headers).json
    assert [agency["code"] for agency in found] == ["clinic-3"]

    patched = client.patch(f"/api/v1/agencies/{agency_id}", headers=headers, json={"name_kk": "  "})
    assert patched.status_code == 200 and patched.json["name_kk"] is None
    assert patched.json["name_ru"] == RUSSIAN
    audit = db.session.scalars(sa.select(AuditEntry.detail).where(AuditEntry.action == "agency.update")).one()
    assert audit["changed"] == ["name_kk"]


def test_a_kazakh_name_too_long_is_refused_and_changes_nothing(client, make_user, make_agency, token_for):
    agency = make_agency(code="long-one", name_kk=KAZAKH)
    headers = token_for(make_user(role="admin"))
    response = client.patch(f"/api/v1/agencies/{agency.id}", headers=headers, json={"name_kk": "Ә" * 201})
    assert response.status_code == 422
    assert "name_kk" in json.dumps(response.json["errors"])
    assert agency_row("long-one").name_kk == KAZAKH


def test_the_agency_form_has_the_kazakh_name(client, make_user, login_as):
    login_as(make_user(role="admin"))
    response = client.post("/agencies/new", data={
        "code": "form-clinic", "name": "Form Clinic", "name_ru": RUSSIAN, "name_kk": KAZAKH, "type": "health",
        "region": "KZ-71", "is_active": "y"})
    assert response.status_code == 302
    agency = agency_row("form-clinic")
    assert agency.name_kk == KAZAKH
    form = client.get(f"/agencies/{agency.id}/edit").get_data(as_text=True)
    assert f'value="{KAZAKH}"' in form and "Name in Kazakh" in form
    page = client.get(f"/agencies/{agency.id}").get_data(as_text=True)
    assert "Name in Kazakh" in page and KAZAKH in page
    too_long = client.post(f"/agencies/{agency.id}/edit", data={
        "code": "form-clinic", "name": "Form Clinic", "name_kk": "Ә" * 201, "type": "health", "region": "KZ-71",
        "is_active": "y"})
    assert too_long.status_code == 422 and agency_row("form-clinic").name_kk == KAZAKH


def test_the_directory_file_carries_the_kazakh_name_out_and_in(client, make_user, make_agency, login_as):
    make_agency(code="exported", name_ru=RUSSIAN, name_kk=KAZAKH)
    login_as(make_user(role="admin"))
    document = json.loads(client.get("/agencies/export").get_data())
    exported = next(item for item in document["organizations"] if item["id"] == "exported")
    assert (exported["alternate_name"], exported["x_name_kk"]) == (RUSSIAN, KAZAKH)

    exported["x_name_kk"] = "Жаңа атау"
    document["organizations"] = [exported, {**exported, "id": "imported", "x_name_kk": KAZAKH}]
    response = client.post("/agencies/import", content_type="multipart/form-data", data={
        "file": (io.BytesIO(json.dumps(document).encode()), "agencies.json")})
    assert "1 created, 1 updated, 0 unchanged" in response.get_data(as_text=True)
    assert (agency_row("exported").name_kk, agency_row("imported").name_kk) == ("Жаңа атау", KAZAKH)

    document["organizations"][0]["x_name_kk"] = "Ә" * 201
    refused = client.post("/agencies/import", content_type="multipart/form-data", data={
        "file": (io.BytesIO(json.dumps(document).encode()), "agencies.json")})
    assert refused.status_code == 422 and "organizations[0].x_name_kk" in refused.get_data(as_text=True)
    assert agency_row("exported").name_kk == "Жаңа атау"


def test_the_command_line_creates_exports_and_imports_the_kazakh_name(app, tmp_path):
    runner = app.test_cli_runner()
    result = runner.invoke(cli, ["agencies", "create", "--code", "cli-clinic", "--name", "CLI Clinic",
                                 "--name-ru", RUSSIAN, "--name-kk", KAZAKH, "--type", "health", "--region", "KZ-71"])
    assert result.exit_code == 0, result.output
    assert (agency_row("cli-clinic").name_ru, agency_row("cli-clinic").name_kk) == (RUSSIAN, KAZAKH)
    path = tmp_path / "agencies.json"
    assert runner.invoke(cli, ["agencies", "export", str(path)]).exit_code == 0
    document = json.loads(path.read_text(encoding="utf-8"))
    assert document["organizations"][0]["x_name_kk"] == KAZAKH
    document["organizations"][0]["x_name_kk"] = "Өзгерген атау"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    result = runner.invoke(cli, ["agencies", "import", str(path)])
    assert "0 created, 1 updated, 0 unchanged" in result.output, result.output
    assert agency_row("cli-clinic").name_kk == "Өзгерген атау"


def test_every_demo_agency_has_a_name_in_russian_and_in_kazakh(demo):
    for agency in db.session.scalars(sa.select(Agency)):
        assert agency.name_ru and agency.name_kk, agency.code
        assert any(letter in agency.name_kk for letter in "әғқңөұүһі"), agency.code


# -- every page names agencies in the reader's language ------------------------------------------------

FAMILY = {"en": "Astana Family Support Centre (demo)", "ru": "Центр поддержки семьи Астаны (демо)",
          "kk": "Астана отбасын қолдау орталығы (демо)"}
CLINIC = {"en": "Astana Children's Clinic No. 7 (demo)", "ru": "Детская поликлиника № 7 Астаны (демо)",
          "kk": "Астана қаласының № 7 балалар емханасы (демо)"}
PROSECUTOR = {"en": "Astana Juvenile Justice Office (demo)", "ru": "Ювенальная прокуратура Астаны (демо)",
              "kk": "Астана қаласының ювеналдық прокуратурасы (демо)"}


def demo_case_id(family_name):
    return db.session.scalar(sa.select(Case.id).where(Case.family_name == f"{family_name} (demo)"))


def samplova_screening_id():
    return db.session.scalar(sa.select(Referral.id).where(Referral.case_id == demo_case_id("Samplova"),
                                                          Referral.to_stage == "health-screening"))


def clinic_id():
    return db.session.scalar(sa.select(Agency.id).where(Agency.code == "astana-childrens-clinic"))


#: Each page, who reads it, and the agencies it names.
PAGES = [
    ("home", "social@demo.kz", lambda: "/", [FAMILY]),
    ("profile", "social@demo.kz", lambda: "/profile", [FAMILY]),
    ("inbox", "health@demo.kz", lambda: "/inbox/", [CLINIC, FAMILY]),
    ("referral", "health@demo.kz", lambda: f"/inbox/{samplova_screening_id()}", [FAMILY, CLINIC]),
    ("case summary", "health@demo.kz", lambda: f"/cases/{demo_case_id('Samplova')}", [FAMILY]),
    ("case and timeline", "social@demo.kz", lambda: f"/cases/{demo_case_id('Fictionov')}",
     [FAMILY, CLINIC, PROSECUTOR]),
    ("refer form", "social@demo.kz", lambda: f"/cases/{demo_case_id('Inventova')}", [CLINIC]),
    ("notifications", "social@demo.kz", lambda: "/notifications/", [CLINIC, PROSECUTOR]),
    ("deadlines", "health.supervisor@demo.kz", lambda: "/deadlines/", [CLINIC]),
    ("directory", "social@demo.kz", lambda: "/agencies/", [FAMILY, CLINIC, PROSECUTOR]),
    ("users", "admin@demo.kz", lambda: "/admin/users/", [FAMILY, CLINIC, PROSECUTOR]),
    ("new user form", "admin@demo.kz", lambda: "/admin/users/new", [FAMILY, CLINIC, PROSECUTOR]),
]


@pytest.mark.parametrize("language", ["en", "ru", "kk"])
@pytest.mark.parametrize("page, email, url, named", PAGES, ids=[page[0] for page in PAGES])
def test_each_page_names_agencies_in_the_readers_language(client, demo, sign_in, language, page, email, url,
                                                          named):
    sign_in(email, language)
    response = client.get(url())
    assert response.status_code == 200, response.status_code
    text = response.get_data(as_text=True)
    for names in named:
        assert str(escape(names[language])) in text, (names[language], page)
        for other, name in names.items():
            if other != language:
                assert str(escape(name)) not in text, (name, page)


def test_the_agency_page_is_headed_in_the_readers_language_and_lists_every_name(client, demo, sign_in):
    sign_in("social@demo.kz", "kk")
    text = client.get(f"/agencies/{clinic_id()}").get_data(as_text=True)
    assert f"<h1 class=\"h3 mb-0\">{CLINIC['kk']}" in text
    assert all(str(escape(name)) in text for name in CLINIC.values())


def test_a_notification_names_the_agency_in_the_language_of_whoever_reads_it_later(client, demo, sign_in):
    referral_id = samplova_screening_id()
    sign_in("health@demo.kz", "ru")  # the clinic acts in Russian; the sender reads in Kazakh, English, Russian
    version = db.session.get(Referral, referral_id).version
    client.post(f"/inbox/{referral_id}/accept", data={"version": version})
    social = db.session.scalar(sa.select(User.id).where(User.email == "social@demo.kz"))
    [accepted] = db.session.scalars(sa.select(Notification).where(
        Notification.kind == "referral.accepted", Notification.referral_id == referral_id,
        Notification.user_id == social))
    assert (accepted.params["agency"], accepted.params["agency_ru"], accepted.params["agency_kk"]) == (
        CLINIC["en"], CLINIC["ru"], CLINIC["kk"])
    for language in ("kk", "en", "ru"):
        with force_locale(language):
            assert CLINIC[language] in render(accepted)


def test_a_notification_written_before_the_kazakh_names_reads_the_agencys_own_name(app):
    old = Notification(kind="referral.accepted", params={"case": "KZ-1", "stage": "Health screening",
                                                         "agency": "Clinic"})
    with force_locale("kk"):
        assert "Clinic" in render(old)


def test_an_email_names_the_agency_in_the_recipients_language(app, client, demo, sign_in):
    app.config["REFERRAL_SMTP_URL"] = "smtp://127.0.0.1:2525"
    for email, locale in (("social@demo.kz", "kk"), ("supervisor@demo.kz", "ru")):
        db.session.scalar(sa.select(User).where(User.email == email)).locale = locale
    db.session.commit()
    referral_id = samplova_screening_id()
    sign_in("health@demo.kz", "en")
    client.post(f"/inbox/{referral_id}/accept", data={"version": db.session.get(Referral, referral_id).version})
    bodies = {delivery.user.email: delivery.payload["body"]
              for delivery in db.session.scalars(sa.select(Delivery).where(Delivery.channel == "email"))}
    assert CLINIC["kk"] in bodies["social@demo.kz"] and CLINIC["ru"] in bodies["supervisor@demo.kz"]


def test_the_calendar_feed_is_titled_with_the_agency_name_in_the_users_language(app, demo):
    feed = agency_feed(clinic_id(), "https://referral.example.kz", "kk").decode()
    assert "Астана қаласының № 7 балалар емханасы" in feed.replace("\r\n ", "")


def test_the_users_list_is_searched_by_the_agency_name(client, demo, sign_in):
    sign_in("admin@demo.kz", "en")
    text = client.get("/admin/users/", query_string={"q": "clinic no. 7"}).get_data(as_text=True)
    assert "Nurse Demo-Health" in text and "Doctor Demo-Supervisor" in text and "Timur Social-Worker" not in text
