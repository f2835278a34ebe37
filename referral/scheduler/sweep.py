"""The scheduler's sweep: reminders before deadlines, escalation when one is missed, cancel on timeout.

Due deadlines are claimed in batches, their cases first like every other change to a case
(``referral.locking``): on PostgreSQL one ``SELECT … FOR UPDATE OF cases SKIP LOCKED`` locks the cases of up
to ``batch_size`` due deadlines; SQLite has no row locks, so the batch is leased (``queues.lease_due``). The
batch is read again under those locks, with its referrals and cases, in one query, and handled in one
transaction: the deadlines are updated in one executemany, and the notifications, audit entries, timeline
events and webhook calls of the whole batch go in one multi-row insert each. A deadline whose handling goes
beyond notifying (a cancel on timeout, a periodic review that opens the next one, a stale clock) goes
through the services, with the other deadlines of its case, in the same transaction. A batch that fails is
rolled back and its deadlines handled again one per transaction, so that one bad row neither stops the
others nor is retried in a tight loop. Every message carries a dedupe key, so two sweepers at once, or one
killed and restarted, send each reminder and escalation exactly once. A sweep after downtime catches up on
everything due and records how late each action fired.
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, lazyload

from agencies import Role
from workflows import OnTimeout
from workflows.lifecycle import ACTIVE_STATUSES, Action, ReferralStatus

from .. import bulk
from ..actors import Actor
from ..auth.models import User
from ..cases import service as cases
from ..cases.models import Case
from ..deadlines import service as clocks
from ..deadlines.models import Deadline, DeadlineKind, DeadlineStatus
from ..designer import service as designer
from ..designer.models import WorkflowVersion
from ..directory.models import Agency
from ..errors import ServiceError
from ..extensions import db, utcnow
from ..locking import case_of_deadline, lock_case
from ..notifications.service import NotificationBatch, agency_params, notify_agency, notify_users, stage_params
from ..queues import lease_due
from ..referrals import service as referrals
from ..referrals.models import Referral

log = logging.getLogger("referral.sweep")
LEASE = timedelta(minutes=2)
BATCH_SIZE = 500
SCHEDULER = Actor.system_actor("scheduler")
# The case comes in the same query; agencies come from the session's identity map once per batch,
# instead of being joined (with their JSON columns) into every row.
_WITH_CASE = (
    joinedload(Deadline.referral).options(
        lazyload(Referral.from_agency), lazyload(Referral.to_agency),
        joinedload(Referral.case).lazyload(Case.registered_by_agency)),
    lazyload(Deadline.agency),
)
_ORDER = (Deadline.next_check_at, Deadline.id)
_deadlines = Deadline.__table__
#: What a batch needs of its deadlines, referrals and cases, read in one query under the cases' locks.
_BATCH_READ = (
    sa.select(Deadline.id, Deadline.case_id, Deadline.referral_id, Deadline.agency_id, Deadline.kind,
              Deadline.status, Deadline.due_at, Deadline.remind_at, Deadline.reminders_sent,
              Deadline.next_check_at, Deadline.lease_until, Deadline.fired,
              Referral.status.label("referral_status"), Referral.to_stage, Referral.assignee_user_id,
              Case.number, Case.region, Case.workflow_version_id,
              # The key of the version's cached definition, so that no batch asks for it again.
              WorkflowVersion.published_at.label("version_published_at"))
    .join(Referral, Referral.id == Deadline.referral_id).join(Case, Case.id == Deadline.case_id)
    .join(WorkflowVersion, WorkflowVersion.id == Case.workflow_version_id)
    .order_by(*_ORDER)
)
#: The reminders and escalation of a batch's deadlines, one row of parameters each: an executemany on SQLite,
#: one ``UPDATE … FROM json_to_recordset`` of the same rows on PostgreSQL (``_write_deadlines``). The state it
#: changes is checked: the deadline is still pending with the reminders the batch read.
_BATCH_WRITE = (
    sa.update(_deadlines)
    .where(_deadlines.c.id == sa.bindparam("deadline_id"), _deadlines.c.status == DeadlineStatus.pending,
           _deadlines.c.reminders_sent == sa.bindparam("reminders_read"))
)
_BATCH_TYPES = {"deadline_id": sa.Integer(), "reminders_read": sa.Integer()} | {
    name: _deadlines.c[name].type for name in ("reminders_sent", "fired", "status", "closed_at", "next_check_at")}


class _BatchCache:
    """What many deadlines of one batch share: definitions, escalation lists, agency users, what to write."""

    def __init__(self) -> None:
        self.notifications = NotificationBatch()
        #: Timeline rows (case id, referral id, detail) of ``deadline.missed``, written with the batch.
        self.missed_events: list[tuple[int, int, dict]] = []
        self._definitions: dict[int, object] = {}
        self._escalation: dict[tuple[int, str], list[int]] = {}
        self._stages: dict[tuple[int, str], dict] = {}
        #: Parameters by agency id, and the agency itself: held, it stays in the session's identity map, where
        #: ``notify_agency`` looks it up for each deadline.
        self._agencies: dict[int, tuple[Agency | None, dict]] = {}

    def reset(self) -> None:
        """Forget what the last batch looked up (users and their roles may have changed since)."""
        self.__init__()

    def definition(self, version_id: int, published_at: datetime | None = None):
        if version_id not in self._definitions:
            self._definitions[version_id] = designer.published_definition_of(version_id, published_at)
        return self._definitions[version_id]

    def escalation_recipients(self, agency_id: int, region: str) -> list[int]:
        key = (agency_id, region)
        if key not in self._escalation:
            self._escalation[key] = _escalation_recipients(agency_id, region)
        return self._escalation[key]

    def params(self, row, stage) -> dict:
        """Return the message parameters of a deadline read by ``_BATCH_READ``."""
        key = (row.workflow_version_id, stage.key)
        if key not in self._stages:
            self._stages[key] = stage_params(stage)
        if row.agency_id not in self._agencies:
            agency = db.session.get(Agency, row.agency_id)
            self._agencies[row.agency_id] = agency, agency_params(agency)
        return {"case": row.number, **self._stages[key], **self._agencies[row.agency_id][1],
                "deadline_kind": row.kind.value, "due_at": row.due_at.isoformat()}

    def write(self) -> None:
        """Write the timeline rows and notifications gathered since the last write."""
        events, self.missed_events = self.missed_events, []
        cases.add_events(SCHEDULER, "deadline.missed", events)
        self.notifications.write()


@dataclass
class SweepResult:
    """What one sweep did."""

    processed: int = 0
    reminders: int = 0
    missed: int = 0
    cancelled: int = 0
    reviews: int = 0
    closed_stale: int = 0
    lateness: list[float] = field(default_factory=list)

    def add(self, other: "SweepResult") -> None:
        """Count what another (committed) part of the sweep did."""
        for name in ("processed", "reminders", "missed", "cancelled", "reviews", "closed_stale"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.lateness += other.lateness


def sweep(now: datetime | None = None, *, batch_size: int = BATCH_SIZE, clock=utcnow) -> SweepResult:
    """Handle every deadline with something due, a batch per transaction; return what was done.

    On PostgreSQL each batch is claimed by locking the cases of its deadlines with ``SKIP LOCKED``: another
    sweeper, or a person acting on a case, is never waited for and never handled twice, and a sweeper killed
    mid-way holds nothing afterwards. SQLite has no row locks: the batches are leased instead. Before each
    batch the sweep reads the clock again (a long catch-up sees what fell due meanwhile) and forgets its
    lookups (it holds no users or definitions for long).
    """
    result = SweepResult()
    cache = _BatchCache()
    locked = db.session.get_bind().dialect.name == "postgresql"
    failed: set[int] = set()
    while True:
        moment = now or clock()
        cache.reset()
        due = sa.and_(Deadline.status == DeadlineStatus.pending, Deadline.next_check_at <= moment)
        if locked:
            claimed = _claim(due, batch_size, failed)
        else:
            claimed = lease_due(Deadline, due, _ORDER, batch_size, moment, LEASE)
        if not claimed:
            return result
        done = SweepResult(processed=len(claimed))
        try:
            handle_batch(claimed, moment, done, cache)
            db.session.commit()
        except Exception:
            db.session.rollback()
            log.exception("a batch of %s deadlines failed; each is tried again alone", len(claimed))
            done = _one_by_one(claimed, moment, cache, failed)
        result.add(done)


def _claim(due, batch_size: int, failed: set[int]) -> list[int]:
    """Lock the cases of up to ``batch_size`` due deadlines (none in ``failed``), skipping locked ones."""
    # Ordered by the due column alone, so that the index on (status, next_check_at) gives the rows in order
    # and the scan stops at the limit; the batch is handled in (next_check_at, id) order after.
    return list(db.session.scalars(
        sa.select(Deadline.id).join(Case, Case.id == Deadline.case_id)
        .where(due, Deadline.id.not_in(failed) if failed else sa.true())
        .order_by(Deadline.next_check_at).limit(batch_size).with_for_update(of=Case, skip_locked=True)))


def _one_by_one(deadline_ids: list[int], now: datetime, cache: "_BatchCache", failed: set[int]) -> SweepResult:
    """Handle the deadlines of a failed batch each in a transaction of its own; remember those that fail."""
    done = SweepResult(processed=len(deadline_ids))
    for deadline_id in deadline_ids:
        cache.reset()
        one = SweepResult()
        try:
            handle_deadline(deadline_id, now, one, cache)
            db.session.commit()
        except Exception:
            db.session.rollback()
            failed.add(deadline_id)
            log.exception("deadline %s failed; the next run tries it again", deadline_id)
            continue
        done.add(one)
    return done


def handle_batch(deadline_ids: list[int], now: datetime, result: SweepResult, cache: "_BatchCache") -> None:
    """Do what a batch of claimed deadlines needs now, their cases locked (or leased); flush, never commit.

    The deadlines are read again under the locks: one that a person's action closed meanwhile, or that is
    no longer due, is only given back. Raise RuntimeError if a deadline changed under the batch.
    """
    # Columns, no entities: read on the session's connection, without the ORM's handling of each row (a third
    # of the read's CPU), after what the session holds is flushed, as its autoflush would have.
    db.session.flush()
    rows = db.session.connection().execute(_BATCH_READ.where(bulk.among(Deadline.id, deadline_ids))).all()
    due = [row for row in rows if row.status is DeadlineStatus.pending and row.next_check_at is not None
           and row.next_check_at <= now]
    by_services = {row.case_id for row in due if _beyond_notifying(row, cache, now)}
    if by_services:
        _through_services([row.id for row in due if row.case_id in by_services], now, result, cache)
    changes = [_notify(row, now, result, cache) for row in due if row.case_id not in by_services]
    if changes and _write_deadlines(changes) != len(changes):
        raise RuntimeError("a deadline of the batch changed while the batch held its case")
    handled = {row.id for row in due}
    leased = [row.id for row in rows if row.lease_until is not None and row.id not in handled]
    if leased:
        db.session.execute(sa.update(_deadlines).where(bulk.among(_deadlines.c.id, leased)).values(lease_until=None))
    cache.write()
    db.session.flush()


def _write_deadlines(changes: list[dict]) -> int:
    """Write the new values of a batch's deadlines (see ``_BATCH_WRITE``) in one statement; return how many."""
    if not bulk.on_postgresql():
        return db.session.execute(_BATCH_WRITE, changes).rowcount
    source = bulk.recordset(_BATCH_TYPES, changes)
    return db.session.execute(
        sa.update(_deadlines)
        .where(_deadlines.c.id == source.c.deadline_id, _deadlines.c.status == DeadlineStatus.pending,
               _deadlines.c.reminders_sent == source.c.reminders_read)
        .values({name: source.c[name] for name in _BATCH_TYPES if name in _deadlines.c} | {"lease_until": None})
    ).rowcount


