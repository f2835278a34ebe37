"""Open cases with nothing open (issue 9): who sees them, who may refer them onward, closing them with a reason."""

import logging
from datetime import date

import pytest
import sqlalchemy as sa

from referral.audit.models import AuditEntry
from referral.auth.models import User
from referral.cases import service as cases
from referral.cases import stuck
from referral.cases.models import Case, CaseStatus, Event
from referral.directory.models import Agency
from referral.errors import Conflict, Forbidden, Invalid, NotFound
from referral.extensions import db
from referral.notifications.models import Delivery, Notification
from referral.referrals import service as referrals
from referral.referrals.models import Referral
from tests.appfixtures import demo_actor

REASON = "Family moved abroad with Aigerim Testova; the guardian Bolat Testov confirmed by phone."


def register(region: str = "KZ-71") -> Case:
    child = cases.ChildData(given_name="Aigerim", family_name="Testova", sex="female", region=region,
                            estimated_age=10)
    case = cases.register_case("returned-child", "medium", child, demo_actor("social@demo.kz"))
    cases.record_consent(case.id, cases.ConsentData(given_by="Bolat Testov", relationship_to_child="uncle",
                                                    agency_types=["health", "justice"], given_on=date.today()),
                         demo_actor("social@demo.kz"))
    db.session.commit()
    return case


def first_referral(case: Case) -> Referral:
    return db.session.scalar(sa.select(Referral).where(Referral.case_id == case.id, Referral.from_stage.is_(None)))


def screening_of(case: Case) -> Referral:
    return db.session.scalar(sa.select(Referral).where(Referral.case_id == case.id,
                                                       Referral.to_stage == "health-screening"))


def act(referral: Referral, action: str, email: str, **text) -> Referral:
    db.session.refresh(referral)
    done = referrals.act(referral.id, action, referral.version, demo_actor(email), **text)
    db.session.commit()
    return done


def stuck_case(region: str = "KZ-71") -> Case:
    """Register a case and complete its registration without referring it onward."""
    case = register(region)
    act(first_referral(case), "complete", "social@demo.kz", outcome="Registered; guardian found.")
    return case


def stuck_numbers(email: str) -> set[str]:
    return set(db.session.scalars(stuck.stuck_cases_query(demo_actor(email)).with_only_columns(Case.number)))


def fresh(case: Case) -> Case:
    db.session.expire_all()
    return db.session.get(Case, case.id)


def test_a_stage_completed_without_referring_onward_leaves_the_case_stuck(demo):
    case = stuck_case()
    moving = register()
    assert stuck.is_stuck(fresh(case)) and not stuck.is_stuck(fresh(moving))
    assert case.number in stuck_numbers("social@demo.kz") and moving.number not in stuck_numbers("social@demo.kz")
    # The demo's cases are waiting, under way, re-routable or closed at the terminal stage: none is stuck.
    assert stuck_numbers("coordinator@demo.kz") == {case.number}


def test_the_holding_agency_and_the_region_coordinator_see_it_and_no_one_else(demo):
    case = stuck_case(region="KZ-75")  # registered in Astana for a child who lives in Almaty
    assert case.number in stuck_numbers("social@demo.kz")  # the registering agency holds it
    assert case.number in stuck_numbers("supervisor@demo.kz")
    assert case.number in stuck_numbers("coordinator.almaty@demo.kz")  # region-wide, from another agency
    assert case.number in stuck_numbers("admin@demo.kz")
    assert case.number not in stuck_numbers("school@demo.kz")  # never asked, never held
    assert case.number not in stuck_numbers("health@demo.kz")
    assert case.number not in stuck_numbers("shymkent@demo.kz")


@pytest.mark.parametrize("email", ["social@demo.kz", "health@demo.kz", "school@demo.kz", "rehab@demo.kz",
                                   "coordinator@demo.kz", "coordinator.almaty@demo.kz", "admin@demo.kz"])
