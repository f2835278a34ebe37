"""Cases with nothing open through the API: the stuck filter and POST /cases/{id}/close (issue 9)."""

import pytest
import sqlalchemy as sa

from referral.audit.models import AuditEntry
from referral.auth.models import User
from referral.cases.models import Case
from referral.extensions import db
from tests.appfixtures import stuck_case

REASON = "The family left the country; the guardian confirmed it by phone."


@pytest.fixture
def headers(demo, token_for):
    def make(email: str) -> dict:
        return token_for(db.session.scalar(sa.select(User).where(User.email == email)))

    return make


def close(client, case_id, headers, **body):
    return client.post(f"/api/v1/cases/{case_id}/close", json=body, headers=headers)


def numbers(response) -> list[str]:
    assert response.status_code == 200, response.json
    return [case["number"] for case in response.json]


def test_the_stuck_filter_follows_need_to_know(client, headers):
    case = stuck_case()
    for email in ("social@demo.kz", "coordinator@demo.kz", "admin@demo.kz"):
        listed = client.get("/api/v1/cases?stuck=true", headers=headers(email))
        assert numbers(listed) == [case.number]
        assert listed.json[0]["stuck"] is True and listed.json[0]["active_stages"] == []
    assert numbers(client.get("/api/v1/cases?stuck=true", headers=headers("school@demo.kz"))) == []
    assert numbers(client.get("/api/v1/cases?stuck=true", headers=headers("coordinator.almaty@demo.kz"))) == []
    assert numbers(client.get("/api/v1/cases?stuck=true&status=closed", headers=headers("admin@demo.kz"))) == []
    everything = client.get("/api/v1/cases", headers=headers("social@demo.kz")).json
    assert {body["number"]: body["stuck"] for body in everything if body["visibility"] == "full"}[case.number]
    assert not any(body.get("stuck") for body in everything if body["number"] != case.number)


def test_a_coordinator_closes_a_stuck_case(client, headers):
    case = stuck_case()
    response = close(client, case.id, headers("coordinator@demo.kz"), reason=REASON)
    assert response.status_code == 200, response.json
    body = response.json
    assert body["status"] == "closed" and body["closed_at"] and body["stuck"] is False
    timeline = client.get(f"/api/v1/cases/{case.id}/timeline", headers=headers("social@demo.kz")).json
    assert timeline[-1]["kind"] == "case.closed" and timeline[-1]["detail"]["reason"] == REASON
    assert timeline[-1]["agency"] == "astana-family-support"
    audit = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "case.close",
                                                           AuditEntry.object_id == str(case.id))).all()
    assert len(audit) == 1 and "phone" not in str(audit[0].detail)
    assert numbers(client.get("/api/v1/cases?stuck=true", headers=headers("coordinator@demo.kz"))) == []


def test_staff_and_supervisors_get_403_and_strangers_404(client, headers):
    case = stuck_case()
    for email in ("social@demo.kz", "supervisor@demo.kz"):
        response = close(client, case.id, headers(email), reason=REASON)
        assert response.status_code == 403 and response.json["status"] == "Forbidden"
    for email in ("school@demo.kz", "coordinator.almaty@demo.kz"):
        assert close(client, case.id, headers(email), reason=REASON).status_code == 404
    assert close(client, 987654, headers("admin@demo.kz"), reason=REASON).status_code == 404
    assert db.session.get(Case, case.id).status.value == "open"


@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": "   "}, {"reason": None}, {"reason": 7},
                                  {"reason": "x" * 2001}])
def test_a_reason_is_required(client, headers, body):
    case = stuck_case()
    response = close(client, case.id, headers("coordinator@demo.kz"), **body)
    assert response.status_code == 422 and set(response.json) >= {"code", "status", "message", "errors"}
    assert "reason" in str(response.json["errors"])
    db.session.expire_all()
    assert db.session.get(Case, case.id).status.value == "open"


def test_open_referrals_and_closed_cases_are_conflicts(client, headers):
    busy = db.session.scalar(sa.select(Case).where(Case.family_name == "Fictionov (demo)"))
    response = close(client, busy.id, headers("coordinator@demo.kz"), reason=REASON)
    assert response.status_code == 409
    assert [p["code"] for p in response.json["problems"]] == ["open_referrals"]
    done = db.session.scalar(sa.select(Case).where(Case.family_name == "Madeupov (demo)"))
    response = close(client, done.id, headers("admin@demo.kz"), reason=REASON)
    assert response.status_code == 409 and "already closed" in response.json["message"]


def test_the_document_describes_closing(client):
    document = client.get("/api/v1/openapi.json").json
    operation = document["paths"]["/api/v1/cases/{case_id}/close"]["post"]
    assert operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/CaseClose")
    assert operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/Case")
    assert {"403", "404", "409", "422"} <= set(operation["responses"])
    assert document["components"]["schemas"]["CaseClose"]["properties"]["reason"]["maxLength"] == 2000
    assert "stuck" in document["components"]["schemas"]["Case"]["properties"]
    assert "stuck" in {p["name"] for p in document["paths"]["/api/v1/cases"]["get"]["parameters"]}
