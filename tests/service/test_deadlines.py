"""Deadlines and the sweep, with a controllable clock: reminders, escalation, cancel on timeout, catch-up."""

import threading
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from referral.actors import Actor
from referral.cases import service as cases
from referral.cases.models import Event
from referral.deadlines.models import Deadline
from referral.designer import service as designer
from referral.extensions import db, utcnow
from referral.notifications.models import Channel, Delivery, Notification
from referral.notifications.service import NotificationBatch, notify_agency
from referral.referrals import service as referrals
from referral.scheduler import digest as digest_module
from referral.scheduler import digest_job
from referral.scheduler import sweep as sweep_module
from referral.scheduler.digest import send_digests
from referral.scheduler.sweep import sweep

WORKFLOW = {
    "key": "clocks",
    "name": "Clocks",
    "stages": [
        {"key": "intake", "name": "Intake", "agency_type": "social", "start": True},
        {"key": "screening", "name": "Screening", "agency_type": "health",
         "respond_within": {"high": "PT24H", "low": "P5D"}, "complete_within": "P3D",
         "reminders": ["PT4H"], "review_every": "P7D"},
        {"key": "legal", "name": "Legal", "agency_type": "justice", "respond_within": "PT48H",
         "on_timeout": "cancel"},
        {"key": "done", "name": "Done", "agency_type": "social", "terminal": True, "respond_within": "P1D"},
    ],
    "transitions": [
        {"from": "intake", "to": "screening"},
        {"from": "intake", "to": "legal", "mode": "parallel"},
        {"from": "screening", "to": "done"},
        {"from": "legal", "to": "done"},
    ],
}


@pytest.fixture
def setup(app, make_agency, make_user):
    designer.save_draft(WORKFLOW, Actor.system_actor("test"))
    designer.publish("clocks", Actor.system_actor("test"))
    social = make_agency(type="social", region="KZ-71", code="social")
    health = make_agency(type="health", region="KZ-71", code="health")
    justice = make_agency(type="justice", region="KZ-71", code="justice")
    far = make_agency(type="social", region="KZ-75", code="far-social")
    users = {
        "social": make_user(agency=social), "health": make_user(agency=health),
        "health_supervisor": make_user(agency=health, role="supervisor"),
        "social_supervisor": make_user(agency=social, role="supervisor"),
        "coordinator": make_user(agency=justice, role="coordinator"),
        "far_coordinator": make_user(agency=far, role="coordinator"),
    }
    child = cases.ChildData(given_name="Dana", family_name="Clockova", sex="female", region="KZ-71",
                            estimated_age=11)
    case = cases.register_case("clocks", "high", child, Actor.of(users["social"]))
    db.session.commit()
    return case, users


def referred(case, users, stage="screening", agency="health"):
    referral = referrals.refer(case.id, stage, agency, "Please see the child", Actor.of(users["social"]))
    db.session.commit()
    return referral


def notes(user, kind):
    return db.session.scalars(sa.select(Notification).where(Notification.user_id == user.id,
                                                            Notification.kind == kind)).all()


def deadline_of(referral, kind):
    return db.session.scalar(sa.select(Deadline).where(Deadline.referral_id == referral.id,
                                                       Deadline.kind == kind))


def test_a_referral_gets_a_respond_deadline_by_risk_with_its_reminder(setup):
    case, users = setup
    referral = referred(case, users)
    deadline = deadline_of(referral, "respond")
    assert deadline.status.value == "pending" and deadline.duration == "PT24H"
    assert deadline.due_at - referral.created_at == timedelta(hours=24)
    assert referral.respond_by == deadline.due_at
    assert deadline.remind_at == [(deadline.due_at - timedelta(hours=4)).isoformat()]


def test_reminder_fires_once_at_the_right_time(setup):
    case, users = setup
    referral = referred(case, users)
    start = referral.created_at
    sweep(now=start + timedelta(hours=19))
    assert notes(users["health"], "deadline.reminder") == []
    result = sweep(now=start + timedelta(hours=20, minutes=1))
    assert result.reminders == 1
    reminder = notes(users["health"], "deadline.reminder")
    assert len(reminder) == 1 and case.number in reminder[0].params["case"]
    sweep(now=start + timedelta(hours=21))
    sweep(now=start + timedelta(hours=22))
    assert len(notes(users["health"], "deadline.reminder")) == 1