def test_the_list_holds_exactly_the_stuck_cases_a_single_read_opens(demo, email):
    stuck_case("KZ-71")
    stuck_case("KZ-75")
    held = register()
    act(referrals.refer(held.id, "health-screening", "astana-childrens-clinic", "Check-up",
                        demo_actor("social@demo.kz")), "accept", "health@demo.kz")
    act(first_referral(held), "complete", "social@demo.kz", outcome="Registered.")
    act(screening_of(held), "complete", "health@demo.kz", outcome="Healthy.")
    who = demo_actor(email)
    listed = set(db.session.scalars(stuck.stuck_cases_query(who)))
    for case in db.session.scalars(sa.select(Case)):
        try:
            cases.get_case(case.id, who, audit=False)
            readable = True
        except NotFound:
            readable = False
        assert (case in listed) == (readable and stuck.is_stuck(case)), (email, case.number)
    assert stuck.stuck_count(who) == len(listed)


def test_the_agency_where_it_stopped_may_refer_it_onward(demo):
    case = register()
    screening = referrals.refer(case.id, "health-screening", "astana-childrens-clinic", "Check-up",
                                demo_actor("social@demo.kz"))
    db.session.commit()
    act(screening, "accept", "health@demo.kz")
    act(first_referral(case), "complete", "social@demo.kz", outcome="Registered.")
    assert not stuck.is_stuck(fresh(case))
    act(screening, "complete", "health@demo.kz", outcome="Healthy; vaccinations caught up.")
    case = fresh(case)
    assert stuck.is_stuck(case)
    assert [r.to_stage for r in stuck.where_it_stopped(case)] == ["health-screening"]
    # The clinic, where it stopped, is offered the workflow's next stage; the registration was carried on.
    routes = referrals.routes_for(case, demo_actor("health@demo.kz"))
    assert [route.stage.key for route in routes] == ["initial-assessment"]
    assert referrals.routes_for(case, demo_actor("social@demo.kz")) == []

    onward = referrals.refer(case.id, "initial-assessment", "astana-family-support", "Assessment after screening",
                             demo_actor("health@demo.kz"))
    db.session.commit()
    assert onward.from_stage == "health-screening" and onward.parent_id == screening.id
    assert not stuck.is_stuck(fresh(case))
    assert stuck.where_it_stopped(fresh(case)) == []
    # A refusal leaves it stuck again, and the clinic may try another agency.
    act(onward, "reject", "social@demo.kz", reason="No place this month.")
    assert stuck.is_stuck(fresh(case))
    assert [r.to_stage for r in stuck.where_it_stopped(fresh(case))] == ["health-screening"]


def test_a_case_that_is_moving_keeps_the_routing_rules(demo):
    case = register()
    act(referrals.refer(case.id, "health-screening", "astana-childrens-clinic", "Check-up",
                        demo_actor("social@demo.kz")), "accept", "health@demo.kz")
    act(screening_of(case), "complete", "health@demo.kz", outcome="Healthy.")
    # The registration is still in progress: the case is not stuck, and the clinic's ended stage gives no route.
    assert not stuck.is_stuck(fresh(case))
    assert referrals.routes_for(fresh(case), demo_actor("health@demo.kz")) == []
    with pytest.raises(Invalid) as refused:
        referrals.refer(case.id, "initial-assessment", "astana-family-support", "x", demo_actor("health@demo.kz"))
    assert [p["code"] for p in refused.value.problems] == ["route_not_allowed"]


def test_a_coordinator_closes_a_stuck_case_with_a_reason(app, demo, caplog):
    app.config["REFERRAL_SMTP_URL"] = "smtp://127.0.0.1:2525"
    db.session.scalar(sa.select(Agency).where(Agency.code == "astana-family-support")).webhook_url = \
        "https://hooks.example.org/referrals"
    db.session.commit()
    case = stuck_case()
    caplog.set_level(logging.DEBUG)

    closed = stuck.close_case(case.id, f"  {REASON}  ", demo_actor("coordinator@demo.kz"))
    db.session.commit()
    case = fresh(case)
    assert closed.id == case.id and case.status is CaseStatus.closed and case.closed_at is not None
    assert not stuck.is_stuck(case) and case.number not in stuck_numbers("coordinator@demo.kz")
    event = db.session.scalars(sa.select(Event).where(Event.case_id == case.id).order_by(Event.id)).all()[-1]
    assert (event.kind, event.from_status, event.to_status) == ("case.closed", "open", "closed")
    assert event.detail["reason"] == REASON and event.actor_label == "Aru Coordinator (demo)"
    # The demo's history closed other cases the same way: this case's entry is the one to look at.
    [entry] = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "case.close",
                                                             AuditEntry.object_id == str(case.id))).all()
    assert entry.actor_label == "coordinator@demo.kz"
    # The registering agency is told, by case number; the reason, which names people, goes nowhere else.
    told = db.session.scalars(sa.select(User.email).join(Notification, Notification.user_id == User.id)
                              .where(Notification.case_id == case.id, Notification.kind == "case.closed")).all()
    assert set(told) >= {"social@demo.kz", "supervisor@demo.kz"} and "coordinator@demo.kz" not in told
    params = db.session.scalars(sa.select(Notification.params).where(Notification.case_id == case.id)).all()
    deliveries = db.session.scalars(sa.select(Delivery)).all()
    assert {d.channel.value for d in deliveries} >= {"email", "webhook"}
    for text in ("Testov", "abroad"):
        assert text not in str(params) and text not in str([d.payload for d in deliveries])
        assert text not in str(entry.detail) and text not in caplog.text


