"""Exactly once across real scheduler processes on PostgreSQL: two at once, and one killed mid-sweep."""

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from referral.actors import Actor
from referral.cases import service as cases
from referral.deadlines.models import Deadline, DeadlineKind, DeadlineStatus
from referral.designer import service as designer
from referral.extensions import db, utcnow
from referral.notifications.models import Notification
from referral.referrals import service as referrals
from tests.appfixtures import PG_URL

pytestmark = pytest.mark.skipif(not PG_URL, reason="needs PostgreSQL (REFERRAL_TEST_DATABASE_URL)")

COUNT = 1000
WORKFLOW = {
    "key": "many", "name": "Many",
    "stages": [
        {"key": "intake", "name": "Intake", "agency_type": "social", "start": True},
        {"key": "check", "name": "Check", "agency_type": "health", "respond_within": "P1D"},
        {"key": "done", "name": "Done", "agency_type": "social", "terminal": True, "respond_within": "P1D"},
    ],
    "transitions": [{"from": "intake", "to": "check"}, {"from": "check", "to": "done"}],
}


@pytest.fixture
def due_deadlines(app, make_agency, make_user):
    """COUNT overdue respond deadlines on a waiting referral, with two people to escalate to."""
    designer.save_draft(WORKFLOW, Actor.system_actor("test"))
    designer.publish("many", Actor.system_actor("test"))
    social, health = make_agency(type="social", region="KZ-71"), make_agency(type="health", region="KZ-71")
    sender = make_user(agency=social)
    make_user(agency=health, role="supervisor")
    make_user(agency=social, role="coordinator")
    child = cases.ChildData(given_name="Many", family_name="Clocks", sex="male", region="KZ-71", estimated_age=7)
    case = cases.register_case("many", "medium", child, Actor.of(sender))
    referral = referrals.refer(case.id, "check", health.code, "Check", Actor.of(sender))
    db.session.flush()
    past = utcnow() - timedelta(hours=1)
    db.session.execute(sa.insert(Deadline), [
        {"referral_id": referral.id, "case_id": case.id, "agency_id": health.id, "kind": DeadlineKind.respond,
         "status": DeadlineStatus.pending, "duration": "PT1H", "started_at": past - timedelta(hours=1),
         "due_at": past, "remind_at": [], "reminders_sent": 0, "next_check_at": past, "fired": [],
         "created_at": past}
        for _ in range(COUNT)])
    referral_id = referral.id
    db.session.commit()
    db.session.remove()
    return referral_id


def scheduler_process(batch: int = 200) -> subprocess.Popen:
    env = {**os.environ, "REFERRAL_DATABASE_URL": PG_URL, "REFERRAL_SWEEP_BATCH": str(batch),
           "REFERRAL_SECRET_KEY": "test"}
    return subprocess.Popen([sys.executable, "-m", "referral", "scheduler", "run", "--once"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def missed_count() -> int:
    db.session.remove()
    return db.session.scalar(sa.select(sa.func.count()).select_from(Deadline)
                             .where(Deadline.status == DeadlineStatus.missed))


def assert_each_fired_exactly_once():
    db.session.remove()
    deadlines = db.session.scalars(sa.select(Deadline).where(Deadline.duration == "PT1H")).all()
    assert len(deadlines) == COUNT
    assert all(d.status is DeadlineStatus.missed for d in deadlines)
    assert all(len(d.fired) == 1 for d in deadlines)
    notifications = db.session.scalar(sa.select(sa.func.count()).select_from(Notification)
                                      .where(Notification.kind == "deadline.missed"))
    assert notifications == COUNT * 2  # one supervisor, one coordinator, each told once per deadline


def test_two_scheduler_processes_sweep_the_same_deadlines_exactly_once(due_deadlines):
    first, second = scheduler_process(batch=50), scheduler_process(batch=50)
    for process in (first, second):
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
    assert_each_fired_exactly_once()


def test_a_scheduler_killed_mid_sweep_and_restarted_loses_and_duplicates_nothing(due_deadlines):
    process = scheduler_process(batch=20)
    deadline = time.monotonic() + 120
    while missed_count() == 0 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)
    done_when_killed = missed_count()
    assert 0 < done_when_killed < COUNT, "the kill should land in the middle of the sweep"
    restarted = scheduler_process(batch=200)
    out, err = restarted.communicate(timeout=300)
    assert restarted.returncode == 0, err
    assert_each_fired_exactly_once()
