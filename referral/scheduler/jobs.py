"""The scheduler's jobs and how to run them: interval sweeps, outbox delivery, audit sealing, the daily digest.

APScheduler runs only here (``referral scheduler run``, or the demo's own
process), never in web workers. Each job is a module-level function that
builds its own app context and owns its transaction; the database holds all
state, so a job store is never needed and nothing is lost while it is down.
"""

import logging
import threading
from collections.abc import Callable
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.schedulers.base import BaseScheduler
from flask import Flask

from ..actors import Actor
from ..audit import integrity
from ..cases.retention import run_retention
from ..extensions import db, utcnow
from ..notifications.delivery import deliver_outbox
from ..reports import tallies
from .digest import send_todays_digests
from .sweep import sweep

log = logging.getLogger("referral.scheduler")
RETENTION = Actor.system_actor("scheduler")


class ForkGuard:
    """Keeps a process from forking while one of its jobs holds a database connection.

    The demo runs its scheduler in the process that forks the web worker. SQLite keeps its locks per
    process, so a worker forked while a job held a write transaction would inherit a lock that nobody
    releases, and every write of the worker would fail with "database is locked". Jobs run inside ``job()``
    (many at once); ``hold`` (registered with ``os.register_at_fork``) waits until none runs, lets the
    fork happen with the process's connections closed, and lets jobs start again after it.
    """

    def __init__(self) -> None:
        self._state = threading.Condition()
        self._running = 0
        self._forking = False

    @contextmanager
    def job(self):
        """Run the block as a job: not while the process forks."""
        with self._state:
            self._state.wait_for(lambda: not self._forking)
            self._running += 1
        try:
            yield
        finally:
            with self._state:
                self._running -= 1
                self._state.notify_all()

    def hold(self, engine) -> None:
        """Before a fork: wait for the running jobs, keep new ones from starting, close the idle connections."""
        self._state.acquire()
        self._forking = True
        self._state.wait_for(lambda: self._running == 0)
        engine.dispose()

    def release(self) -> None:
        """After a fork, in the parent: let jobs run again."""
        self._forking = False
        self._state.notify_all()
        self._state.release()


#: The guard every job of this process runs under (it only waits while the demo's process forks).
FORK_GUARD = ForkGuard()


def _in_context(app: Flask, job: Callable, name: str, *, commit: bool = True):
    """Run a job in an app context of its own; commit what it did unless it commits each unit itself."""
    with FORK_GUARD.job(), app.app_context():
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


def retention_job(app: Flask, today: date | None = None):
    """Erase the personal data of cases whose retention period has ended (legal holds kept); safe to run twice."""
    return _in_context(app, lambda: run_retention(today or date.today(), RETENTION), "retention")


def seal_job(app: Flask):
    """Seal the audit entries written since the last run (all but the last few seconds'); safe to run twice."""
    lag = timedelta(seconds=app.config["REFERRAL_AUDIT_SEAL_LAG_SECONDS"])
    return _in_context(app, lambda: integrity.seal(lag=lag, batch_size=app.config["REFERRAL_AUDIT_SEAL_BATCH"]),
                       "audit seal", commit=False)


def anchor_job(app: Flask):
    """Log the audit chain's head (counts, an entry id and a hash: nothing personal), for a copy kept elsewhere.

    ``referral audit verify --anchor ID:HASH`` then proves that the chain still passes through it.
    """
    return _in_context(app, integrity.anchor, "audit anchor", commit=False)


def tallies_job(app: Flask):
    """Build the report tallies if they are missing or in another time zone (PostgreSQL; at once when current)."""
    return _in_context(app, tallies.build, "report tallies")


def compact_job(app: Flask):
    """Fold the report tallies' delta rows into one row per group (PostgreSQL); safe to run twice."""
    return _in_context(app, tallies.compact, "report tallies compaction")


def add_jobs(scheduler: BaseScheduler, app: Flask, interval: int) -> BaseScheduler:
    """Add the interval and cron jobs to a scheduler; the first sweep runs at once."""
    zone = ZoneInfo(app.config["REFERRAL_TIMEZONE"])
    scheduler.add_job(sweep_job, "interval", seconds=interval, args=[app], id="sweep", name="sweep deadlines",
                      max_instances=1, coalesce=True, next_run_time=datetime.now(zone))
    scheduler.add_job(deliver_job, "interval", seconds=interval, args=[app], id="deliver",
                      name="deliver outbox", max_instances=1, coalesce=True, next_run_time=datetime.now(zone))
    scheduler.add_job(digest_job, "interval", seconds=interval, args=[app], id="digest", name="daily digest",
                      max_instances=1, coalesce=True, next_run_time=datetime.now(zone))
    scheduler.add_job(seal_job, "interval", seconds=interval, args=[app], id="audit-seal", name="seal the audit log",
                      max_instances=1, coalesce=True, next_run_time=datetime.now(zone))
    scheduler.add_job(tallies_job, "interval", seconds=interval, args=[app], id="report-tallies",
                      name="build the report tallies", max_instances=1, coalesce=True, next_run_time=datetime.now(zone))
    scheduler.add_job(compact_job, "cron", hour=3, minute=15, args=[app], id="report-tallies-compaction",
                      name="fold the report tallies", max_instances=1, coalesce=True)
    scheduler.add_job(anchor_job, "cron", hour=0, minute=5, args=[app], id="audit-anchor",
                      name="log the audit chain's head", max_instances=1, coalesce=True)
    scheduler.add_job(retention_job, "cron", hour=2, minute=30, args=[app], id="retention",
                      name="erase after the retention period", max_instances=1, coalesce=True)
    return scheduler


def run_once(app: Flask) -> dict:
    """Run a sweep, a delivery round and an audit sealing run now; return what they did."""
    return {"sweep": sweep_job(app), "deliver": deliver_job(app), "seal": seal_job(app)}