def _beyond_notifying(row, cache: "_BatchCache", now: datetime) -> bool:
    """Whether a due deadline needs the services: a stale clock, a review, a cancel on timeout."""
    if not _running(row.kind, row.referral_status):
        return True
    if row.due_at > now:
        return False
    if row.kind is DeadlineKind.review:
        return True
    stage = cache.definition(row.workflow_version_id, row.version_published_at).stage(row.to_stage)
    return row.kind is DeadlineKind.respond and stage.on_timeout is OnTimeout.cancel


def _through_services(deadline_ids: list[int], now: datetime, result: SweepResult, cache: "_BatchCache") -> None:
    """Handle deadlines one after another through the models and services, in (next_check_at, id) order."""
    for deadline in db.session.scalars(sa.select(Deadline).where(bulk.among(Deadline.id, deadline_ids))
                                       .order_by(*_ORDER).options(*_WITH_CASE)
                                       .execution_options(populate_existing=True)).all():
        # One handled before may have closed this one (a cancel closes the referral's other clocks).
        if deadline.status is DeadlineStatus.pending and deadline.next_check_at is not None \
                and deadline.next_check_at <= now:
            _handle(deadline, now, result, cache)
        deadline.lease_until = None
    db.session.flush()


def _due_reminders(remind_at: list[str], sent: int, due_at: datetime,
                   now: datetime) -> tuple[list[tuple[int, datetime]], int]:
    """Return the reminders to send now (each one's number and time) and how many count as sent after them.

    After downtime, a reminder of a deadline already passed is counted but not sent: it would say nothing the
    escalation won't.
    """
    due = []
    while sent < len(remind_at):
        moment = datetime.fromisoformat(remind_at[sent])
        if moment > now:
            break
        if due_at > now:
            due.append((sent, moment))
        sent += 1
    return due, sent


