"""The agency directory: web pages, API, import and export."""

import io
import json

import pytest
import sqlalchemy as sa

from referral.actors import Actor
from referral.audit.models import AuditEntry
from referral.directory import service as directory
from referral.directory.models import Agency
from referral.errors import Forbidden
from referral.extensions import db


def organization(code, **changes):
    data = {
        "id": code, "name": f"Agency {code}", "alternate_name": f"Агентство {code}",
        "x_agency_type": "health", "active": True, "email": f"{code}@example.kz",
        "phones": [{"number": "+7 7172 000 000"}],
        "locations": [{"address_1": "1 Example Street", "city": "Astana", "x_region": "KZ-71",
                       "x_district": "Yesil"}],
        "services": [{"name": "Health screening", "description": "Within three days."}],
        "contacts": [{"name": "Duty doctor", "title": "Paediatrician"}],
    }
    data.update(changes)
    return data


def document(*organizations):
    return {"format": "hsds-referral-directory", "version": 1, "organizations": list(organizations)}


def snapshot():
    rows = db.session.execute(sa.select(Agency.code, Agency.name, Agency.region, Agency.is_active)
                              .order_by(Agency.code)).all()
    return [tuple(row) for row in rows]


def audit_count():
    return db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry))


# -- web pages ------------------------------------------------------------------

def test_any_user_lists_searches_and_filters_agencies(client, make_user, make_agency, login_as):
    make_agency(type="health", region="KZ-75", name="Sunrise Clinic")
    make_agency(type="education", region="KZ-71", name="School Forty")
    make_agency(type="health", region="KZ-71", name="Closed Clinic", is_active=False)
    login_as(make_user(role="staff"))
    page = client.get("/agencies/").get_data(as_text=True)
    assert "Sunrise Clinic" in page and "School Forty" in page and "Closed Clinic" not in page
    page = client.get("/agencies/", query_string={"type": "health"}).get_data(as_text=True)
    assert "Sunrise Clinic" in page and "School Forty" not in page
    page = client.get("/agencies/", query_string={"region": "KZ-71", "state": "all"}).get_data(as_text=True)
    assert "School Forty" in page and "Closed Clinic" in page and "Sunrise Clinic" not in page
    page = client.get("/agencies/", query_string={"q": "sunrise"}).get_data(as_text=True)
    assert "Sunrise Clinic" in page and "School Forty" not in page


def test_admin_creates_edits_and_deactivates_an_agency(client, make_user, login_as):
    admin = make_user(role="admin")
    login_as(admin)
    response = client.post("/agencies/new", data={
        "code": "new-clinic", "name": "New Clinic", "type": "health", "region": "KZ-47",
        "services": "Screening\nVaccination", "is_active": "y"})
    assert response.status_code == 302
    agency = db.session.scalar(sa.select(Agency).where(Agency.code == "new-clinic"))
    assert agency.region == "KZ-47" and [s["name"] for s in agency.services] == ["Screening", "Vaccination"]

    response = client.post(f"/agencies/{agency.id}/edit", data={
        "code": "new-clinic", "name": "Renamed Clinic", "type": "health", "region": "KZ-47",
        "services": "Screening", "is_active": "y"})
    assert response.status_code == 302
    assert client.post(f"/agencies/{agency.id}/active", data={"is_active": "0"}).status_code == 302
    db.session.refresh(agency)
    assert agency.name == "Renamed Clinic" and not agency.is_active
    actions = db.session.scalars(sa.select(AuditEntry.action).where(
        AuditEntry.object_type == "agency", AuditEntry.object_id == str(agency.id)).order_by(AuditEntry.id)).all()
    assert actions == ["agency.create", "agency.update", "agency.deactivate"]


def test_bad_agency_form_changes_nothing(client, make_user, login_as):
    login_as(make_user(role="admin"))
    before = snapshot()
    response = client.post("/agencies/new", data={"code": "Bad Code!", "name": "", "type": "health",
                                                  "region": "KZ-71"})
    assert response.status_code == 422
    assert "lower-case letters" in response.get_data(as_text=True)
    assert snapshot() == before


