"""Case notes (DESIGN.md §12): written by full readers, read by the author's agency or, shared, by every full
reader; an agency only asked gets 404; append-only; never in a notification or the audit detail."""


import pytest
import sqlalchemy as sa

from referral.audit.models import AuditEntry
from referral.cases.models import CaseNote
from referral.extensions import db
from referral.notifications.models import Delivery, Notification
from referral.referrals import service as referrals
from referral.referrals.models import Referral
from tests.appfixtures import asked_of_the_clinic, demo_actor

PRIVATE = "Mother says the boy wakes at night; ask the school about his sleep."
SHARED = "Vaccination record received from the clinic in Almaty."


@pytest.fixture
def case(demo):
    """A case held by the family support centre, with a referral to the clinic not yet accepted."""
    return asked_of_the_clinic().case


def write(api, email, case, text, shared):
    return api(email, "POST", f"/api/v1/cases/{case.id}/notes", json={"text": text, "shared": shared})


def texts(api, email, case):
    response = api(email, "GET", f"/api/v1/cases/{case.id}/notes")
    return response.status_code, [note["text"] for note in response.json] if response.status_code == 200 else None


def test_agency_notes_stay_in_the_agency_and_shared_ones_reach_every_full_reader(api, case):
    response = write(api, "social@demo.kz", case, PRIVATE, False)
    assert response.status_code == 201
    assert response.json["agency"] == "astana-family-support" and response.json["author"].startswith("Timur")
    assert write(api, "social@demo.kz", case, SHARED, True).status_code == 201
    assert texts(api, "supervisor@demo.kz", case) == (200, [SHARED, PRIVATE])
    # The clinic has only been asked: no notes at all, as for the timeline.
    assert texts(api, "health@demo.kz", case)[0] == 404
    assert write(api, "health@demo.kz", case, "Seen", True).status_code == 404
    # Once it accepts, it reads the shared note and not the other agency's own.
    asked = db.session.scalar(sa.select(Referral).where(Referral.case_id == case.id,
                                                        Referral.to_stage == "health-screening"))
    referrals.act(asked.id, "accept", asked.version, demo_actor("health@demo.kz"))
    db.session.commit()
    assert texts(api, "health@demo.kz", case) == (200, [SHARED])
    assert texts(api, "school@demo.kz", case)[0] == 404


def test_notes_never_reach_notifications_deliveries_or_the_audit_detail(api, case):
    before = db.session.scalar(sa.select(sa.func.count()).select_from(Notification))
    write(api, "social@demo.kz", case, PRIVATE, True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification)) == before
    for row in db.session.scalars(sa.select(Delivery)):
        assert PRIVATE not in str(row.payload)
    for entry in db.session.scalars(sa.select(AuditEntry)):
        assert PRIVATE not in str(entry.detail)
    actions = db.session.scalars(sa.select(AuditEntry.action)).all()
    assert "case.note.create" in actions
    texts(api, "social@demo.kz", case)
    assert "case.notes.read" in db.session.scalars(sa.select(AuditEntry.action)).all()


@pytest.mark.parametrize("text", ["", "   ", "x" * 10_001])
def test_an_empty_or_overlong_note_is_refused_and_nothing_is_stored(api, case, text):
    assert write(api, "social@demo.kz", case, text, False).status_code == 422
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CaseNote)) == 0


def test_notes_are_append_only(api, case):
    note_id = write(api, "social@demo.kz", case, PRIVATE, False).json["id"]
    for method in ("PUT", "PATCH", "DELETE"):
        assert api("social@demo.kz", method, f"/api/v1/cases/{case.id}/notes/{note_id}",
                   json={"text": "changed"}).status_code in (404, 405)
    assert db.session.get(CaseNote, note_id).text == PRIVATE


def test_a_note_written_on_the_case_page(client, case, sign_in):
    sign_in("social@demo.kz")
    response = client.post(f"/cases/{case.id}/notes", data={"text": PRIVATE})
    assert response.status_code == 302
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert PRIVATE.replace("'", "&#39;") in page and 'data-shared="no"' in page
    response = client.post(f"/cases/{case.id}/notes", data={"text": " "})
    assert response.status_code == 422
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CaseNote)) == 1
