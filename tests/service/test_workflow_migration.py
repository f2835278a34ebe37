"""Moving running cases to another version of their workflow (DESIGN.md section 15): rules, clocks, one transaction."""

import copy
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from referral.audit.models import AuditEntry
from referral.cases import service as cases
from referral.cases.models import Case, CaseStatus, Event
from referral.cases.stuck import close_case
from referral.deadlines.models import Deadline, DeadlineKind, DeadlineStatus
from referral.designer import service as designer
from referral.errors import Forbidden, Invalid
from referral.extensions import db
from referral.migration import service as migration
from referral.notifications.models import Notification
from referral.notifications.service import render
from referral.referrals import service as referrals
from referral.referrals.models import Referral
from tests.appfixtures import demo_actor, stuck_case

KEY = "returned-child"


def publish_next(change) -> int:
    """Publish the next version of the bundled workflow, changed by ``change(document)``; return its number."""
    document = copy.deepcopy(designer.latest_version(KEY).document)
    change(document)
    designer.save_draft(document, demo_actor("coordinator@demo.kz"))
    number = designer.publish(KEY, demo_actor("coordinator@demo.kz")).number
    db.session.commit()
    return number


def stage_of(document, key):
    return next(stage for stage in document["stages"] if stage["key"] == key)


def rename(document, old, new):
    stage_of(document, old)["key"] = new
    for transition in document["transitions"]:
        for end in ("from", "to"):
            if transition[end] == old:
                transition[end] = new


def health_check_in_48_hours(document):
    """Version 2: health-screening becomes health-check, answered within 48 hours; registration takes 10 days."""
    rename(document, "health-screening", "health-check")
    stage_of(document, "health-check")["respond_within"] = "PT48H"
    stage_of(document, "registration")["complete_within"] = "P10D"


def register(given="Migra", risk="high") -> Case:
    child = cases.ChildData(given_name=given, family_name="Testova", sex="female", region="KZ-71", estimated_age=8)
    case = cases.register_case(KEY, risk, child, demo_actor("social@demo.kz"))
    db.session.commit()
    return case


def asked_for_screening(risk="high") -> Referral:
    """A case whose registration is active and whose clinic referral waits for an answer."""
    case = register(risk=risk)
    cases.record_consent(case.id, cases.ConsentData(given_by="Guardian", relationship_to_child="aunt",
                                                    agency_types=["health"], given_on=date.today()),
                         demo_actor("social@demo.kz"))
    referral = referrals.refer(case.id, "health-screening", "astana-childrens-clinic", "Check-up",
                               demo_actor("social@demo.kz"))
    db.session.commit()
    return referral


def accepted_screening() -> Referral:
    referral = asked_for_screening()
    referral = referrals.act(referral.id, "accept", referral.version, demo_actor("health@demo.kz"))
    db.session.commit()
    return referral


def pending(referral_id, kind):
    return db.session.scalar(sa.select(Deadline).where(Deadline.referral_id == referral_id, Deadline.kind == kind,
                                                       Deadline.status == DeadlineStatus.pending))


def snapshot():
    """Everything a migration could change, as plain values."""
    return {
        "cases": sorted(db.session.execute(sa.select(Case.id, Case.workflow_version_id, Case.status)).all()),
        "referrals": sorted(db.session.execute(sa.select(Referral.id, Referral.to_stage, Referral.from_stage,
                                                         Referral.version, Referral.respond_by,
                                                         Referral.complete_by)).all()),
        "deadlines": sorted(db.session.execute(sa.select(Deadline.id, Deadline.status, Deadline.due_at)).all()),
        "events": db.session.scalar(sa.select(sa.func.count()).select_from(Event)),
        "notifications": db.session.scalar(sa.select(sa.func.count()).select_from(Notification)),
    }


def version_id(number):
    return designer.get_version(KEY, number).id


