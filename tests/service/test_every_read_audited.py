"""Every read of case data is audited (DESIGN §13): the case, its timeline, a single referral, notes, messages,
disclosures and the audit pages themselves, on the web and through the API. Each check fails if its read stops
writing an entry."""

import pytest
import sqlalchemy as sa

from referral.audit.models import AuditEntry
from referral.auth.models import User
from referral.extensions import db
from tests.appfixtures import asked_of_the_clinic, demo_actor

SOCIAL = "social@demo.kz"


def entries(action: str, object_type: str | None, object_id, email: str) -> int:
    user_id = db.session.scalar(sa.select(User.id).where(User.email == email))
    return db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry).where(
        AuditEntry.action == action, AuditEntry.actor_user_id == user_id,
        AuditEntry.object_type.is_(None) if object_type is None else AuditEntry.object_type == object_type,
        AuditEntry.object_id.is_(None) if object_id is None else AuditEntry.object_id == str(object_id)))


@pytest.fixture
def referral(demo):
    """A referral from the family support centre to the clinic, with a note on its case and a message on it."""
    from referral.cases import notes
    from referral.referrals import messages

    found = asked_of_the_clinic()
    notes.add_note(found.case_id, "Guardian prefers mornings.", True, demo_actor(SOCIAL))
    messages.post_message(found.id, "Please send the vaccination record.", demo_actor(SOCIAL))
    db.session.commit()
    return found


API_READS = [
    # (url, action, object type, whose id)
    ("/api/v1/cases/{case}", "case.read", "case", "case"),
    ("/api/v1/cases/{case}/timeline", "case.read", "case", "case"),
    ("/api/v1/cases/{case}/notes", "case.notes.read", "case", "case"),
    ("/api/v1/cases/{case}/disclosures", "case.disclosures.read", "case", "case"),
    ("/api/v1/cases/{case}/interviews", "case.read", "case", "case"),
    ("/api/v1/referrals/{referral}", "referral.read", "referral", "referral"),
    ("/api/v1/referrals/{referral}/messages", "referral.messages.read", "referral", "referral"),
]


@pytest.mark.parametrize(("url", "action", "object_type", "whose"), API_READS)
def test_each_api_read_writes_an_audit_entry(api, referral, url, action, object_type, whose):
    ids = {"case": referral.case_id, "referral": referral.id}
    before = entries(action, object_type, ids[whose], SOCIAL)
    response = api(SOCIAL, "GET", url.format(**ids))
    assert response.status_code == 200, response.get_json()
    assert entries(action, object_type, ids[whose], SOCIAL) == before + 1


WEB_READS = [
    ("/cases/{case}", "case.read", "case", "case"),
    ("/cases/{case}/disclosures", "case.disclosures.read", "case", "case"),
    ("/cases/{case}/print", "case.export", "case", "case"),
    ("/inbox/{referral}", "referral.read", "referral", "referral"),
]


@pytest.mark.parametrize(("url", "action", "object_type", "whose"), WEB_READS)
def test_each_page_that_shows_case_data_writes_an_audit_entry(client, sign_in, referral, url, action, object_type,
                                                               whose):
    ids = {"case": referral.case_id, "referral": referral.id}
    sign_in(SOCIAL)
    before = entries(action, object_type, ids[whose], SOCIAL)
    response = client.get(url.format(**ids))
    assert response.status_code == 200
    assert entries(action, object_type, ids[whose], SOCIAL) == before + 1


def test_the_asked_agency_reading_the_referral_and_its_messages_is_audited(api, referral):
    before = entries("referral.read", "referral", referral.id, "health@demo.kz")
    assert api("health@demo.kz", "GET", f"/api/v1/referrals/{referral.id}").status_code == 200
    assert api("health@demo.kz", "GET", f"/api/v1/referrals/{referral.id}/messages").status_code == 200
    assert entries("referral.read", "referral", referral.id, "health@demo.kz") == before + 1
    assert entries("referral.messages.read", "referral", referral.id, "health@demo.kz") == 1


def test_reading_the_audit_log_is_itself_audited(client, sign_in, api, referral):
    sign_in("admin@demo.kz")
    assert client.get("/admin/audit/?action=case.").status_code == 200
    assert entries("audit.read", "audit", None, "admin@demo.kz") == 1
    response = api("admin@demo.kz", "GET", "/api/v1/audit?action=case.")
    assert response.status_code == 200, response.get_json()
    assert entries("audit.read", "audit", None, "admin@demo.kz") == 2


def test_the_audit_api_filters_as_the_page_does_and_is_for_administrators(api, referral):
    response = api("admin@demo.kz", "GET", "/api/v1/audit",
                   query_string={"action": "referral.message.", "object_id": str(referral.id), "per_page": 10})
    assert response.status_code == 200, response.get_json()
    assert "X-Pagination" in response.headers
    assert {entry["action"] for entry in response.json} == {"referral.message.create"}
    assert set(response.json[0]) == {"id", "at", "actor", "actor_user_id", "action", "object_type", "object_id",
                                     "remote_addr", "detail"}
    assert api(SOCIAL, "GET", "/api/v1/audit").status_code == 403
    assert api("coordinator@demo.kz", "GET", "/api/v1/audit").status_code == 403
    assert entries("audit.read", "audit", None, SOCIAL) == 0  # a refused read read nothing


def test_a_malformed_time_is_refused_in_the_readers_language(api, referral):
    db.session.scalar(sa.select(User).where(User.email == "admin@demo.kz")).locale = "ru"
    db.session.commit()
    response = api("admin@demo.kz", "GET", "/api/v1/audit", query_string={"since": "yesterday"})
    assert response.status_code == 422
    assert response.json["errors"]["query"]["since"] == ["Неверные дата и время: используйте ISO 8601, например "
                                                         "2026-12-01T00:00:00Z."]
    assert entries("audit.read", "audit", None, "admin@demo.kz") == 0
