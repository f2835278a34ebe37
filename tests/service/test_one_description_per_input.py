"""One schema per input: the API, the web form and the CLI refuse the same values with the same messages."""

import html
import json
import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from referral.auth.models import User
from referral.cases.models import Case, Consent, Interview
from referral.cases.schemas import CaseCreateSchema, ConsentCreateSchema, InterviewCreateSchema
from referral.cli import cli
from referral.extensions import db
from referral.web.forms import SchemaForm

CHILD = {"given_name": "Alua", "family_name": "Schemova", "sex": "female", "region": "KZ-71",
         "birth_date": "2015-02-03"}
FORM = {"workflow": "returned-child", "risk_level": "high", **CHILD}


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def field_messages(page: str, field: str) -> str:
    """Return the invalid-feedback text Bootstrap-Flask draws under a field."""
    start = page.index(f'id="{field}"')
    return html.unescape(page[start:page.index("</div>", page.index("invalid-feedback", start))])


@pytest.mark.parametrize("change, field, message", [
    ({"birth_date": "1990-06-15"}, "birth_date", "older than 24 years"),
    ({"birth_date": (date.today() + timedelta(days=3)).isoformat()}, "birth_date", "cannot be in the future"),
    ({"given_name": "   "}, "given_name", "This field is required."),
    ({"family_name": "x" * 101}, "family_name", "At most 100 characters."),
    ({"region": "KZ-99"}, "region", "Kazakhstan's regions"),
    ({"sex": "x"}, "sex", "Choose female, male or unknown."),
])
def test_the_api_and_the_form_refuse_a_child_with_the_same_message(demo, api, sign_in, client, change, field,
                                                                    message):
    before = count(Case)
    response = api("social@demo.kz", "POST", "/api/v1/cases", json={
        "workflow": "returned-child", "risk_level": "high", "child": {**CHILD, **change}})
    assert response.status_code == 422
    # The field's messages are where a service would put them, and under webargs' location too.
    assert any(message in text for text in response.json["errors"]["child"][field])
    assert response.json["errors"]["json"]["child"][field] == response.json["errors"]["child"][field]

    sign_in("social@demo.kz")
    page = client.post("/cases/new", data={**FORM, **change})
    assert page.status_code == 422
    assert message in field_messages(page.get_data(as_text=True), field)
    assert count(Case) == before


def test_the_form_speaks_the_readers_language(demo, sign_in, client):
    sign_in("social@demo.kz", locale="ru")
    page = client.post("/cases/new", data={**FORM, "given_name": "", "estimated_age": "много", "birth_date": ""})
    text = page.get_data(as_text=True)
    assert page.status_code == 422
    assert "Это поле обязательно." in field_messages(text, "given_name")
    assert "Нужно целое число." in field_messages(text, "estimated_age")
    assert "Missing data" not in text and "Not a valid" not in text


def control(page: str, name: str) -> str:
    """Return the opening tag of the input or select named ``name``."""
    return re.search(rf'<(?:input|select|textarea)[^>]*name="{name}"[^>]*>', page).group(0)


def test_the_form_marks_what_the_schema_requires(demo, sign_in, client):
    sign_in("social@demo.kz")
    page = client.get("/cases/new").get_data(as_text=True)
    child = CaseCreateSchema().fields["child"].schema.fields
    for name in ("given_name", "family_name", "sex", "region", "birth_date", "patronymic"):
        assert (" required" in control(page, name)) is child[name].required, name
    assert 'maxlength="100"' in control(page, "family_name")  # the names' length comes from the schema
    assert page.count('class="mb-3 required"') >= 4  # the * of the legend


def test_a_consent_from_the_api_and_the_form_is_one_record(demo, api, sign_in, client):
    case = db.session.scalar(sa.select(Case).where(Case.family_name == "Samplova (demo)"))
    body = {"given_by": "  Aunt Dana  ", "relationship_to_child": "aunt", "agency_types": ["health", "health"],
            "given_on": date.today().isoformat()}
    through_api = api("social@demo.kz", "POST", f"/api/v1/cases/{case.id}/consents", json=body)
    assert through_api.status_code == 201
    sign_in("social@demo.kz")
    posted = client.post(f"/cases/{case.id}/consents", data=body)
    assert posted.status_code == 302
    made = db.session.scalars(sa.select(Consent).where(Consent.case_id == case.id, Consent.given_by == "Aunt Dana"))
    assert [(c.given_by, c.agency_types) for c in made] == [("Aunt Dana", ["health"])] * 2

    before = count(Consent)
    late = {**body, "expires_on": (date.today() - timedelta(days=1)).isoformat()}
    assert api("social@demo.kz", "POST", f"/api/v1/cases/{case.id}/consents", json=late).json[
        "errors"]["expires_on"] == ["The consent cannot expire before it was given."]
    refused = client.post(f"/cases/{case.id}/consents", data={**late, "agency_types": ["police"]})
    assert refused.status_code == 422
    text = refused.get_data(as_text=True)
    assert "The consent cannot expire before it was given." in text and "Choose one of the agency types." in text
    assert count(Consent) == before


def test_an_interview_from_the_form_is_checked_by_the_api_schema(demo, sign_in, client):
    case = db.session.scalar(sa.select(Case).where(Case.family_name == "Samplova (demo)"))
    sign_in("social@demo.kz")
    before = count(Interview)
    response = client.post(f"/cases/{case.id}/interviews", data={
        "kind": "interview", "topic": "Family", "held_on": "2020-02-30", "summary": "  ", "shared_with": ["health"]})
    text = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Not a valid date: use the form YYYY-MM-DD." in text
    assert "Write down what the next agency needs to know" in text
    assert count(Interview) == before


