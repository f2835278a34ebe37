"""Interviews and assessments of the child: recorded once, read by the next agency before it plans another."""

import json
import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from referral.audit.models import AuditEntry
from referral.auth.models import User
from referral.cases.models import Case, Event, Interview
from referral.demo import DEMO_PASSWORD, load_demo_data
from referral.extensions import db

FINDINGS = "Told the social worker about the crossing; frightened of men in uniform."
INTERVIEW = {"kind": "interview", "topic": "How she came back", "held_on": date.today().isoformat(),
             "summary": FINDINGS, "shared_with": ["health", "justice"]}


@pytest.fixture
def headers(demo, token_for):
    """Return API headers for a demo user by e-mail."""

    def make(email: str) -> dict:
        return token_for(db.session.scalar(sa.select(User).where(User.email == email)))

    return make


def demo_case(family_name: str) -> Case:
    return db.session.scalar(sa.select(Case).where(Case.family_name == f"{family_name} (demo)"))


def count(model, *where) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def text_of(response) -> str:
    return response.get_data(as_text=True)


def test_record_an_interview_and_list_them_latest_first(client, headers):
    case = demo_case("Samplova")
    response = client.post(f"/api/v1/cases/{case.id}/interviews", json=INTERVIEW, headers=headers("social@demo.kz"))
    assert response.status_code == 201, response.json
    assert response.json["kind"] == "interview" and response.json["agency"] == "astana-family-support"
    assert response.json["summary"] == FINDINGS and response.json["shared_with"] == ["health", "justice"]

    listed = client.get(f"/api/v1/cases/{case.id}/interviews", headers=headers("social@demo.kz"))
    assert listed.status_code == 200
    assert [(i["topic"], i["summary"]) for i in listed.json] == [("How she came back", FINDINGS)]

    # The demo's busy case already has two; the prosecutor that took it reads both, latest first.
    busy = client.get(f"/api/v1/cases/{demo_case('Fictionov').id}/interviews", headers=headers("justice@demo.kz"))
    assert [i["kind"] for i in busy.json] == ["medical_examination", "interview"]
    assert all(i["summary"] for i in busy.json)


@pytest.mark.parametrize("change, field", [
    ({"held_on": (date.today() + timedelta(days=2)).isoformat()}, "held_on"),
    ({"summary": "   "}, "summary"),
    ({"kind": "interrogation"}, "kind"),
    ({"shared_with": ["police"]}, "shared_with"),
])
def test_bad_input_names_the_field_and_changes_nothing(client, headers, change, field):
    case = demo_case("Samplova")
    before = count(Interview), count(Event), count(AuditEntry, AuditEntry.action == "interview.create")
    response = client.post(f"/api/v1/cases/{case.id}/interviews", json={**INTERVIEW, **change},
                           headers=headers("social@demo.kz"))
    assert response.status_code == 422
    errors = response.json["errors"]
    assert field in errors or field in errors.get("json", {}), errors
    assert (count(Interview), count(Event), count(AuditEntry, AuditEntry.action == "interview.create")) == before


def test_a_missing_summary_is_a_field_error(client, headers):
    case = demo_case("Samplova")
    body = {key: value for key, value in INTERVIEW.items() if key != "summary"}
    response = client.post(f"/api/v1/cases/{case.id}/interviews", json=body, headers=headers("social@demo.kz"))
    assert response.status_code == 422 and "summary" in response.json["errors"]["json"]
    assert count(Interview, Interview.case_id == case.id) == 0


def test_an_unrelated_agency_gets_404(client, headers):
    case = demo_case("Fictionov")
    school = headers("school@demo.kz")
    assert client.get(f"/api/v1/cases/{case.id}/interviews", headers=school).status_code == 404
    assert client.post(f"/api/v1/cases/{case.id}/interviews", json=INTERVIEW, headers=school).status_code == 404
    assert count(Interview, Interview.case_id == case.id) == 2


def test_an_agency_only_asked_cannot_read_them(client, headers, sign_in):
    case = demo_case("Samplova")
    client.post(f"/api/v1/cases/{case.id}/interviews", json=INTERVIEW, headers=headers("social@demo.kz"))
    clinic = headers("health@demo.kz")  # asked, not yet accepted: a summary only
    assert client.get(f"/api/v1/cases/{case.id}/interviews", headers=clinic).status_code == 404
    assert client.post(f"/api/v1/cases/{case.id}/interviews", json=INTERVIEW, headers=clinic).status_code == 404
    page = text_of(sign_in("health@demo.kz").get(f"/cases/{case.id}"))
    assert 'id="summary-notice"' in page and FINDINGS not in page and "How she came back" not in page