def test_a_missed_deadline_escalates_once_to_supervisors_and_region_coordinators(setup):
    case, users = setup
    referral = referred(case, users)
    later = referral.created_at + timedelta(hours=25)
    result = sweep(now=later)
    assert result.missed == 1
    sweep(now=later + timedelta(hours=1))
    assert len(notes(users["health_supervisor"], "deadline.missed")) == 1
    assert len(notes(users["coordinator"], "deadline.missed")) == 1
    assert notes(users["far_coordinator"], "deadline.missed") == []
    assert notes(users["social_supervisor"], "deadline.missed") == []
    deadline = deadline_of(referral, "respond")
    assert deadline.status.value == "missed"
    assert deadline.fired[-1]["what"] == "escalation" and deadline.fired[-1]["late_seconds"] == 3600
    events = db.session.scalars(sa.select(Event).where(Event.kind == "deadline.missed")).all()
    assert len(events) == 1 and events[0].actor_label == "scheduler"
    # The referral is still waiting: escalation does not cancel it.
    assert db.session.get(type(referral), referral.id).status.value == "requested"


def test_cancel_on_timeout_cancels_with_no_response_and_tells_the_sender(setup):
    case, users = setup
    referral = referred(case, users, stage="legal", agency="justice")
    result = sweep(now=referral.created_at + timedelta(hours=49))
    assert result.cancelled == 1
    db.session.expire_all()
    referral = db.session.get(type(referral), referral.id)
    assert referral.status.value == "cancelled" and referral.status_reason == "no-response"
    assert len(notes(users["social"], "referral.no_response")) == 1
    assert notes(users["social"], "referral.cancelled") == []  # one notice, with the no-response reason
    sweep(now=referral.created_at + timedelta(hours=60))
    assert len(notes(users["social"], "referral.no_response")) == 1


def test_a_met_deadline_never_fires(setup):
    case, users = setup
    referral = referred(case, users)
    referrals.act(referral.id, "accept", referral.version, Actor.of(users["health"]))
    db.session.commit()
    assert deadline_of(referral, "respond").status.value == "met"
    complete = deadline_of(referral, "complete")
    assert complete.status.value == "pending"
    assert referral.complete_by == complete.due_at
    sweep(now=referral.created_at + timedelta(hours=30))
    assert notes(users["health_supervisor"], "deadline.missed") == []
    assert notes(users["health"], "deadline.reminder") == []


def test_completing_closes_the_clocks_and_review_recurs_while_active(setup):
    case, users = setup
    referral = referred(case, users)
    referrals.act(referral.id, "accept", referral.version, Actor.of(users["health"]))
    db.session.commit()
    review = deadline_of(referral, "review")
    result = sweep(now=review.due_at + timedelta(minutes=1))
    assert result.reviews == 1
    assert len(notes(users["health"], "deadline.review_due")) == 1
    reviews = db.session.scalars(sa.select(Deadline).where(Deadline.referral_id == referral.id,
                                                           Deadline.kind == "review")
                                 .order_by(Deadline.id)).all()
    assert [r.status.value for r in reviews] == ["met", "pending"]
    assert reviews[1].due_at == reviews[0].due_at + timedelta(days=7)


def test_a_risk_change_moves_pending_deadlines(setup):
    case, users = setup
    referral = referred(case, users)
    before = deadline_of(referral, "respond").due_at
    cases.change_risk_level(case.id, "low", Actor.of(users["social"]))
    db.session.commit()
    deadline = deadline_of(referral, "respond")
    assert deadline.due_at - before == timedelta(days=5) - timedelta(hours=24)
    assert db.session.get(type(referral), referral.id).respond_by == deadline.due_at
    kinds = [e.kind for e in cases.timeline(case)]
    assert "case.risk_changed" in kinds


