"""An agency's name in Kazakh and Russian beside its own: the API, the form, the directory file, the command line."""

import io
import json

import sqlalchemy as sa

from referral.audit.models import AuditEntry
from referral.cli import cli
from referral.directory.models import Agency
from referral.extensions import db

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
