"""Messages on a referral (DESIGN.md §12): its two agencies read and write them, also while the receiver has only
been asked; coordinators in scope read them; anyone else gets 404; the other side is told without the text."""


import pytest
import sqlalchemy as sa

from referral.audit.models import AuditEntry
from referral.auth.models import User
from referral.directory.service import agency_by_code
from referral.extensions import db
from referral.notifications.models import Delivery, Notification
from referral.referrals.models import ReferralMessage

ASK = "Please send the vaccination record first."


def test_the_asked_agency_asks_and_the_sender_answers(api, asked, make_user):
    make_user(agency=agency_by_code("astana-juvenile-prosecutor"), role="coordinator", email="region@coord.kz")
    url = f"/api/v1/referrals/{asked.id}/messages"
    answer = "Attached to the case as a shared note."
    response = api("health@demo.kz", "POST", url, json={"text": ASK})
    assert response.status_code == 201 and response.json["agency"] == "astana-childrens-clinic"
    assert api("social@demo.kz", "POST", url, json={"text": answer}).status_code == 201
    listed = api("social@demo.kz", "GET", url).json
    assert [m["text"] for m in listed] == [ASK, answer]
    # The region's coordinator reads them and may not write; another agency sees nothing.
    assert len(api("region@coord.kz", "GET", url).json) == 2
    assert api("region@coord.kz", "POST", url, json={"text": "Hello"}).status_code == 403
    assert api("school@demo.kz", "GET", url).status_code == 404
    assert api("school@demo.kz", "POST", url, json={"text": "Hello"}).status_code == 404
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ReferralMessage)) == 2


def test_the_other_side_is_told_without_the_text(api, asked):
    api("health@demo.kz", "POST", f"/api/v1/referrals/{asked.id}/messages", json={"text": ASK})
    told = db.session.execute(sa.select(User.email, Notification.params).join(User, User.id == Notification.user_id)
                              .where(Notification.kind == "referral.message")).all()
    assert {email for email, _params in told} >= {"social@demo.kz"}
    assert "health@demo.kz" not in {email for email, _params in told}
    for _email, params in told:
        assert ASK not in str(params)
    for delivery in db.session.scalars(sa.select(Delivery)):
        assert ASK not in str(delivery.payload)
    for entry in db.session.scalars(sa.select(AuditEntry)):
        assert ASK not in str(entry.detail)


@pytest.mark.parametrize("text", ["", "  ", "x" * 5001])
def test_an_empty_or_overlong_message_is_refused(api, asked, text):
    response = api("health@demo.kz", "POST", f"/api/v1/referrals/{asked.id}/messages", json={"text": text})
    assert response.status_code == 422
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ReferralMessage)) == 0


def test_a_message_answered_on_the_referral_page(client, asked, sign_in):
    sign_in("health@demo.kz")
    page = client.get(f"/inbox/{asked.id}").get_data(as_text=True)
    assert 'id="message-form"' in page
    assert client.post(f"/inbox/{asked.id}/messages", data={"text": ASK}).status_code == 302
    sign_in("social@demo.kz")
    page = client.get(f"/inbox/{asked.id}").get_data(as_text=True)
    assert ASK in page and "Message to Astana Children" in page
    assert client.post(f"/inbox/{asked.id}/messages", data={"text": " "}).status_code == 422
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ReferralMessage)) == 1