def test_after_downtime_the_first_sweep_catches_up_and_records_lateness(setup):
    case, users = setup
    first = referred(case, users)
    second = referred(case, users, stage="legal", agency="justice")
    much_later = utcnow() + timedelta(days=10)
    result = sweep(now=much_later)
    assert result.missed >= 2 and result.reminders == 0  # stale reminders are not sent after the deadline
    for referral in (first, second):
        fired = deadline_of(referral, "respond").fired
        assert fired[-1]["late_seconds"] > 8 * 24 * 3600


def another_case(users):
    child = cases.ChildData(given_name="Aida", family_name="Clockova", sex="female", region="KZ-71",
                            estimated_age=9)
    case = cases.register_case("clocks", "high", child, Actor.of(users["social"]))
    db.session.commit()
    return case


def test_one_batch_cancels_through_the_services_and_escalates_the_rest(setup):
    case, users = setup
    other = another_case(users)
    legal = referred(case, users, stage="legal", agency="justice")
    screening = referred(other, users)
    result = sweep(now=utcnow() + timedelta(days=3), batch_size=50)
    assert (result.cancelled, result.missed) == (1, 2)
    db.session.expire_all()
    assert db.session.get(type(legal), legal.id).status.value == "cancelled"
    assert db.session.get(type(screening), screening.id).status.value == "requested"
    assert deadline_of(screening, "respond").status.value == "missed"
    assert len(notes(users["health_supervisor"], "deadline.missed")) == 1
    events = db.session.scalars(sa.select(Event).where(Event.kind == "deadline.missed").order_by(Event.id)).all()
    assert sorted(event.referral_id for event in events) == sorted([legal.id, screening.id])


def test_a_batch_that_fails_is_done_again_one_deadline_at_a_time_and_a_bad_one_is_left(setup, monkeypatch):
    case, users = setup
    first, second, third = (referred(each, users) for each in (case, another_case(users), another_case(users)))
    bad = deadline_of(second, "respond").id
    handle = sweep_module._handle

    def failing(deadline, *args):
        if deadline.id == bad:
            raise RuntimeError("a bad row")
        return handle(deadline, *args)

    def failing_notify(row, *args):
        raise RuntimeError("the batch fails")

    monkeypatch.setattr(sweep_module, "_handle", failing)
    monkeypatch.setattr(sweep_module, "_notify", failing_notify)
    later = utcnow() + timedelta(days=2)
    result = sweep(now=later)
    assert result.processed == 3 and result.missed == 2
    db.session.expire_all()
    assert [deadline_of(referral, "respond").status.value for referral in (first, second, third)] == \
        ["missed", "pending", "missed"]
    assert len(notes(users["health_supervisor"], "deadline.missed")) == 2  # the batch's own were rolled back
    monkeypatch.undo()
    assert sweep(now=later + timedelta(minutes=3)).missed == 1  # the next run, once a lease (SQLite) ran out
    assert len(notes(users["health_supervisor"], "deadline.missed")) == 3


def test_the_deadlines_api_lists_overdue_first(setup, client, token_for):
    case, users = setup
    referred(case, users)
    headers = token_for(users["health"])
    body = client.get("/api/v1/deadlines", query_string={"status": "pending"}, headers=headers).json
    assert [(d["kind"], d["agency"], d["overdue"]) for d in body] == [("respond", "health", False)]
    assert client.get("/api/v1/deadlines", query_string={"overdue": "true"}, headers=headers).json == []
    assert client.get("/api/v1/deadlines", query_string={"status": "bogus"}, headers=headers).status_code == 422
    far = client.get("/api/v1/deadlines", headers=token_for(users["far_coordinator"])).json
    assert far == []


def all_digests() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Notification)
                             .where(Notification.kind == "digest"))


def almaty(day: int, hour: int, minute: int) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=ZoneInfo("Asia/Almaty"))