def _notify(row, now: datetime, result: SweepResult, cache: "_BatchCache") -> dict:
    """Send a deadline's due reminders and its escalation; return its new values for ``_BATCH_WRITE``."""
    stage = cache.definition(row.workflow_version_id, row.version_published_at).stage(row.to_stage)
    params = cache.params(row, stage)
    fired = list(row.fired)
    due, sent = _due_reminders(row.remind_at, row.reminders_sent, row.due_at, now)
    for number, remind_at in due:
        notify_agency(row.agency_id, "deadline.reminder", params, case_id=row.case_id,
                      referral_id=row.referral_id, dedupe=f"reminder:{row.id}:{number}", batch=cache.notifications)
        fired.append(_fired_entry(f"reminder-{number}", remind_at, now, result))
        result.reminders += 1
    change = {"deadline_id": row.id, "reminders_read": row.reminders_sent, "reminders_sent": sent, "fired": fired,
              "status": DeadlineStatus.pending, "closed_at": None, "lease_until": None}
    if row.due_at > now:
        change["next_check_at"] = clocks.next_check_at(row.remind_at, sent, row.due_at)
        return change
    change.update(status=DeadlineStatus.missed, closed_at=now, next_check_at=None)
    fired.append(_fired_entry("escalation", row.due_at, now, result))
    result.missed += 1
    recipients = _escalate_to(cache.escalation_recipients(row.agency_id, row.region), row.assignee_user_id)
    notify_users(recipients, "deadline.missed", params, case_id=row.case_id, referral_id=row.referral_id,
                 dedupe=f"escalation:{row.id}", batch=cache.notifications)
    cache.missed_events.append((row.case_id, row.referral_id, {
        "deadline": row.kind.value, "due_at": row.due_at.isoformat(),
        "late_seconds": (now - row.due_at).total_seconds()}))
    return change