def test_users_of_a_deactivated_agency_cannot_sign_in(client, make_user, make_agency):
    agency = make_agency()
    user = make_user(agency=agency)
    agency.is_active = False
    db.session.commit()
    assert client.post("/login", data={"email": user.email, "password": "correct horse battery"}).status_code == 401


# -- API --------------------------------------------------------------------------

def test_api_lists_agencies_with_pagination_and_filters(client, make_user, make_agency, token_for):
    for _ in range(5):
        make_agency(type="health", region="KZ-75")
    make_agency(type="justice", region="KZ-71")
    headers = token_for(make_user())
    response = client.get("/api/v1/agencies", query_string={"per_page": 2, "page": 2}, headers=headers)
    assert response.status_code == 200
    assert len(response.json) == 2
    meta = json.loads(response.headers["X-Pagination"])
    assert meta["total"] == 7 and meta["total_pages"] == 4 and meta["page"] == 2  # 6 made + the user's agency
    justice = client.get("/api/v1/agencies", query_string={"type": "justice"}, headers=headers).json
    assert [a["type"] for a in justice] == ["justice"]
    too_big = client.get("/api/v1/agencies", query_string={"per_page": 201}, headers=headers)
    assert too_big.status_code == 422
    assert too_big.json["code"] == 422 and "per_page" in json.dumps(too_big.json["errors"])


def test_api_admin_creates_and_patches_an_agency(client, make_user, token_for):
    headers = token_for(make_user(role="admin"))
    response = client.post("/api/v1/agencies", headers=headers, json={
        "code": "api-school", "name": "API School", "type": "education", "region": "KZ-79",
        "services": [{"name": "Enrolment"}]})
    assert response.status_code == 201, response.json
    body = response.json
    assert body["code"] == "api-school" and body["is_active"] is True and body["services"] == [{"name": "Enrolment"}]
    patched = client.patch(f"/api/v1/agencies/{body['id']}", headers=headers, json={"is_active": False})
    assert patched.status_code == 200 and patched.json["is_active"] is False
    assert client.get(f"/api/v1/agencies/{body['id']}", headers=headers).json["is_active"] is False


@pytest.mark.parametrize("body, field", [
    ({"code": "Bad Code", "name": "X", "type": "health", "region": "KZ-71"}, "code"),
    ({"code": "ok-code", "name": "X", "type": "hospital", "region": "KZ-71"}, "type"),
    ({"code": "ok-code", "name": "X", "type": "health", "region": "KZ-99"}, "region"),
    ({"code": "ok-code", "type": "health", "region": "KZ-71"}, "name"),
    ({"code": "ok-code", "name": "X", "type": "health", "region": "KZ-71", "colour": "red"}, "colour"),
])
def test_api_bad_agency_is_422_and_changes_nothing(client, make_user, token_for, body, field):
    headers = token_for(make_user(role="admin"))
    before = snapshot()
    response = client.post("/api/v1/agencies", headers=headers, json=body)
    assert response.status_code == 422
    assert set(response.json) >= {"code", "status", "message", "errors"}
    assert field in json.dumps(response.json["errors"])
    assert snapshot() == before


def test_api_duplicate_code_is_409(client, make_user, make_agency, token_for):
    make_agency(code="taken")
    headers = token_for(make_user(role="admin"))
    response = client.post("/api/v1/agencies", headers=headers,
                           json={"code": "taken", "name": "X", "type": "health", "region": "KZ-71"})
    assert response.status_code == 409
    assert response.json["errors"]["code"]


def test_api_code_cannot_change(client, make_user, make_agency, token_for):
    agency = make_agency(code="fixed")
    headers = token_for(make_user(role="admin"))
    response = client.patch(f"/api/v1/agencies/{agency.id}", headers=headers, json={"code": "other"})
    assert response.status_code == 422
    db.session.refresh(agency)
    assert agency.code == "fixed"


