"""Correcting the child's record (DESIGN §12): who may, the version, the timeline naming fields, never values."""

import json
from datetime import date, timedelta

import sqlalchemy as sa

from referral.audit.models import AuditEntry
from referral.cases.models import Case, Event
from referral.extensions import db
from referral.referrals.models import Referral

CHILD = {"given_name": "Aigerim", "family_name": "Nurlanova", "sex": "female", "region": "KZ-71",
         "birth_date": "2014-05-06"}


def register(api, **child) -> dict:
    response = api("social@demo.kz", "POST", "/api/v1/cases", json={
        "workflow": "returned-child", "risk_level": "medium", "child": {**CHILD, **child}})
    assert response.status_code == 201, response.json
    return response.json


def events(case_id: int, kind: str) -> list[Event]:
    return list(db.session.scalars(sa.select(Event).where(Event.case_id == case_id, Event.kind == kind)))


def test_the_holding_agency_corrects_the_child_and_the_timeline_names_only_the_fields(demo, api):
    case = register(api, guardians=[{"name": "Dana Nurlanova", "relationship": "aunt", "phone": "+7 701 000 0000"}])
    assert case["version"] == 1 and case["child"]["guardians"][0]["relationship"] == "aunt"
    response = api("social@demo.kz", "PATCH", f"/api/v1/cases/{case['id']}", json={
        "version": 1, "child": {"given_name": "Aygerim", "settlement": "Kosshy", "returned_on": "2025-03-01",
                                "sex": "female"}})
    assert response.status_code == 200, response.json
    body = response.json
    assert body["version"] == 2
    assert (body["child"]["given_name"], body["child"]["settlement"], body["child"]["returned_on"]) == \
        ("Aygerim", "Kosshy", "2025-03-01")
    assert body["child"]["family_name"] == "Nurlanova"  # a field not named is left as it was

    [event] = events(case["id"], "case.child_changed")
    assert event.detail["fields"] == ["given_name", "settlement", "returned_on"]  # sex did not change
    detail = json.dumps(event.detail) + json.dumps([entry.detail for entry in db.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "case.update"))])
    for value in ("Aygerim", "Aigerim", "Kosshy", "2025-03-01"):
        assert value not in detail
    # The search finds the child under the corrected name.
    found = api("social@demo.kz", "GET", "/api/v1/cases?q=Айгерим").json
    assert [c["id"] for c in found] == [case["id"]]


def test_a_stale_version_is_409_and_changes_nothing(demo, api):
    case = register(api)
    assert api("social@demo.kz", "PATCH", f"/api/v1/cases/{case['id']}",
               json={"version": 1, "child": {"patronymic": "Bolatovna"}}).status_code == 200
    stale = api("social@demo.kz", "PATCH", f"/api/v1/cases/{case['id']}",
                json={"version": 1, "child": {"patronymic": "Serikovna"}})
    assert stale.status_code == 409 and stale.json["problems"][0]["code"] == "stale_version"
    db.session.expire_all()
    stored = db.session.get(Case, case["id"])
    assert stored.patronymic == "Bolatovna" and stored.version == 2
    # Without a version the last write wins; a risk change counts as a change of the record too.
    assert api("social@demo.kz", "PATCH", f"/api/v1/cases/{case['id']}",
               json={"child": {"patronymic": "Serikovna"}}).json["version"] == 3
    assert api("social@demo.kz", "PATCH", f"/api/v1/cases/{case['id']}",
               json={"risk_level": "high", "version": 3}).json["version"] == 4


def test_who_may_correct_the_record(demo, api):
    case = register(api)
    first = db.session.scalar(sa.select(Referral).where(Referral.case_id == case["id"]))
    consent = {"given_by": "Aunt", "relationship_to_child": "aunt", "agency_types": ["health"],
               "given_on": date.today().isoformat()}
    assert api("social@demo.kz", "POST", f"/api/v1/cases/{case['id']}/consents", json=consent).status_code == 201
    referred = api("social@demo.kz", "POST", f"/api/v1/cases/{case['id']}/referrals", json={
        "to_stage": "health-screening", "to_agency": "astana-childrens-clinic", "reason": "Check-up"})
    assert referred.status_code == 201, referred.json
    change = {"child": {"settlement": "Kosshy"}}

    # The clinic has only been asked: it does not see the record at all.
    assert api("health@demo.kz", "PATCH", f"/api/v1/cases/{case['id']}", json=change).status_code == 404
    # Once it has accepted, it works on the case and may correct it.
    referral = referred.json
    accepted = api("health@demo.kz", "POST", f"/api/v1/referrals/{referral['id']}/accept",
                   json={"version": referral["version"]})
    assert accepted.status_code == 200, accepted.json
    assert api("health@demo.kz", "PATCH", f"/api/v1/cases/{case['id']}", json=change).status_code == 200
    # The family support centre's own referral is completed: it still reads the file but no longer works on it.
    completed = api("social@demo.kz", "POST", f"/api/v1/referrals/{first.id}/complete",
                    json={"version": db.session.get(Referral, first.id).version, "outcome": "Registered"})
    assert completed.status_code == 200, completed.json
    refused = api("social@demo.kz", "PATCH", f"/api/v1/cases/{case['id']}", json={"child": {"settlement": "X"}})
    assert refused.status_code == 403
    # A coordinator of the case's region may, one of another region may not even see it.
    assert api("coordinator@demo.kz", "PATCH", f"/api/v1/cases/{case['id']}",
               json={"child": {"settlement": "Astana"}}).status_code == 200
    assert api("coordinator.almaty@demo.kz", "PATCH", f"/api/v1/cases/{case['id']}",
               json=change).status_code in (403, 404)