def test_a_user_from_the_admin_form_and_the_cli_is_checked_by_one_schema(demo, sign_in, client, runner):
    sign_in("admin@demo.kz")
    bad = {"email": "not-an-address", "name": " ", "agency": "astana-childrens-clinic", "role": "boss",
           "locale": "en", "is_active": "y"}
    response = client.post("/admin/users/new", data=bad)
    text = response.get_data(as_text=True)
    assert response.status_code == 422
    for message in ("Enter a valid e-mail address.", "Enter a name.", "Choose one of: staff, supervisor"):
        assert message in text
    result = runner.invoke(cli, ["users", "create", "--email", "not-an-address", "--name", "X",
                                 "--agency", "astana-childrens-clinic", "--role", "staff", "--password",
                                 "correct horse battery staple"])
    assert result.exit_code == 1 and "Enter a valid e-mail address." in result.stderr
    assert db.session.scalar(sa.select(User).where(User.email == "not-an-address")) is None

    # An unticked box means no; an empty password keeps none; the e-mail is kept lower-case and trimmed.
    response = client.post("/admin/users/new", data={**bad, "email": "  New.Nurse@Demo.kz ", "name": "New Nurse",
                                                      "role": "staff", "is_active": None, "password": ""})
    assert response.status_code == 302
    user = db.session.scalar(sa.select(User).where(User.email == "new.nurse@demo.kz"))
    assert user is not None and not user.is_active_account and user.password_hash is None


def test_every_input_form_draws_a_schema():
    from referral.auth.forms import UserForm
    from referral.cases.forms import CaseForm, ConsentForm, InterviewForm

    schemas = {CaseForm: CaseCreateSchema, ConsentForm: ConsentCreateSchema, InterviewForm: InterviewCreateSchema}
    for form, schema in schemas.items():
        assert issubclass(form, SchemaForm) and isinstance(form.schema, schema)
    assert issubclass(UserForm, SchemaForm)


AGENCY = {"code": "new-clinic", "name": "New Clinic", "type": "health", "region": "KZ-71"}


@pytest.mark.parametrize("change, field, message", [
    ({"code": "New Clinic"}, "code", "Use lower-case letters, digits and hyphens only."),
    ({"name": "x" * 201}, "name", "Must be at most 200 characters long."),
    ({"region": "KZ-99"}, "region", "Choose a region of Kazakhstan (ISO 3166-2:KZ code)."),
    ({"type": "police"}, "type", "Choose one of the agency types."),
    ({"email": "not-an-address"}, "email", "Not a valid e-mail address."),
])
def test_an_agency_from_the_api_the_form_and_a_directory_file_is_checked_by_one_schema(
        demo, api, sign_in, client, runner, tmp_path, change, field, message):
    from referral.directory.models import Agency

    before = count(Agency)
    response = api("admin@demo.kz", "POST", "/api/v1/agencies", json={**AGENCY, **change})
    assert response.status_code == 422
    assert response.json["errors"][field] == [message]

    sign_in("admin@demo.kz")
    page = client.post("/agencies/new", data={**AGENCY, **change, "is_active": "y"})
    assert page.status_code == 422
    assert message in html.unescape(page.get_data(as_text=True))

    # A directory file's record goes through the same schema once the file's own format is right.
    record = {"id": AGENCY["code"], "name": AGENCY["name"], "x_agency_type": AGENCY["type"],
              "locations": [{"x_region": AGENCY["region"]}]}
    if field == "region":
        record["locations"][0]["x_region"] = change[field]
    else:
        record[{"code": "id", "type": "x_agency_type"}.get(field, field)] = change[field]
    file = tmp_path / "agencies.json"
    file.write_text(json.dumps({"organizations": [record]}), encoding="utf-8")
    result = runner.invoke(cli, ["agencies", "import", str(file)])
    assert result.exit_code == 1
    if field == "name":
        assert "organizations[0].name: Must be at most 200 characters long." in result.stderr
    assert count(Agency) == before


def test_the_agency_form_draws_the_schema_and_an_edit_clears_what_is_emptied(demo, sign_in, client):
    from referral.directory.forms import AgencyForm
    from referral.directory.models import Agency
    from referral.directory.schemas import AgencyCreateSchema

    assert issubclass(AgencyForm, SchemaForm) and isinstance(AgencyForm.schema, AgencyCreateSchema)
    sign_in("admin@demo.kz")
    page = client.get("/agencies/new").get_data(as_text=True)
    assert re.search(r'id="name"[^>]*maxlength="200"|maxlength="200"[^>]*id="name"', page)
    clinic = db.session.scalar(sa.select(Agency).where(Agency.code == "astana-childrens-clinic"))
    assert clinic.district
    response = client.post(f"/agencies/{clinic.id}/edit", data={
        "code": clinic.code, "name": " Renamed Clinic ", "type": "health", "region": clinic.region, "district": "",
        "services": "Screening\nVaccination", "is_active": "y"})
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.expire_all()
    clinic = db.session.get(Agency, clinic.id)
    assert clinic.name == "Renamed Clinic" and clinic.district is None
    assert [service["name"] for service in clinic.services] == ["Screening", "Vaccination"]
    # A code posted in place of the agency's own is refused, not taken.
    response = client.post(f"/agencies/{clinic.id}/edit", data={
        "code": "other-code", "name": "X", "type": "health", "region": clinic.region, "is_active": "y"})
    assert response.status_code == 422
    db.session.expire_all()
    assert db.session.get(Agency, clinic.id).code == "astana-childrens-clinic"