def test_findings_are_withheld_from_agency_types_they_are_not_shared_with(client, headers):
    case = demo_case("Fictionov")
    body = {**INTERVIEW, "kind": "assessment", "topic": "Sleep", "shared_with": ["health"]}
    assert client.post(f"/api/v1/cases/{case.id}/interviews", json=body,
                       headers=headers("social@demo.kz")).status_code == 201
    by_topic = {i["topic"]: i for i in client.get(f"/api/v1/cases/{case.id}/interviews",
                                                  headers=headers("justice@demo.kz")).json}
    assert by_topic["Sleep"]["summary"] is None and by_topic["Sleep"]["agency"] == "astana-family-support"
    by_topic = {i["topic"]: i for i in client.get(f"/api/v1/cases/{case.id}/interviews",
                                                  headers=headers("health@demo.kz")).json}
    assert by_topic["Sleep"]["summary"] == FINDINGS


def test_the_timeline_says_it_happened_but_not_what_was_said(client, headers):
    case = demo_case("Samplova")
    client.post(f"/api/v1/cases/{case.id}/interviews", json=INTERVIEW, headers=headers("social@demo.kz"))
    events = client.get(f"/api/v1/cases/{case.id}/timeline", headers=headers("social@demo.kz")).json
    assert events[-1]["kind"] == "interview.recorded"
    assert events[-1]["detail"] == {"interview_kind": "interview", "agency": "astana-family-support"}
    assert FINDINGS not in json.dumps(events)
    entries = db.session.scalars(sa.select(AuditEntry.detail).where(AuditEntry.action == "interview.create")).all()
    assert len(entries) == 3 and FINDINGS not in json.dumps(entries)  # two from the demo


def test_the_case_page_shows_them_above_the_referrals(client, demo, sign_in):
    case = demo_case("Fictionov")
    page = text_of(sign_in("justice@demo.kz").get(f"/cases/{case.id}"))
    assert page.index('id="interviews"') < page.index('id="referrals"') < page.index('id="timeline"')
    notice = re.search(r'id="interviews-notice">(.*?)</div>', page, re.S).group(1)
    assert "Read these before planning another interview" in notice
    assert "General health, vaccinations" in notice and "The journey back" in notice
    assert "Underweight, otherwise healthy." in page and "Medical examination" in page
    assert "Recorded with the child: Medical examination, by Astana Children" in page  # the timeline

    page = text_of(sign_in("social@demo.kz").get(f"/cases/{demo_case('Samplova').id}"))
    assert "No interview or assessment of the child has been recorded yet." in page
    assert page.index('id="interview-form"') < page.index('id="routes"')

    client.post("/language", data={"locale": "kk"})
    page = text_of(client.get(f"/cases/{case.id}"))
    assert "Өткізілген сұхбаттар мен бағалаулар" in page and "Медициналық тексеру" in page


def test_record_one_through_the_form(client, demo, sign_in):
    case = demo_case("Samplova")
    sign_in("social@demo.kz")
    form = {"kind": "assessment", "topic": "School and friends", "held_on": date.today().isoformat(),
            "summary": "Wants to go back to school; one friend in the yard.", "shared_with": ["education", "social"]}

    response = client.post(f"/cases/{case.id}/interviews",
                           data={**form, "held_on": (date.today() + timedelta(days=1)).isoformat()})
    assert response.status_code == 422
    assert "The date cannot be in the future." in text_of(response)
    assert re.search(r'<details[^>]*\bopen\b[^>]*id="interview-details"', text_of(response))
    assert count(Interview, Interview.case_id == case.id) == 0

    response = client.post(f"/cases/{case.id}/interviews", data={**form, "summary": ""})
    assert response.status_code == 422 and count(Interview, Interview.case_id == case.id) == 0

    response = client.post(f"/cases/{case.id}/interviews", data=form)
    assert response.status_code == 302 and response.headers["Location"].endswith("#interviews")
    interview = db.session.scalar(sa.select(Interview).where(Interview.case_id == case.id))
    assert interview.kind.value == "assessment" and interview.shared_with == ["education", "social"]
    assert "Wants to go back to school" in text_of(client.get(f"/cases/{case.id}"))


def test_the_form_needs_the_csrf_token(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        load_demo_data()
        db.session.commit()
        case_id = demo_case("Samplova").id
    client = app.test_client()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', text_of(client.get("/login"))).group(1)
    client.post("/login", data={"email": "social@demo.kz", "password": DEMO_PASSWORD, "csrf_token": token})
    form = {"kind": "interview", "topic": "Family", "held_on": date.today().isoformat(),
            "summary": "Misses her mother.", "shared_with": ["social"]}
    assert client.post(f"/cases/{case_id}/interviews", data=form).status_code == 400
    with app.app_context():
        assert count(Interview, Interview.case_id == case_id) == 0

    page = text_of(client.get(f"/cases/{case_id}"))
    form_html = page[page.index('id="interview-form"'):]
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form_html).group(1)
    assert client.post(f"/cases/{case_id}/interviews", data={**form, "csrf_token": token}).status_code == 302
    with app.app_context():
        assert count(Interview, Interview.case_id == case_id) == 1