def test_a_dry_run_says_what_would_move_and_changes_nothing(demo):
    waiting = asked_for_screening()
    fresh = register("Fresh")
    publish_next(health_check_in_48_hours)
    before = snapshot()
    open_on_v1 = db.session.scalar(sa.select(sa.func.count()).select_from(Case).where(
        Case.workflow_version_id == version_id(1), Case.status == CaseStatus.open))

    result = migration.migrate(KEY, 1, 2, {}, True, demo_actor("coordinator@demo.kz"))
    db.session.commit()

    assert result.applied is False
    assert result.cases == open_on_v1
    assert result.movable + len(result.blocked) == open_on_v1
    blocked = {item.number: item for item in result.blocked}
    assert blocked[waiting.case.number].reason == "requested_stage_removed"
    assert blocked[waiting.case.number].stages == ["health-screening"]
    assert fresh.number not in blocked and fresh.number in result.moved_numbers
    # How the registration clock of the fresh case would move: 10 days from when it started, not from now.
    shift = next(s for s in result.deadlines if s.case_id == fresh.id and s.kind == "complete")
    assert shift.after == shift.started_at + timedelta(days=10)
    assert snapshot() == before


def test_mapping_the_renamed_stage_moves_the_case_and_recomputes_its_clock_from_when_it_was_sent(demo):
    waiting = asked_for_screening()
    sent_at = waiting.created_at
    publish_next(health_check_in_48_hours)

    result = migration.migrate(KEY, 1, 2, {"health-screening": "health-check"}, False,
                               demo_actor("coordinator@demo.kz"))
    db.session.commit()

    assert result.applied is True
    assert waiting.case.number in result.moved_numbers
    case = db.session.get(Case, waiting.case_id)
    assert case.workflow_version_id == version_id(2)
    referral = db.session.get(Referral, waiting.id)
    assert referral.to_stage == "health-check"
    respond = pending(referral.id, DeadlineKind.respond)
    assert respond.started_at == sent_at
    assert respond.due_at == sent_at + timedelta(hours=48)
    assert referral.respond_by == respond.due_at
    # The receiver can act on what it now reads, on the new stage.
    referral = referrals.act(referral.id, "accept", referral.version, demo_actor("health@demo.kz"))
    db.session.commit()
    assert referral.status.value == "accepted"


def test_an_accepted_referral_keeps_its_start_when_accepted_and_the_case_gets_a_timeline_event(demo):
    accepted = accepted_screening()
    complete_before = pending(accepted.id, DeadlineKind.complete)
    accepted_at = accepted.responded_at
    publish_next(health_check_in_48_hours)

    migration.migrate(KEY, 1, 2, {"health-screening": "health-check"}, False, demo_actor("coordinator@demo.kz"))
    db.session.commit()

    complete = pending(accepted.id, DeadlineKind.complete)
    assert complete.id == complete_before.id and complete.started_at == accepted_at
    assert complete.due_at == complete_before.due_at  # health-check keeps the screening's complete_within
    event = db.session.scalar(sa.select(Event).where(Event.case_id == accepted.case_id,
                                                     Event.kind == "workflow.migrated"))
    assert event.detail["from_version"] == 1 and event.detail["to_version"] == 2
    assert event.detail["stages"] == {"health-screening": "health-check"}
    assert db.session.get(Referral, accepted.id).to_stage == "health-check"


def test_an_active_referral_at_a_removed_unmapped_stage_blocks_its_case(demo):
    accepted = accepted_screening()
    publish_next(health_check_in_48_hours)

    result = migration.migrate(KEY, 1, 2, {}, False, demo_actor("coordinator@demo.kz"))
    db.session.commit()

    blocked = {item.case_id: item for item in result.blocked}
    assert blocked[accepted.case_id].reason == "stage_removed"
    assert db.session.get(Case, accepted.case_id).workflow_version_id == version_id(1)
    assert db.session.get(Referral, accepted.id).to_stage == "health-screening"


def test_closed_cases_never_move(demo):
    closed = stuck_case()
    close_case(closed.id, "Moved abroad with the family.", demo_actor("coordinator@demo.kz"))
    db.session.commit()
    publish_next(health_check_in_48_hours)

    result = migration.migrate(KEY, 1, 2, {"health-screening": "health-check"}, False,
                               demo_actor("coordinator@demo.kz"))
    db.session.commit()

    assert closed.number not in result.moved_numbers
    assert closed.id not in {item.case_id for item in result.blocked}
    case = db.session.get(Case, closed.id)
    assert case.status is CaseStatus.closed and case.workflow_version_id == version_id(1)
    assert db.session.scalar(sa.select(Event.id).where(Event.case_id == closed.id,
                                                       Event.kind == "workflow.migrated")) is None


