"""Disclosures (DESIGN §13): who read or received a child's record and when, from the audit log, per agency, role
and kind; readable by those who see the full record, and the read itself is audited."""

import pytest
import sqlalchemy as sa

from referral.actors import Actor
from referral.audit.models import AuditEntry
from referral.cases.disclosures import disclosures_of
from referral.cases.models import Case
from referral.extensions import db
from referral.notifications.delivery import deliver_outbox
from tests.service.test_delivery import http_receiver, scenario  # noqa: F401 - a fixture and a helper


def demo_case(family_name: str) -> Case:
    return db.session.scalar(sa.select(Case).where(Case.family_name == f"{family_name} (demo)"))


def rows_of(response) -> dict:
    return {(row["agency"], row["role"], row["what"]): row for row in response.json}


@pytest.fixture
def waiting(demo):
    return demo_case("Samplova")


def test_reads_exports_and_notifications_are_listed_per_agency_role_and_kind(api, client, sign_in, waiting):
    url = f"/api/v1/cases/{waiting.id}"
    api("social@demo.kz", "GET", url)
    api("social@demo.kz", "GET", url)
    api("supervisor@demo.kz", "GET", url)
    api("health@demo.kz", "GET", url)  # the clinic has only been asked: a summary
    sign_in("social@demo.kz")
    assert client.get(f"/cases/{waiting.id}/print").status_code == 200

    response = api("social@demo.kz", "GET", f"{url}/disclosures")
    assert response.status_code == 200, response.json
    rows = rows_of(response)
    assert rows[("astana-family-support", "staff", "full")]["count"] >= 2
    assert rows[("astana-family-support", "supervisor", "full")]["count"] == 1
    assert rows[("astana-childrens-clinic", "staff", "summary")]["count"] == 1
    assert rows[("astana-family-support", "staff", "export")]["count"] == 1
    # The demo's referrals told the clinic and the prosecutor about the case.
    assert rows[("astana-childrens-clinic", None, "notification")]["count"] >= 1
    assert rows[("astana-juvenile-prosecutor", None, "notification")]["count"] >= 1
    assert set(response.json[0]) == {"at", "agency", "role", "what", "count"}
    # Latest first.
    assert [row["at"] for row in response.json] == sorted((row["at"] for row in response.json), reverse=True)
    # No name of the child anywhere in the answer.
    assert "Samplova" not in response.get_data(as_text=True) and "Amina" not in response.get_data(as_text=True)


def test_only_full_readers_may_see_them_and_each_look_is_audited(api, waiting):
    url = f"/api/v1/cases/{waiting.id}/disclosures"
    assert api("health@demo.kz", "GET", url).status_code == 404  # only asked
    assert api("school@demo.kz", "GET", url).status_code == 404  # unrelated
    assert api("coordinator@demo.kz", "GET", url).status_code == 200  # the region's coordinator
    entry = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "case.disclosures.read")).all()
    assert [(e.actor_label, e.object_id) for e in entry] == [("coordinator@demo.kz", str(waiting.id))]


def test_the_page_lists_them_for_printing_in_russian(client, sign_in, api, waiting):
    api("health@demo.kz", "GET", f"/api/v1/cases/{waiting.id}")
    sign_in("social@demo.kz", locale="ru")
    page = client.get(f"/cases/{waiting.id}/disclosures")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert 'data-what="summary"' in text and 'data-agency="astana-childrens-clinic"' in text
    assert "Кто видел дело" in text
    assert client.get(f"/cases/{waiting.id}").get_data(as_text=True).count(f"/cases/{waiting.id}/disclosures") == 1
    sign_in("school@demo.kz")
    assert client.get(f"/cases/{waiting.id}/disclosures").status_code == 404


def test_a_delivered_webhook_is_a_disclosure_to_its_agency(make_app, make_agency, make_user, http_receiver):  # noqa: F811
    handler, url = http_receiver
    app, context, case, receiver = scenario(make_app, make_agency, make_user, webhook_url=url)
    try:
        assert deliver_outbox().sent == 1
        found = disclosures_of(case.id, Actor.system_actor("test"))
        sent = [row for row in found if row.what == "webhook"]
        assert len(sent) == 1 and sent[0].agency == receiver.agency.code and sent[0].count == 1
        assert sent[0].role is None
    finally:
        context.pop()
