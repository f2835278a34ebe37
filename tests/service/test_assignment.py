"""Who works a referral inside the receiving agency (DESIGN.md §12): assign to me, a supervisor's assign to…,
unassign, the rules' refusals, the inbox filters and counts, and reminders that reach the assignee."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from referral.audit.models import AuditEntry
from referral.auth.models import User
from referral.cases.models import Event
from referral.deadlines.models import Deadline, DeadlineKind
from referral.extensions import db
from referral.notifications.models import Notification
from referral.referrals import service as referrals
from referral.referrals.models import Referral
from referral.scheduler.sweep import sweep
from tests.appfixtures import demo_actor


def assign(api, email, referral, assignee):
    db.session.refresh(referral)
    return api(email, "POST", f"/api/v1/referrals/{referral.id}/assign",
               json={"version": referral.version, "assignee": assignee})


def test_staff_take_a_referral_and_give_it_back(api, asked):
    before = asked.version
    response = assign(api, "health@demo.kz", asked, "health@demo.kz")
    assert response.status_code == 200, response.json
    assert response.json["assignee"] == "health@demo.kz" and response.json["version"] == before + 1
    listed = api("health@demo.kz", "GET", "/api/v1/referrals?box=incoming&assignee=me").json
    assert [item["id"] for item in listed] == [asked.id]
    unassigned = api("health@demo.kz", "GET", "/api/v1/referrals?box=incoming&assignee=none").json
    assert asked.id not in [item["id"] for item in unassigned]
    kinds = db.session.scalars(sa.select(Event.kind).where(Event.referral_id == asked.id)).all()
    assert "referral.assigned" in kinds
    assert db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "referral.assign")) is not None
    response = assign(api, "health@demo.kz", asked, None)
    assert response.status_code == 200 and response.json["assignee"] is None


def test_a_supervisor_assigns_anyone_active_in_the_agency_and_they_are_told(api, asked):
    response = assign(api, "health.supervisor@demo.kz", asked, "health@demo.kz")
    assert response.status_code == 200, response.json
    notes = db.session.execute(sa.select(User.email, Notification.params).join(User, User.id == Notification.user_id)
                               .where(Notification.kind == "referral.assigned")).all()
    assert [email for email, _params in notes] == ["health@demo.kz"]
    assert "Aigerim" not in str(notes[0].params) and "Stuckova" not in str(notes[0].params)
    # Taking it from the assignee is the supervisor's too, not the staff's.
    assert assign(api, "health@demo.kz", asked, None).status_code == 200


def test_staff_cannot_assign_someone_else_and_nothing_changes(api, asked, make_user):
    from referral.directory.service import agency_by_code
    colleague = make_user(agency=agency_by_code("astana-childrens-clinic"), email="colleague@clinic.kz")
    before = asked.version
    response = assign(api, "health@demo.kz", asked, colleague.email)
    assert response.status_code == 403
    db.session.refresh(asked)
    assert asked.assignee_user_id is None and asked.version == before


@pytest.mark.parametrize("assignee", ["social@demo.kz", "nobody@example.org"])
def test_an_assignee_outside_the_receiving_agency_is_refused(api, asked, assignee):
    response = assign(api, "health.supervisor@demo.kz", asked, assignee)
    assert response.status_code == 422
    assert [problem["code"] for problem in response.json["problems"]] == ["assignee_not_in_agency"]


def test_the_sender_and_strangers_cannot_assign(api, asked):
    assert assign(api, "social@demo.kz", asked, "social@demo.kz").status_code == 403
    assert assign(api, "school@demo.kz", asked, "school@demo.kz").status_code == 404


def test_a_stale_version_and_a_closed_referral_are_conflicts(api, asked):
    response = api("health@demo.kz", "POST", f"/api/v1/referrals/{asked.id}/assign",
                   json={"version": asked.version - 1 if asked.version > 1 else 99, "assignee": "health@demo.kz"})
    assert response.status_code == 409
    for action, text in (("accept", {}), ("complete", {"outcome": "Healthy"})):
        db.session.refresh(asked)
        referrals.act(asked.id, action, asked.version, demo_actor("health@demo.kz"), **text)
        db.session.commit()
    assert assign(api, "health@demo.kz", asked, "health@demo.kz").status_code == 409


def test_reminders_and_escalations_reach_the_assignee(api, asked):
    assert assign(api, "health@demo.kz", asked, "health@demo.kz").status_code == 200
    deadline = db.session.scalar(sa.select(Deadline).where(Deadline.referral_id == asked.id,
                                                           Deadline.kind == DeadlineKind.respond))
    later = deadline.due_at + timedelta(minutes=1)
    sweep(later)
    db.session.expire_all()
    kinds = set(db.session.scalars(sa.select(Notification.kind).join(User, User.id == Notification.user_id)
                                   .where(Notification.referral_id == asked.id, User.email == "health@demo.kz")))
    assert "deadline.missed" in kinds
    assert db.session.get(Referral, asked.id).assignee.email == "health@demo.kz"


def test_assign_to_me_from_the_inbox_then_mine_lists_it_and_the_navigation_counts_it(client, asked, sign_in):
    sign_in("health@demo.kz")
    page = client.get("/inbox/").get_data(as_text=True)
    assert 'data-assign="me"' in page and "Not assigned" in page
    db.session.refresh(asked)
    response = client.post(f"/inbox/{asked.id}/assign", data={"version": asked.version,
                                                              "assignee": "health@demo.kz", "next": "/inbox/"})
    assert response.status_code == 302 and response.headers["Location"] == "/inbox/"
    mine = client.get("/inbox/?whose=me").get_data(as_text=True)
    assert f'data-referral="{asked.id}"' in mine and 'data-assign="none"' in mine and "mine: 1" in mine
    unassigned = client.get("/inbox/?whose=none").get_data(as_text=True)
    assert f'data-referral="{asked.id}"' not in unassigned


def test_a_supervisor_picks_from_the_agency_on_the_referral_page_and_staff_see_no_picker(client, asked, sign_in):
    sign_in("health@demo.kz")
    assert 'id="assign-to"' not in client.get(f"/inbox/{asked.id}").get_data(as_text=True)
    sign_in("health.supervisor@demo.kz")
    page = client.get(f"/inbox/{asked.id}").get_data(as_text=True)
    assert 'id="assign-to"' in page and "Nurse Demo-Health" in page and "Timur" not in page
    db.session.refresh(asked)
    response = client.post(f"/inbox/{asked.id}/assign", data={"version": asked.version, "assignee": "health@demo.kz"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Referral, asked.id).assignee.email == "health@demo.kz"


def test_a_stale_assign_form_says_so_and_changes_nothing(client, asked, sign_in):
    sign_in("health@demo.kz")
    response = client.post(f"/inbox/{asked.id}/assign", data={"version": asked.version + 5,
                                                              "assignee": "health@demo.kz"})
    assert response.status_code == 409 and "has changed since you loaded it" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Referral, asked.id).assignee_user_id is None
