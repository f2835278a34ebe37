"""Two people acting on one referral at the same moment: exactly one change (PostgreSQL, real connections)."""

import functools

import pytest
import sqlalchemy as sa

from referral.actors import Actor
from referral.auth.models import User
from referral.cases import service as cases
from referral.cases.models import Event
from referral.designer import service as designer
from referral.errors import Conflict, Invalid
from referral.extensions import db
from referral.referrals import service as referrals
from referral.referrals.models import Referral
from tests.appfixtures import PG_URL, at_once

pytestmark = pytest.mark.skipif(not PG_URL, reason="needs PostgreSQL (REFERRAL_TEST_DATABASE_URL)")

WORKFLOW = {
    "key": "pair",
    "name": "Pair",
    "stages": [
        {"key": "start", "name": "Start", "agency_type": "social", "start": True},
        {"key": "check", "name": "Check", "agency_type": "health", "respond_within": "P1D"},
        {"key": "end", "name": "End", "agency_type": "social", "terminal": True, "respond_within": "P1D"},
    ],
    "transitions": [{"from": "start", "to": "check"}, {"from": "check", "to": "end"}],
}
THREADS = 12


@pytest.fixture
def requested(app, make_agency, make_user):
    designer.save_draft(WORKFLOW, Actor.system_actor("test"))
    designer.publish("pair", Actor.system_actor("test"))
    social, health = make_agency(type="social"), make_agency(type="health")
    sender = make_user(agency=social)
    receivers = [make_user(agency=health) for _ in range(THREADS)]
    child = cases.ChildData(given_name="Test", family_name="Child", sex="male", region="KZ-71", estimated_age=9)
    case = cases.register_case("pair", "high", child, Actor.of(sender))
    referral = referrals.refer(case.id, "check", health.code, "Screening", Actor.of(sender))
    db.session.commit()
    return referral.id, [user.id for user in receivers], sender.id, health.code, case.id


def test_many_accepting_the_same_referral_at_once_yields_one_acceptance(app, requested):
    referral_id, receiver_ids, *_ = requested
    db.session.remove()

    def accept(index):
        return referrals.act(referral_id, "accept", 1, Actor.of(_user(receiver_ids[index]))).status.value

    results = at_once(app, [functools.partial(accept, index) for index in range(THREADS)])
    accepted = [r for r in results if r == "accepted"]
    conflicts = [r for r in results if isinstance(r, Conflict)]
    assert len(accepted) == 1, results
    assert len(conflicts) == THREADS - 1, results
    referral = db.session.get(Referral, referral_id)
    assert referral.status.value == "accepted" and referral.version == 2
    events = db.session.scalars(sa.select(Event).where(Event.referral_id == referral_id,
                                                       Event.kind == "referral.accepted")).all()
    assert len(events) == 1


def test_many_referring_to_the_same_agency_at_once_yields_one_referral(app, requested):
    referral_id, receiver_ids, sender_id, health_code, case_id = requested
    referrals.act(referral_id, "cancel", 1, Actor.of(_user(sender_id)), reason="Re-route")
    db.session.commit()
    db.session.remove()

    def refer(index):
        return referrals.refer(case_id, "check", health_code, f"Attempt {index}", Actor.of(_user(sender_id))).id

    results = at_once(app, [functools.partial(refer, index) for index in range(THREADS)])
    created = [r for r in results if isinstance(r, int)]
    refused = [r for r in results if isinstance(r, Invalid)]
    assert len(created) == 1, results
    assert len(refused) == THREADS - 1
    assert all(p["code"] == "duplicate_open_referral" for error in refused for p in error.problems)
    open_count = db.session.scalar(sa.select(sa.func.count()).select_from(Referral).where(
        Referral.case_id == case_id, Referral.to_stage == "check", Referral.status == "requested"))
    assert open_count == 1


def _user(user_id):
    return db.session.get(User, user_id)