def handle_deadline(deadline_id: int, now: datetime, result: SweepResult, cache: "_BatchCache") -> None:
    """Do what one deadline needs now, after locking its case (the one lock order); flush, never commit.

    The deadline is read again under the lock: if a person's action closed it meanwhile, or it is no longer
    due, there is nothing to do but to give the lease back.
    """
    case_id = case_of_deadline(deadline_id)
    if case_id is None or lock_case(case_id) is None:
        return
    deadline = db.session.get(Deadline, deadline_id, populate_existing=True, options=_WITH_CASE)
    if deadline.status is DeadlineStatus.pending and deadline.next_check_at is not None \
            and deadline.next_check_at <= now:
        _handle(deadline, now, result, cache)
    deadline.lease_until = None
    cache.write()
    db.session.flush()


def _running(kind: DeadlineKind, status: ReferralStatus) -> bool:
    """Whether a clock of a kind still runs on a referral in a status."""
    if kind is DeadlineKind.respond:
        return status is ReferralStatus.requested
    return status in ACTIVE_STATUSES


def _still_running(deadline: Deadline) -> bool:
    return _running(deadline.kind, deadline.referral.status)


def _fired_entry(what: str, due: datetime, now: datetime, result: SweepResult) -> dict:
    late = max((now - due).total_seconds(), 0.0)
    result.lateness.append(late)
    return {"what": what, "due": due.isoformat(), "at": now.isoformat(), "late_seconds": late}


def _fired(deadline: Deadline, what: str, due: datetime, now: datetime, result: SweepResult) -> None:
    deadline.fired = [*deadline.fired, _fired_entry(what, due, now, result)]


def _params(deadline: Deadline, definition) -> dict:
    referral = deadline.referral
    stage = definition.stage(referral.to_stage)
    return {"case": referral.case.number, **stage_params(stage), **agency_params(deadline.agency),
            "deadline_kind": deadline.kind.value, "due_at": deadline.due_at.isoformat()}


