"""Races on one case, on PostgreSQL with real concurrent connections: a risk change beside an action, the sweep
beside an accept, the last two referrals of a case completing at once. One lock order (case, referrals,
deadlines) makes each of them end in a state a person can explain, never a 500 or a stuck case."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from referral.actors import Actor
from referral.auth.models import User
from referral.cases import service as cases
from referral.cases.models import Case, Event
from referral.deadlines.models import Deadline
from referral.designer import service as designer
from referral.errors import Conflict, NotFound
from referral.extensions import db, utcnow
from referral.referrals import service as referrals
from referral.referrals.models import Referral
from referral.scheduler.sweep import sweep
from tests.appfixtures import PG_URL, at_once

pytestmark = pytest.mark.skipif(not PG_URL, reason="needs PostgreSQL (REFERRAL_TEST_DATABASE_URL)")

CASES = 6


def workflow(on_timeout: str) -> dict:
    return {
        "key": "race",
        "name": "Race",
        "stages": [
            {"key": "start", "name": "Start", "agency_type": "social", "start": True},
            {"key": "check", "name": "Check", "agency_type": "health", "terminal": True,
             "respond_within": {"high": "PT4H", "medium": "P1D", "low": "P2D"}, "on_timeout": on_timeout},
            {"key": "school", "name": "School", "agency_type": "education", "terminal": True},
        ],
        "transitions": [{"from": "start", "to": "check", "mode": "parallel"},
                        {"from": "start", "to": "school", "mode": "parallel"}],
    }


@pytest.fixture
def world(app, make_agency, make_user):
    def build(on_timeout="escalate"):
        designer.save_draft(workflow(on_timeout), Actor.system_actor("test"))
        designer.publish("race", Actor.system_actor("test"))
        social, health = make_agency(type="social"), make_agency(type="health")
        school = make_agency(type="education")
        people = {"social": make_user(agency=social), "health": make_user(agency=health),
                  "school": make_user(agency=school), "supervisor": make_user(role="supervisor", agency=health)}
        child = cases.ChildData(given_name="Test", family_name="Child", sex="male", region="KZ-71", estimated_age=9)
        made = []
        for _ in range(CASES):
            case = cases.register_case("race", "high", child, Actor.of(people["social"]))
            referral = referrals.refer(case.id, "check", health.code, "Screening", Actor.of(people["social"]))
            made.append((case.id, referral.id))
        db.session.commit()
        ids = {name: user.id for name, user in people.items()}
        db.session.remove()
        return made, ids, (social.code, health.code, school.code)
    return build


def user(user_id):
    return db.session.get(User, user_id)


def test_a_risk_change_beside_an_accept_is_no_error_and_no_spurious_conflict(app, world):
    made, ids, _ = world()
    first = db.session.scalars(sa.select(Referral).where(Referral.from_agency_id.is_(None))).all()
    assert {referral.version for referral in first} == {1}  # registration does not count as two changes
    works = []
    for case_id, referral_id in made:
        works.append(lambda r=referral_id: referrals.act(r, "accept", 1, Actor.of(user(ids["health"]))).status)
        works.append(lambda c=case_id: cases.change_risk_level(c, "low", Actor.of(user(ids["social"]))).risk_level)
    results = at_once(app, works)
    errors = [result for result in results if isinstance(result, Exception)]
    assert errors == []  # before: StaleDataError (a 500) in 16 of 20 pairs, or a 409 for the receiver
    for _, referral_id in made:
        assert db.session.get(Referral, referral_id).version == 2  # the accept; the moved due date is not a change


def test_a_risk_change_keeps_the_version_a_receiver_holds(app, world):
    made, ids, _ = world()
    case_id, referral_id = made[0]
    before = db.session.get(Referral, referral_id)
    respond_by = before.respond_by
    cases.change_risk_level(case_id, "low", Actor.of(user(ids["social"])))
    db.session.commit()
    db.session.expire_all()
    after = db.session.get(Referral, referral_id)
    assert after.version == 1 and after.respond_by > respond_by and after.due_at == after.respond_by
    referrals.act(referral_id, "accept", 1, Actor.of(user(ids["health"])))
    db.session.commit()


def respond_deadline(referral_id):
    return db.session.scalar(sa.select(Deadline).where(Deadline.referral_id == referral_id,
                                                       Deadline.kind == "respond"))


def test_the_sweep_cancelling_beside_accepts_never_deadlocks(app, world):
    made, ids, _ = world("cancel")
    later = utcnow() + timedelta(days=3)
    works = [lambda: sweep(now=later, batch_size=2)]
    works += [lambda r=referral_id: referrals.act(r, "accept", 1, Actor.of(user(ids["health"]))).status
              for _, referral_id in made]
    results = at_once(app, works)
    assert not isinstance(results[0], Exception), results[0]  # before: DeadlockDetected, the batch rolled back
    for (_, referral_id), result in zip(made, results[1:], strict=True):
        referral = db.session.get(Referral, referral_id)
        deadline = respond_deadline(referral_id)
        if referral.status.value == "cancelled":
            # The sweep came first: the accept met a newer version (409), or a cancelled referral the receiver
            # no longer sees (404) — an answer, never a 500.
            assert isinstance(result, Conflict | NotFound), result
            assert referral.status_reason == "no-response" and deadline.status.value == "missed"
        else:
            assert referral.status.value == "accepted" and not isinstance(result, Exception), result
            assert deadline.status.value == "met"


def test_an_accept_that_waited_for_the_sweep_does_not_overwrite_missed_with_met(app, world):
    made, ids, _ = world("escalate")
    later = utcnow() + timedelta(days=3)
    works = [lambda: sweep(now=later, batch_size=2)]
    works += [lambda r=referral_id: referrals.act(r, "accept", 1, Actor.of(user(ids["health"]))).status
              for _, referral_id in made]
    results = at_once(app, works)
    assert not any(isinstance(result, Exception) for result in results), results
    for _, referral_id in made:
        missed = db.session.scalar(sa.select(sa.func.count()).select_from(Event).where(
            Event.referral_id == referral_id, Event.kind == "deadline.missed"))
        status = respond_deadline(referral_id).status.value
        # The row agrees with the timeline (and with the escalations sent): missed once escalated, else met.
        assert status == ("missed" if missed else "met"), (referral_id, missed, status)


def test_a_case_closes_when_its_last_two_referrals_complete_at_once(app, world):
    made, ids, (social, health, school) = world()
    social_user = user(ids["social"])
    pairs = []
    for case_id, check_id in made:
        school_referral = referrals.refer(case_id, "school", school, "Enrolment", Actor.of(social_user))
        for referral_id, who in ((check_id, "health"), (school_referral.id, "school")):
            referral = db.session.get(Referral, referral_id)
            referrals.act(referral_id, "accept", referral.version, Actor.of(user(ids[who])))
            referrals.act(referral_id, "start", referral.version, Actor.of(user(ids[who])))
        start = db.session.scalar(sa.select(Referral).where(Referral.case_id == case_id,
                                                            Referral.from_agency_id.is_(None)))
        referrals.act(start.id, "complete", start.version, Actor.of(social_user), outcome="Referred on")
        pairs.append((case_id, check_id, school_referral.id))
    db.session.commit()
    versions = {referral.id: referral.version for referral in db.session.scalars(sa.select(Referral))}
    db.session.remove()
    works = []
    for _, check_id, school_id in pairs:
        works.append(lambda r=check_id: referrals.act(r, "complete", versions[r], Actor.of(user(ids["health"])),
                                                      outcome="Healthy").status)
        works.append(lambda r=school_id: referrals.act(r, "complete", versions[r], Actor.of(user(ids["school"])),
                                                       outcome="Enrolled").status)
    results = at_once(app, works)
    assert not any(isinstance(result, Exception) for result in results), results
    for case_id, _, _ in pairs:
        assert db.session.get(Case, case_id).status.value == "closed"  # before: 8 of 10 stayed open for ever