def test_closing_is_refused_to_staff_and_supervisors_and_changes_nothing(demo):
    case = stuck_case()
    events = len(cases.timeline(case))
    for email in ("social@demo.kz", "supervisor@demo.kz"):
        with pytest.raises(Forbidden):
            stuck.close_case(case.id, REASON, demo_actor(email))
        db.session.rollback()
        assert not stuck.may_close(fresh(case), demo_actor(email))
    assert fresh(case).status is CaseStatus.open and len(cases.timeline(fresh(case))) == events


def test_closing_keeps_to_the_coordinators_region(demo):
    case = stuck_case(region="KZ-75")
    # Aru coordinates Astana: her agency registered the case, but the child lives in Almaty.
    assert not stuck.may_close(fresh(case), demo_actor("coordinator@demo.kz"))
    with pytest.raises(Forbidden):
        stuck.close_case(case.id, REASON, demo_actor("coordinator@demo.kz"))
    db.session.rollback()
    astana = stuck_case(region="KZ-71")
    with pytest.raises(NotFound):  # Dana coordinates Almaty: an Astana case she never held does not exist for her
        stuck.close_case(astana.id, REASON, demo_actor("coordinator.almaty@demo.kz"))
    db.session.rollback()
    assert stuck.may_close(fresh(case), demo_actor("coordinator.almaty@demo.kz"))
    stuck.close_case(case.id, REASON, demo_actor("coordinator.almaty@demo.kz"))
    stuck.close_case(astana.id, REASON, demo_actor("admin@demo.kz"))  # administrators close anywhere
    db.session.commit()
    assert fresh(case).status is CaseStatus.closed and fresh(astana).status is CaseStatus.closed


@pytest.mark.parametrize("reason", ["", "   \n ", None, "x" * (stuck.MAX_CLOSE_REASON + 1)])
def test_closing_needs_a_reason_of_bounded_length(demo, reason):
    case = stuck_case()
    with pytest.raises(Invalid) as refused:
        stuck.close_case(case.id, reason, demo_actor("coordinator@demo.kz"))
    assert "reason" in refused.value.errors
    db.session.rollback()
    assert fresh(case).status is CaseStatus.open and stuck.is_stuck(fresh(case))


def test_a_case_with_an_open_referral_is_not_closed_by_hand(demo):
    case = register()
    with pytest.raises(Conflict) as refused:
        stuck.close_case(case.id, REASON, demo_actor("coordinator@demo.kz"))
    assert [p["code"] for p in refused.value.problems] == ["open_referrals"]
    db.session.rollback()
    assert fresh(case).status is CaseStatus.open


def test_a_closed_case_is_not_closed_twice(demo):
    case = stuck_case()
    stuck.close_case(case.id, REASON, demo_actor("coordinator@demo.kz"))
    db.session.commit()
    with pytest.raises(Conflict, match="already closed"):
        stuck.close_case(case.id, "Again", demo_actor("admin@demo.kz"))
    db.session.rollback()
    assert [e.kind for e in cases.timeline(fresh(case))].count("case.closed") == 1
    # And a closed case offers no route onward.
    assert referrals.routes_for(fresh(case), demo_actor("social@demo.kz")) == []