def test_a_scheduler_started_after_the_digest_hour_sends_todays_digest_once(app, setup):
    case, users = setup
    referred(case, users)
    assert digest_job(app, almaty(2, 7, 59)) is None
    assert notes(users["health"], "digest") == []
    sent = digest_job(app, almaty(2, 8, 2))
    assert sent == all_digests() > 0
    assert digest_job(app, almaty(2, 8, 3)) is None
    assert digest_job(app, almaty(2, 23, 59)) is None
    assert all_digests() == sent and len(notes(users["health"], "digest")) == 1
    assert digest_job(app, almaty(3, 9, 30)) == sent
    assert len(notes(users["health"], "digest")) == 2


def test_two_schedulers_past_the_digest_hour_send_it_once(app, setup, monkeypatch):
    case, users = setup
    referred(case, users)
    yesterday = digest_job(app, almaty(1, 8, 0))
    barrier, results = threading.Barrier(2), []
    real_send = digest_module.send_digests

    def slow_send(now):
        sent = real_send(now)
        time.sleep(0.5)  # hold the round's transaction open while the other scheduler looks
        return sent

    monkeypatch.setattr(digest_module, "send_digests", slow_send)

    def scheduler():
        barrier.wait()
        results.append(digest_job(app, almaty(2, 8, 2)))

    threads = [threading.Thread(target=scheduler) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert None in results and len(results) == 2
    assert [count for count in results if count is not None] == [all_digests() - yesterday]
    assert len(notes(users["health"], "digest")) == 2


def test_daily_digest_once_a_day_for_users_with_open_work(setup):
    case, users = setup
    referred(case, users)
    now = utcnow()
    assert send_digests(now) > 0
    assert send_digests(now) == 0
    digest = notes(users["health"], "digest")
    assert len(digest) == 1 and digest[0].params["requested"] == 1


def test_a_batch_tells_every_active_user_of_an_agency_but_the_one_left_out_once(app, setup, make_user):
    """A batch's message to an agency reaches each of its active users (PostgreSQL joins them in the INSERT),
    as a message outside a batch does; its dedupe key, with the user's id, keeps a second write from adding any."""
    case, users = setup
    health = users["health"].agency
    resigned = make_user(agency=health)
    resigned.is_active_account = False
    db.session.commit()
    for _ in range(2):  # the second write finds every key taken
        batch = NotificationBatch()
        notify_agency(health.id, "deadline.reminder", {"case": case.number}, case_id=case.id,
                      exclude_user_id=users["health_supervisor"].id, dedupe="test:1", batch=batch)
        notify_agency(health.id, "referral.requested", {"case": case.number}, case_id=case.id, batch=batch)
        batch.write()
        db.session.commit()
    told = db.session.execute(sa.select(Notification.user_id, Notification.kind, Notification.dedupe_key)
                              .where(Notification.case_id == case.id,
                                     Notification.kind.in_(["deadline.reminder", "referral.requested"]))
                              .order_by(Notification.kind, Notification.user_id)).all()
    staff, supervisor = users["health"].id, users["health_supervisor"].id
    assert [tuple(row) for row in told] == [
        (staff, "deadline.reminder", f"test:1:{staff}"),
        # Without a dedupe key nothing is skipped: each write told both active users.
        *sorted([(staff, "referral.requested", None), (supervisor, "referral.requested", None)] * 2)]
    assert resigned.id not in {row.user_id for row in told}


def test_a_reminder_from_the_sweep_queues_its_e_mail_copy_when_e_mail_is_on(app, setup):
    case, users = setup
    app.config["REFERRAL_SMTP_URL"] = "smtp://127.0.0.1:2525"  # queued only: the outbox sends, not the sweep
    referral = referred(case, users)
    assert sweep(now=referral.created_at + timedelta(hours=20, minutes=1)).reminders == 1
    reminder = notes(users["health"], "deadline.reminder")
    emails = db.session.scalars(sa.select(Delivery).where(Delivery.channel == Channel.email,
                                                          Delivery.user_id == users["health"].id)).all()
    copies = [email for email in emails if email.dedupe_key == f"email:{reminder[0].id}"]
    assert len(copies) == 1 and copies[0].payload["to"] == users["health"].email
    assert "Dana" not in copies[0].payload["subject"] + copies[0].payload["body"]