def test_the_holding_agencies_are_told_without_the_childs_name_and_it_is_audited(demo):
    waiting = asked_for_screening()
    publish_next(health_check_in_48_hours)

    migration.migrate(KEY, 1, 2, {"health-screening": "health-check"}, False, demo_actor("coordinator@demo.kz"))
    db.session.commit()

    clinic_user = demo_actor("health@demo.kz").user
    notice = db.session.scalar(sa.select(Notification).where(Notification.user_id == clinic_user.id,
                                                             Notification.kind == "workflow.migrated",
                                                             Notification.case_id == waiting.case_id))
    text = render(notice)
    assert waiting.case.number in text and "version 2" in text
    assert "Migra" not in text and "Testova" not in text
    actions = set(db.session.scalars(sa.select(AuditEntry.action).where(AuditEntry.action.in_(
        ["workflow.migrated", "case.migrated"]))))
    assert actions == {"workflow.migrated", "case.migrated"}


def test_moving_back_works_the_same_way(demo):
    waiting = asked_for_screening()
    respond_v1 = pending(waiting.id, DeadlineKind.respond).due_at
    publish_next(health_check_in_48_hours)
    migration.migrate(KEY, 1, 2, {"health-screening": "health-check"}, False, demo_actor("coordinator@demo.kz"))
    db.session.commit()

    result = migration.migrate(KEY, 2, 1, {"health-check": "health-screening"}, False,
                               demo_actor("coordinator@demo.kz"))
    db.session.commit()

    assert waiting.case.number in result.moved_numbers
    assert db.session.get(Case, waiting.case_id).workflow_version_id == version_id(1)
    assert db.session.get(Referral, waiting.id).to_stage == "health-screening"
    assert pending(waiting.id, DeadlineKind.respond).due_at == respond_v1


def test_a_failure_midway_leaves_nothing_moved(demo):
    first = register("First")
    second = register("Second")
    publish_next(health_check_in_48_hours)
    before = snapshot()
    dialect = db.engine.dialect.name
    # The database itself refuses the second case's event, after the first case has been moved in the session.
    if dialect == "postgresql":
        db.session.execute(sa.text(
            "CREATE FUNCTION test_refuse_event() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"IF NEW.case_id = {second.id} AND NEW.kind = 'workflow.migrated' THEN "
            "RAISE EXCEPTION 'refused by the test'; END IF; RETURN NEW; END $$"))
        db.session.execute(sa.text("CREATE TRIGGER test_refuse_event BEFORE INSERT ON events FOR EACH ROW "
                                   "EXECUTE FUNCTION test_refuse_event()"))
    else:
        db.session.execute(sa.text(
            f"CREATE TRIGGER test_refuse_event BEFORE INSERT ON events WHEN NEW.case_id = {second.id} "
            "AND NEW.kind = 'workflow.migrated' BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"))
    db.session.commit()
    try:
        with pytest.raises(sa.exc.DBAPIError):
            migration.migrate(KEY, 1, 2, {"health-screening": "health-check"}, False,
                              demo_actor("coordinator@demo.kz"))
        db.session.rollback()
        assert snapshot() == before
        assert db.session.get(Case, first.id).workflow_version_id == version_id(1)
    finally:
        db.session.rollback()
        db.session.execute(sa.text("DROP TRIGGER test_refuse_event" + (" ON events" if dialect == "postgresql"
                                                                         else "")))
        if dialect == "postgresql":
            db.session.execute(sa.text("DROP FUNCTION test_refuse_event()"))
        db.session.commit()


