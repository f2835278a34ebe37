"""Consent that can be withdrawn (DESIGN §13): it covers nothing from then on, what waited on it is cancelled, and
every agency it concerned is told; an expired consent covers nothing either."""

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from referral.audit.models import AuditEntry
from referral.auth.models import User
from referral.cases.models import Case, Consent, Event
from referral.directory.models import Agency
from referral.extensions import db
from referral.notifications.models import Notification
from referral.referrals.models import Referral

REASON = "The grandmother no longer agrees to share the file with the clinic."


def demo_case(family_name: str) -> Case:
    return db.session.scalar(sa.select(Case).where(Case.family_name == f"{family_name} (demo)"))


def referral_to(case: Case, stage: str) -> Referral:
    return db.session.scalar(sa.select(Referral).where(Referral.case_id == case.id, Referral.to_stage == stage)
                             .order_by(Referral.id.desc()))


def notified(agency_code: str, kind: str, case: Case) -> list[Notification]:
    return list(db.session.scalars(
        sa.select(Notification).join(User, User.id == Notification.user_id).join(Agency, Agency.id == User.agency_id)
        .where(Agency.code == agency_code, Notification.kind == kind, Notification.case_id == case.id)))


def withdraw(api, email, case, consent_id, reason=REASON):
    return api(email, "POST", f"/api/v1/cases/{case.id}/consents/{consent_id}/withdraw", json={"reason": reason})


@pytest.fixture
def waiting(demo):
    """The demo case waiting for the clinic's answer on a route that needs consent."""
    return demo_case("Samplova")


def test_withdrawing_cancels_what_waited_on_it_and_tells_both_sides(api, waiting):
    consent = waiting.consents[0]
    response = withdraw(api, "social@demo.kz", waiting, consent.id)
    assert response.status_code == 200, response.json
    assert response.json["state"] == "withdrawn" and response.json["withdrawal_reason"] == REASON
    assert response.json["withdrawn_at"]

    db.session.expire_all()
    screening = referral_to(waiting, "health-screening")
    assert screening.status.value == "cancelled" and screening.status_reason == "consent-withdrawn"
    # A route that needs no consent is not touched.
    assert referral_to(waiting, "legal-status-review").status.value == "requested"
    assert notified("astana-childrens-clinic", "referral.cancelled", waiting)
    assert notified("astana-family-support", "referral.cancelled", waiting)
    event = db.session.scalar(sa.select(Event).where(Event.case_id == waiting.id, Event.kind == "consent.withdrawn"))
    assert event.detail == {"consent_id": consent.id, "agency_types": ["health", "justice", "civil_society"]}
    assert db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "consent.withdraw",
                                                         AuditEntry.object_id == str(waiting.id)))

    # A new referral that needs the consent is refused.
    again = api("social@demo.kz", "POST", f"/api/v1/cases/{waiting.id}/referrals",
                json={"to_stage": "health-screening", "to_agency": "astana-childrens-clinic", "reason": "Again"})
    assert again.status_code == 422
    assert [problem["code"] for problem in again.json["problems"]] == ["consent_required"]
    case = api("social@demo.kz", "GET", f"/api/v1/cases/{waiting.id}").json
    assert [c["state"] for c in case["consents"]] == ["withdrawn"]


def test_agencies_already_working_keep_their_referral_and_are_told(api, demo):
    busy = demo_case("Fictionov")
    assert withdraw(api, "social@demo.kz", busy, busy.consents[0].id).status_code == 200
    db.session.expire_all()
    assert referral_to(busy, "health-screening").status.value == "in-progress"
    assert referral_to(busy, "legal-status-review").status.value == "accepted"
    for agency in ("astana-childrens-clinic", "astana-juvenile-prosecutor"):
        told = notified(agency, "consent.withdrawn", busy)
        assert told, agency
        # The notice names the case number and the stage, never the child or the reason.
        params = " ".join(str(value) for value in told[0].params.values())
        assert "Fictionov" not in params and "Daniyar" not in params and REASON not in params


@pytest.mark.parametrize("reason", ["", "   ", "x" * 2001])
def test_a_withdrawal_needs_a_reason_and_changes_nothing_without_one(api, waiting, reason):
    consent_id = waiting.consents[0].id
    response = withdraw(api, "social@demo.kz", waiting, consent_id, reason)
    assert response.status_code == 422
    assert "reason" in response.json["errors"]
    db.session.expire_all()
    assert db.session.get(Consent, consent_id).withdrawn_at is None
    assert referral_to(waiting, "health-screening").status.value == "requested"


def test_twice_is_a_conflict_and_others_cannot_see_it(api, waiting):
    consent_id = waiting.consents[0].id
    # The school has nothing to do with the case; the clinic has only been asked.
    assert withdraw(api, "school@demo.kz", waiting, consent_id).status_code == 404
    assert withdraw(api, "health@demo.kz", waiting, consent_id).status_code == 404
    assert withdraw(api, "social@demo.kz", waiting, 999999).status_code == 404
    assert withdraw(api, "social@demo.kz", waiting, consent_id).status_code == 200
    assert withdraw(api, "social@demo.kz", waiting, consent_id).status_code == 409


def test_an_expired_consent_covers_nothing(api, demo):
    refused = demo_case("Inventova")  # its consent covers health; the clinic refused, the route is open again
    response = api("social@demo.kz", "POST", f"/api/v1/cases/{refused.id}/consents", json={
        "given_by": "Aunt", "relationship_to_child": "aunt", "agency_types": ["civil_society"],
        "given_on": (date.today() - timedelta(days=30)).isoformat(),
        "expires_on": (date.today() - timedelta(days=1)).isoformat()})
    assert response.status_code == 201
    assert response.json["state"] == "expired"
    consent = db.session.get(Consent, response.json["id"])
    assert not consent.covers("civil_society", date.today())
    assert consent.covers("civil_society", date.today() - timedelta(days=2))


def test_withdraw_through_the_case_page(client, sign_in, waiting):
    sign_in("social@demo.kz")
    consent_id = waiting.consents[0].id
    page = client.get(f"/cases/{waiting.id}").get_data(as_text=True)
    assert "Withdraw a consent" in page and 'data-state="active"' in page

    refused = client.post(f"/cases/{waiting.id}/consents/{consent_id}/withdraw", data={"reason": " "})
    assert refused.status_code == 422
    assert "Say why the consent is withdrawn." in refused.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Consent, consent_id).withdrawn_at is None

    done = client.post(f"/cases/{waiting.id}/consents/{consent_id}/withdraw", data={"reason": REASON})
    assert done.status_code == 302
    page = client.get(f"/cases/{waiting.id}").get_data(as_text=True)
    assert 'data-state="withdrawn"' in page and REASON in page
    assert "Consent withdrawn" in page  # the timeline

    client.post("/language", data={"locale": "ru"})
    page = client.get(f"/cases/{waiting.id}").get_data(as_text=True)
    assert "Отозвано" in page
