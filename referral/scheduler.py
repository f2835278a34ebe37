"""The scheduler's jobs and how to run them: interval sweeps, outbox delivery, the daily digest.

APScheduler runs only here (``referral scheduler run``, or the demo's own
process), never in web workers. Each job is a module-level function that
builds its own app context and owns its transaction; the database holds all
state, so a job store is never needed and nothing is lost while it is down.
"""

import logging
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from apscheduler.schedulers.base import BaseScheduler
from flask import Flask, current_app

from workflows.lifecycle import ACTIVE_STATUSES, ReferralStatus

from .auth.models import Setting, User
from .deadlines.models import Deadline, DeadlineStatus
from .deadlines.sweep import sweep
from .extensions import db, dialect_insert, utcnow
from .notifications.delivery import deliver_outbox
from .notifications.service import notify_users
from .referrals.models import Referral

log = logging.getLogger("referral.scheduler")


def _in_context(app: Flask, job: Callable, name: str, *, commit: bool = True):
    """Run a job in an app context of its own; commit what it did unless it commits each unit itself."""
    with app.app_context():
        try:
            result = job()
            if commit:
                db.session.commit()
            log.info("%s: %s", name, result)
            return result
        except Exception:
            db.session.rollback()
            log.exception("%s failed", name)
            raise
        finally:
            db.session.remove()


def sweep_job(app: Flask):
    """Send due reminders, escalate missed deadlines, cancel unanswered referrals where set."""
    return _in_context(app, lambda: sweep(batch_size=app.config["REFERRAL_SWEEP_BATCH"]), "sweep", commit=False)


def deliver_job(app: Flask):
    """Deliver pending e-mails and webhooks."""
    return _in_context(app, deliver_outbox, "deliver", commit=False)


def digest_job(app: Flask, now: datetime | None = None):
    """Send today's digests if their hour has come and no scheduler has sent them yet today.

    This runs at every interval rather than once at the digest hour, so a scheduler that was down at
    08:00 (or started at 08:02) still sends today's digests, once: the day they were last sent is kept in
    the database and claimed under a lock, and every digest carries a per-user, per-day key besides.
    """
    return _in_context(app, lambda: send_todays_digests(now or utcnow()), "digest")


DIGEST_SETTING = "digest.last_sent_on"


def send_todays_digests(now: datetime) -> int | None:
    """Claim today's digest round and send it if it is due and unclaimed; return how many, or None if not due.

    The claim and the digests commit together: a scheduler killed before the commit leaves the day
    unclaimed and the next run sends it.
    """
    local = now.astimezone(ZoneInfo(current_app.config["REFERRAL_TIMEZONE"]))
    if local.hour < current_app.config["REFERRAL_DIGEST_HOUR"]:
        return None
    day = local.date().isoformat()
    db.session.execute(dialect_insert(Setting.__table__).values(key=DIGEST_SETTING, value=None, updated_at=now)
                       .on_conflict_do_nothing(index_elements=["key"]))
    # Lock the row (a row lock on PostgreSQL, the write lock on SQLite) before reading it, so that a second
    # scheduler waits for the first one's commit and then sees the day taken.
    db.session.execute(sa.update(Setting).where(Setting.key == DIGEST_SETTING).values(updated_at=now)
                       .execution_options(synchronize_session=False))
    last_sent = db.session.scalar(sa.select(Setting.value).where(Setting.key == DIGEST_SETTING))
    if last_sent == day:
        return None
    db.session.execute(sa.update(Setting).where(Setting.key == DIGEST_SETTING).values(value=day)
                       .execution_options(synchronize_session=False))
    return send_digests(now)


def send_digests(now: datetime | None = None) -> int:
    """Write today's digest for each active user who wants one and whose agency has open work; return how many."""
    now = now or utcnow()
    day = now.astimezone(ZoneInfo(current_app.config["REFERRAL_TIMEZONE"])).date().isoformat()
    requested = dict(db.session.execute(
        sa.select(Referral.to_agency_id, sa.func.count()).where(Referral.status == ReferralStatus.requested)
        .group_by(Referral.to_agency_id)).all())
    active = dict(db.session.execute(
        sa.select(Referral.to_agency_id, sa.func.count()).where(Referral.status.in_(ACTIVE_STATUSES))
        .group_by(Referral.to_agency_id)).all())
    overdue = dict(db.session.execute(
        sa.select(Deadline.agency_id, sa.func.count()).where(Deadline.status == DeadlineStatus.pending,
                                                             Deadline.due_at < now)
        .group_by(Deadline.agency_id)).all())
    written = 0
    users = db.session.execute(sa.select(User.id, User.agency_id).where(
        User.is_active_account.is_(True), User.wants_digest.is_(True))).all()
    for user_id, agency_id in users:
        counts = {"requested": requested.get(agency_id, 0), "active": active.get(agency_id, 0),
                  "overdue": overdue.get(agency_id, 0)}
        if not any(counts.values()):
            continue
        written += len(notify_users([user_id], "digest", counts, dedupe=f"digest:{day}"))
    return written


def add_jobs(scheduler: BaseScheduler, app: Flask, interval: int) -> BaseScheduler:
    """Add the interval and cron jobs to a scheduler; the first sweep runs at once."""
    zone = ZoneInfo(app.config["REFERRAL_TIMEZONE"])
    scheduler.add_job(sweep_job, "interval", seconds=interval, args=[app], id="sweep", name="sweep deadlines",
                      max_instances=1, coalesce=True, next_run_time=datetime.now(zone))
    scheduler.add_job(deliver_job, "interval", seconds=interval, args=[app], id="deliver",
                      name="deliver outbox", max_instances=1, coalesce=True, next_run_time=datetime.now(zone))
    scheduler.add_job(digest_job, "interval", seconds=interval, args=[app], id="digest", name="daily digest",
                      max_instances=1, coalesce=True, next_run_time=datetime.now(zone))
    return scheduler


def run_once(app: Flask) -> dict:
    """Run a sweep and a delivery round now; return what they did."""
    return {"sweep": sweep_job(app), "deliver": deliver_job(app)}
