"""The interview guard (DESIGN §13): a second forensic interview of the child needs an acknowledgement, a third or
later a justification by a supervisor, coordinator or admin; other kinds are not limited."""

from datetime import date

import pytest
import sqlalchemy as sa

from referral.audit.models import AuditEntry
from referral.auth.models import User
from referral.cases.models import Case, Event, Interview, InterviewKind
from referral.extensions import db

TODAY = date.today().isoformat()
INTERVIEW = {"kind": "interview", "topic": "The journey back", "held_on": TODAY,
             "summary": "Told the story once more.", "shared_with": ["social", "justice"]}


@pytest.fixture
def headers(demo, token_for):
    def make(email: str) -> dict:
        return token_for(db.session.scalar(sa.select(User).where(User.email == email)))

    return make


@pytest.fixture
def fresh_case(demo):
    """The demo's case with no interview yet."""
    return db.session.scalar(sa.select(Case).where(Case.family_name == "Samplova (demo)"))


def post(client, case, headers, **change):
    return client.post(f"/api/v1/cases/{case.id}/interviews", json={**INTERVIEW, **change}, headers=headers)


def interviews_of(case) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Interview).where(
        Interview.case_id == case.id, Interview.kind == InterviewKind.interview))


def problem_codes(response) -> list[str]:
    return [problem["code"] for problem in response.json.get("problems", [])]


def test_the_first_interview_needs_nothing_more(client, headers, fresh_case):
    assert post(client, fresh_case, headers("social@demo.kz")).status_code == 201


def test_a_second_interview_needs_the_acknowledgement(client, headers, fresh_case):
    social = headers("social@demo.kz")
    assert post(client, fresh_case, social).status_code == 201
    events = db.session.scalar(sa.select(sa.func.count()).select_from(Event))

    refused = post(client, fresh_case, social, topic="Again")
    assert refused.status_code == 422
    assert problem_codes(refused) == ["prior_interview"]
    problem = refused.json["problems"][0]
    # The message lists the earlier interview: its topic, date and agency.
    assert "The journey back" in problem["message"] and TODAY in problem["message"]
    assert "astana-family-support" in problem["message"]
    assert problem["interviews"] == [{"kind": "interview", "topic": "The journey back", "held_on": TODAY,
                                      "agency": "astana-family-support"}]
    assert problem["suggested_agency"] == "astana-family-support"
    assert "acknowledged_prior" in refused.json["errors"]
    assert interviews_of(fresh_case) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Event)) == events

    assert post(client, fresh_case, social, acknowledged_prior=True).status_code == 201
    assert interviews_of(fresh_case) == 2


def test_a_third_needs_a_justification_by_a_supervisor(client, headers, fresh_case):
    social, supervisor = headers("social@demo.kz"), headers("supervisor@demo.kz")
    assert post(client, fresh_case, social).status_code == 201
    assert post(client, fresh_case, social, acknowledged_prior=True).status_code == 201

    # The acknowledgement is checked first.
    assert problem_codes(post(client, fresh_case, supervisor)) == ["prior_interview"]
    # Staff may not record a third, even with a justification.
    staff = post(client, fresh_case, social, acknowledged_prior=True, justification="The court asks for it.")
    assert staff.status_code == 422 and problem_codes(staff) == ["interview_limit"]
    # A supervisor must say why.
    bare = post(client, fresh_case, supervisor, acknowledged_prior=True, justification="   ")
    assert bare.status_code == 422 and problem_codes(bare) == ["interview_limit"]
    assert "justification" in bare.json["errors"]
    assert interviews_of(fresh_case) == 2

    why = "The prosecutor needs the account recorded on video for the court."
    done = post(client, fresh_case, supervisor, acknowledged_prior=True, justification=why)
    assert done.status_code == 201, done.json
    assert interviews_of(fresh_case) == 3
    event = db.session.scalars(sa.select(Event).where(Event.case_id == fresh_case.id,
                                                      Event.kind == "interview.recorded")
                               .order_by(Event.id.desc())).first()
    assert event.detail["justification"] == why
    entry = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "interview.create")
                               .order_by(AuditEntry.id.desc())).first()
    assert entry.detail["justification"] == why and entry.actor_label == "supervisor@demo.kz"


def test_a_coordinator_may_justify_a_fourth(client, headers, fresh_case):
    social, supervisor = headers("social@demo.kz"), headers("supervisor@demo.kz")
    post(client, fresh_case, social)
    post(client, fresh_case, social, acknowledged_prior=True)
    post(client, fresh_case, supervisor, acknowledged_prior=True, justification="For the court.")
    done = post(client, fresh_case, headers("coordinator@demo.kz"), acknowledged_prior=True,
                justification="A new disclosure needs a specialist.")
    assert done.status_code == 201, done.json
    assert interviews_of(fresh_case) == 4


@pytest.mark.parametrize("kind", ["assessment", "medical_examination", "court_hearing"])
def test_other_kinds_are_not_limited(client, headers, fresh_case, kind):
    social = headers("social@demo.kz")
    post(client, fresh_case, social)
    post(client, fresh_case, social, acknowledged_prior=True)
    for _ in range(3):
        assert post(client, fresh_case, social, kind=kind).status_code == 201


def test_the_form_shows_the_counter_and_the_earlier_interviews_before_saving(client, headers, fresh_case, sign_in):
    social = headers("social@demo.kz")
    sign_in("social@demo.kz")
    page = client.get(f"/cases/{fresh_case.id}").get_data(as_text=True)
    assert "The child has not been interviewed yet." in page
    assert 'name="acknowledged_prior"' not in page

    post(client, fresh_case, social)
    page = client.get(f"/cases/{fresh_case.id}").get_data(as_text=True)
    assert "The child has been interviewed once already." in page
    assert 'name="acknowledged_prior"' in page and 'name="justification"' not in page
    assert "consider asking" in page

    form = {"kind": "interview", "topic": "Again", "held_on": TODAY, "summary": "More.",
            "shared_with": ["social"]}
    refused = client.post(f"/cases/{fresh_case.id}/interviews", data=form)
    assert refused.status_code == 422
    assert "Confirm that you read the earlier interviews" in refused.get_data(as_text=True)
    assert interviews_of(fresh_case) == 1
    saved = client.post(f"/cases/{fresh_case.id}/interviews", data={**form, "acknowledged_prior": "y"})
    assert saved.status_code == 302
    assert interviews_of(fresh_case) == 2

    # From the third on, staff are told to ask a supervisor; the supervisor gets the justification field.
    page = client.get(f"/cases/{fresh_case.id}").get_data(as_text=True)
    assert "The child has been interviewed 2 times already." in page
    assert 'name="justification"' not in page and "Ask your supervisor." in page
    sign_in("supervisor@demo.kz")
    page = client.get(f"/cases/{fresh_case.id}").get_data(as_text=True)
    assert 'name="justification"' in page


def test_the_guard_is_in_russian(client, headers, fresh_case, sign_in):
    post(client, fresh_case, headers("social@demo.kz"))
    sign_in("social@demo.kz")
    client.post("/language", data={"locale": "ru"})
    page = client.get(f"/cases/{fresh_case.id}").get_data(as_text=True)
    assert "The child has been interviewed once already." not in page
    assert "С ребёнком уже провели одну беседу." in page