def test_only_coordinators_and_admins_move_cases_and_bad_requests_change_nothing(demo):
    publish_next(health_check_in_48_hours)
    with pytest.raises(Forbidden):
        migration.migrate(KEY, 1, 2, {}, True, demo_actor("supervisor@demo.kz"))
    for args, field in [((1, 1, {}), "to_version"), ((1, 9, {}), "to_version"), ((7, 2, {}), "from_version"),
                        ((1, 2, {"nowhere": "health-check"}), "stage_map"),
                        ((1, 2, {"health-screening": "nowhere"}), "stage_map")]:
        with pytest.raises(Invalid) as refused:
            migration.migrate(KEY, *args, False, demo_actor("coordinator@demo.kz"))
        assert field in refused.value.errors
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Case)
                             .where(Case.workflow_version_id == version_id(2))) == 0


def test_the_api_answers_the_contract_shape(demo, api):
    waiting = asked_for_screening()
    publish_next(health_check_in_48_hours)
    url = f"/api/v1/workflows/{KEY}/migrations"

    staff = api("social@demo.kz", "POST", url, json={"from_version": 1, "to_version": 2, "dry_run": True})
    assert staff.status_code == 403
    bad = api("coordinator@demo.kz", "POST", url, json={"from_version": "one", "to_version": 2})
    assert bad.status_code == 422 and "from_version" in bad.get_json()["errors"]
    unknown = api("coordinator@demo.kz", "POST", "/api/v1/workflows/nope/migrations",
                  json={"from_version": 1, "to_version": 2})
    assert unknown.status_code == 404

    tried = api("coordinator@demo.kz", "POST", url, json={"from_version": 1, "to_version": 2, "dry_run": True})
    assert tried.status_code == 200
    body = tried.get_json()
    assert {"cases", "movable", "blocked", "applied"} <= set(body)
    assert body["applied"] is False
    item = next(b for b in body["blocked"] if b["case_id"] == waiting.case_id)
    assert {"case_id", "number", "reason", "stages"} <= set(item)
    assert item["number"] == waiting.case.number and item["stages"] == ["health-screening"]

    moved = api("coordinator@demo.kz", "POST", url, json={
        "from_version": 1, "to_version": 2, "stage_map": {"health-screening": "health-check"}, "dry_run": False})
    assert moved.status_code == 200
    assert moved.get_json()["applied"] is True and moved.get_json()["blocked"] == []
    assert db.session.get(Case, waiting.case_id).workflow_version_id == version_id(2)


def test_a_moved_case_has_one_clock_of_each_kind(demo):
    waiting = asked_for_screening()
    publish_next(health_check_in_48_hours)
    migration.migrate(KEY, 1, 2, {"health-screening": "health-check"}, False, demo_actor("coordinator@demo.kz"))
    db.session.commit()
    kinds = list(db.session.scalars(sa.select(Deadline.kind).where(Deadline.case_id == waiting.case_id,
                                                                   Deadline.status == DeadlineStatus.pending)))
    assert sorted(kinds) == sorted(set(kinds))


def test_the_designer_page_tries_then_moves(demo, sign_in):
    waiting = asked_for_screening()
    publish_next(health_check_in_48_hours)
    client = sign_in("coordinator@demo.kz")
    page = client.get(f"/designer/{KEY}")
    assert f"/designer/{KEY}/migrate" in page.get_data(as_text=True)

    form = client.get(f"/designer/{KEY}/migrate")
    assert form.status_code == 200
    assert 'name="map-health-screening"' in form.get_data(as_text=True)
    before = snapshot()
    tried = client.post(f"/designer/{KEY}/migrate?from=1&to=2",
                        data={"action": "try", "map-health-screening": "health-check"})
    text = tried.get_data(as_text=True)
    assert tried.status_code == 200 and 'data-applied="false"' in text and 'id="apply-migration"' in text
    assert snapshot() == before

    applied = client.post(f"/designer/{KEY}/migrate?from=1&to=2",
                          data={"action": "apply", "map-health-screening": "health-check"})
    assert applied.status_code == 200 and 'data-applied="true"' in applied.get_data(as_text=True)
    assert db.session.get(Case, waiting.case_id).workflow_version_id == version_id(2)
    assert sign_in("social@demo.kz").get(f"/designer/{KEY}/migrate").status_code == 403