def test_bad_changes_are_refused_with_the_field_named(demo, api):
    case = register(api)
    url = f"/api/v1/cases/{case['id']}"
    for change, field in [
        ({"birth_date": None}, "birth_date"),  # neither birth date nor age would be left
        ({"birth_date": (date.today() + timedelta(days=1)).isoformat()}, "birth_date"),
        ({"returned_on": (date.today() + timedelta(days=1)).isoformat()}, "returned_on"),
        ({"guardians": [{"phone": "+7"}]}, "guardians"),
        ({"given_name": ""}, "given_name"),
        ({"nickname": "Aika"}, "nickname"),
    ]:
        response = api("social@demo.kz", "PATCH", url, json={"child": change})
        assert response.status_code == 422, (change, response.json)
        assert field in response.json["errors"]["child"], (change, response.json)
    assert api("social@demo.kz", "PATCH", url, json={}).status_code == 422
    db.session.expire_all()
    assert db.session.get(Case, case["id"]).version == 1
    assert events(case["id"], "case.child_changed") == []
    # Both at once is a valid record: an estimated age in place of the birth date.
    fine = api("social@demo.kz", "PATCH", url, json={"child": {"birth_date": None, "estimated_age": 12}})
    assert fine.status_code == 200 and fine.json["child"]["estimated_age"] == 12


def test_the_web_form_corrects_the_record_with_guardians(demo, api, sign_in, client):
    case = register(api)
    sign_in("social@demo.kz")
    page = client.get(f"/cases/{case['id']}")
    assert f'href="/cases/{case["id"]}/child"' in page.get_data(as_text=True)
    form = client.get(f"/cases/{case['id']}/child")
    text = form.get_data(as_text=True)
    assert form.status_code == 200 and 'value="Nurlanova"' in text and 'name="guardians-2-name"' in text
    reads = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "case.read", AuditEntry.object_id == str(case["id"])))
    assert reads >= 2  # the form shows the record: it is a read

    posted = {**CHILD, "family_name": "Nurlanova-Bek", "version": "1", "settlement": "Kosshy",
              "guardians-0-name": "Dana", "guardians-0-relationship": "aunt", "guardians-0-phone": "",
              "guardians-1-name": "", "guardians-1-relationship": "", "guardians-1-phone": ""}
    saved = client.post(f"/cases/{case['id']}/child", data=posted)
    assert saved.status_code == 302
    db.session.expire_all()
    stored = db.session.get(Case, case["id"])
    assert (stored.family_name, stored.settlement, stored.guardians) == \
        ("Nurlanova-Bek", "Kosshy", [{"name": "Dana", "relationship": "aunt", "phone": None}])
    shown = client.get(f"/cases/{case['id']}").get_data(as_text=True)
    assert "The child&#39;s record corrected: family name, district or settlement, guardians" in shown

    # The same version again is stale: nothing changes, the form says why.
    again = client.post(f"/cases/{case['id']}/child", data={**posted, "family_name": "Other"})
    assert again.status_code == 409 and "changed by someone else" in again.get_data(as_text=True)
    # A guardian without a relationship is refused on that row.
    row = client.post(f"/cases/{case['id']}/child", data={**posted, "version": "2",
                                                          "guardians-0-relationship": ""})
    assert row.status_code == 422 and "This field is required." in row.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Case, case["id"]).family_name == "Nurlanova-Bek"


def test_an_agency_that_does_not_work_on_the_case_gets_no_form(demo, api, sign_in, client):
    case = register(api)
    sign_in("health@demo.kz")
    assert client.get(f"/cases/{case['id']}/child").status_code == 404