def _handle(deadline: Deadline, now: datetime, result: SweepResult, cache: _BatchCache) -> None:
    referral = deadline.referral
    if not _still_running(deadline):
        # The referral moved on without closing this clock (it should not happen): close it quietly.
        deadline.status = DeadlineStatus.cancelled
        deadline.closed_at = now
        deadline.next_check_at = None
        result.closed_stale += 1
        return
    definition = cache.definition(referral.case.workflow_version_id)
    params = _params(deadline, definition)
    due, sent = _due_reminders(deadline.remind_at, deadline.reminders_sent, deadline.due_at, now)
    for number, remind_at in due:
        notify_agency(deadline.agency_id, "deadline.reminder", params, case_id=referral.case_id,
                      referral_id=referral.id, dedupe=f"reminder:{deadline.id}:{number}", batch=cache.notifications)
        _fired(deadline, f"reminder-{number}", remind_at, now, result)
        result.reminders += 1
    deadline.reminders_sent = sent
    if deadline.due_at <= now:
        if deadline.kind is DeadlineKind.review:
            _review_due(deadline, definition, params, now, result, cache)
        else:
            _missed(deadline, definition, params, now, result, cache)
        return
    deadline.next_check_at = clocks.next_check(deadline)


def _review_due(deadline: Deadline, definition, params: dict, now: datetime, result: SweepResult,
                cache: _BatchCache) -> None:
    referral = deadline.referral
    notify_agency(deadline.agency_id, "deadline.review_due", params, case_id=referral.case_id,
                  referral_id=referral.id, dedupe=f"review:{deadline.id}", batch=cache.notifications)
    _fired(deadline, "review", deadline.due_at, now, result)
    deadline.status = DeadlineStatus.met
    deadline.closed_at = now
    deadline.next_check_at = None
    result.reviews += 1
    # The next review counts from when this one fell due, so the rhythm does not drift.
    clocks.open_deadline(referral, definition, DeadlineKind.review, referral.case.risk_level.value,
                         deadline.due_at)


def _escalation_recipients(agency_id: int, region: str) -> list[int]:
    return list(db.session.scalars(
        sa.select(User.id).join(Agency, Agency.id == User.agency_id).where(
            User.is_active_account.is_(True),
            sa.or_(sa.and_(User.agency_id == agency_id, User.role == Role.supervisor),
                   sa.and_(User.role == Role.coordinator, Agency.region == region)),
        ).order_by(User.id)
    ))


def _escalate_to(recipients: list[int], assignee_user_id: int | None) -> list[int]:
    """Return who hears of a missed deadline: the supervisors and coordinators, and the referral's assignee."""
    if assignee_user_id is not None and assignee_user_id not in recipients:
        return [*recipients, assignee_user_id]
    return recipients


def _missed(deadline: Deadline, definition, params: dict, now: datetime, result: SweepResult,
            cache: _BatchCache) -> None:
    referral = deadline.referral
    deadline.status = DeadlineStatus.missed
    deadline.closed_at = now
    deadline.next_check_at = None
    _fired(deadline, "escalation", deadline.due_at, now, result)
    result.missed += 1
    # The escalation reaches the supervisors and coordinators, and whoever the referral is assigned to
    # (reminders reach the assignee with the rest of the agency).
    recipients = _escalate_to(cache.escalation_recipients(deadline.agency_id, referral.case.region),
                              referral.assignee_user_id)
    notify_users(recipients, "deadline.missed", params, case_id=referral.case_id,
                 referral_id=referral.id, dedupe=f"escalation:{deadline.id}", batch=cache.notifications)
    cases.add_event(referral.case, SCHEDULER, "deadline.missed", referral=referral, deadline=deadline.kind.value,
                    due_at=deadline.due_at.isoformat(), late_seconds=(now - deadline.due_at).total_seconds())
    stage = definition.stage(referral.to_stage)
    if deadline.kind is DeadlineKind.respond and stage.on_timeout is OnTimeout.cancel:
        # The deadline must be written as missed before the cancel closes the referral's other clocks.
        db.session.flush()
        try:
            with db.session.begin_nested():  # the cancel may fail alone; the missed deadline stands
                referrals.act(referral.id, Action.cancel, referral.version, SCHEDULER, reason="no-response")
        except ServiceError as refused:
            log.warning("deadline %s: the referral could not be cancelled: %s", deadline.id, type(refused).__name__)
            return
        if referral.from_agency_id is not None:
            notify_agency(referral.from_agency_id, "referral.no_response", params, case_id=referral.case_id,
                          referral_id=referral.id, dedupe=f"no-response:{deadline.id}", batch=cache.notifications)
        result.cancelled += 1