def test_api_staff_cannot_write_agencies(client, make_user, make_agency, token_for):
    agency = make_agency()
    headers = token_for(make_user(role="staff"))
    created = client.post("/api/v1/agencies", headers=headers,
                          json={"code": "x", "name": "X", "type": "health", "region": "KZ-71"})
    assert created.status_code == 403
    assert client.patch(f"/api/v1/agencies/{agency.id}", headers=headers, json={"name": "Y"}).status_code == 403


def test_api_unknown_agency_is_404_in_the_error_shape(client, make_user, token_for):
    response = client.get("/api/v1/agencies/99999", headers=token_for(make_user()))
    assert response.status_code == 404
    assert response.json["code"] == 404 and response.json["status"] == "Not Found" and response.json["message"]


# -- import and export -------------------------------------------------------------

def upload(client, data: bytes):
    return client.post("/agencies/import", data={"file": (io.BytesIO(data), "agencies.json")},
                       content_type="multipart/form-data")


def test_good_file_imports_and_reimport_is_idempotent(client, make_user, login_as):
    login_as(make_user(role="admin"))
    payload = json.dumps(document(organization("clinic-a"),
                                  organization("school-b", x_agency_type="education"))).encode()
    response = upload(client, payload)
    assert response.status_code == 200
    assert "2 created, 0 updated, 0 unchanged" in response.get_data(as_text=True)
    agency = db.session.scalar(sa.select(Agency).where(Agency.code == "clinic-a"))
    assert agency.name_ru == "Агентство clinic-a" and agency.district == "Yesil" and agency.city == "Astana"
    assert agency.contacts == [{"name": "Duty doctor", "title": "Paediatrician"}]
    before, audits = snapshot(), audit_count()
    again = upload(client, payload)
    assert "0 created, 0 updated, 2 unchanged" in again.get_data(as_text=True)
    assert snapshot() == before
    assert audit_count() == audits + 1  # only the import itself is recorded


def test_bad_file_changes_nothing_and_reports_every_error(client, make_user, login_as):
    login_as(make_user(role="admin"))
    before, audits = snapshot(), audit_count()
    bad = document(
        organization("good-one"),
        organization("Bad Code", x_agency_type="hospital"),
        organization("third", locations=[{"x_region": "KZ-00"}]),
    )
    response = upload(client, json.dumps(bad).encode())
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    for path in ("organizations[1].id", "organizations[1].x_agency_type", "organizations[2].locations[0].x_region"):
        assert path in page
    assert "nothing has changed" in page
    assert snapshot() == before and audit_count() == audits


def test_malformed_json_is_reported(client, make_user, login_as):
    login_as(make_user(role="admin"))
    response = upload(client, b'{"format": "hsds-referral-directory", "organizations": [')
    assert response.status_code == 422
    assert "line 1" in response.get_data(as_text=True)


def test_export_then_import_round_trips(client, make_user, make_agency, login_as):
    make_agency(type="civil_society", region="KZ-61", code="ngo-one", services=[{"name": "Mentoring"}],
                contacts=[{"name": "Desk", "phone": "+7 700 000 0000"}])
    login_as(make_user(role="admin"))
    exported = client.get("/agencies/export")
    assert exported.status_code == 200
    assert "attachment" in exported.headers["Content-Disposition"]
    data = exported.get_data()
    assert json.loads(data)["format"] == "hsds-referral-directory"
    response = upload(client, data)
    assert "0 created, 0 updated" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(AuditEntry.id).where(AuditEntry.action == "directory.export"))


@pytest.mark.parametrize("role", ["staff", "supervisor", "coordinator"])
def test_the_service_itself_refuses_agency_changes_to_roles_that_may_not_make_them(app, make_user, make_agency, role):
    actor = Actor.of(make_user(role=role))
    agency = make_agency(code="kept-as-is", name="Kept as is")
    with pytest.raises(Forbidden):
        directory.create_agency({"code": "new-one", "name": "New", "type": "health", "region": "KZ-71"}, actor)
    with pytest.raises(Forbidden):
        directory.update_agency(agency.id, {"name": "Renamed"}, actor)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Agency)) == 2  # the two made above
    assert db.session.get(Agency, agency.id).name == "Kept as is"
