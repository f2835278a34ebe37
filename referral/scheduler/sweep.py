"""The scheduler's sweep: reminders before deadlines, escalation when one is missed, cancel on timeout.

Deadlines are leased in batches (``queues.lease_due``); each is then handled in
a transaction of its own that locks its case first, like every other change to
a case (``referral.locking``), re-reads the deadline and checks it is still
due. Every message carries a dedupe key, so two sweepers at once, or one killed
and restarted, send each reminder and escalation exactly once. A sweep after downtime catches up on
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

from ..actors import Actor
from ..auth.models import User
from ..cases import service as cases
from ..cases.models import Case
from ..deadlines import service as clocks
from ..deadlines.models import Deadline, DeadlineKind, DeadlineStatus
from ..directory.models import Agency
from ..errors import ServiceError
from ..extensions import db, utcnow
from ..locking import case_of_deadline, lock_case
from ..notifications.service import NotificationBatch, agency_params, notify_agency, notify_users, stage_params
from ..queues import Leased, drain, lease_due
from ..referrals import service as referrals
from ..referrals.models import Referral

log = logging.getLogger("referral.sweep")
LEASE = timedelta(minutes=2)
BATCH_SIZE = 200
SCHEDULER = Actor.system_actor("scheduler")
# The case comes in the same query; agencies come from the session's identity map once per batch,
# instead of being joined (with their JSON columns) into every row.
_WITH_CASE = (
    joinedload(Deadline.referral).options(
        lazyload(Referral.from_agency), lazyload(Referral.to_agency),
        joinedload(Referral.case).lazyload(Case.registered_by_agency)),
    lazyload(Deadline.agency),
)


class _BatchCache:
    """What many deadlines of one batch share: definitions, escalation lists, agency users."""

    def __init__(self) -> None:
        self.notifications = NotificationBatch()
        self._definitions: dict[int, object] = {}
        self._escalation: dict[tuple[int, str], list[int]] = {}

    def reset(self) -> None:
        """Forget what the last batch looked up (users and their roles may have changed since)."""
        self.__init__()

    def definition(self, case):
        if case.workflow_version_id not in self._definitions:
            self._definitions[case.workflow_version_id] = cases.definition_of(case)
        return self._definitions[case.workflow_version_id]

    def escalation_recipients(self, deadline: Deadline) -> list[int]:
        key = (deadline.agency_id, deadline.referral.case.region)
        if key not in self._escalation:
            self._escalation[key] = _escalation_recipients(deadline)
        return self._escalation[key]


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


def sweep(now: datetime | None = None, *, batch_size: int = BATCH_SIZE, clock=utcnow) -> SweepResult:
    """Handle every deadline with something due, each in a transaction of its own; return what was done.

    On PostgreSQL each deadline is claimed by locking its case with ``SKIP LOCKED``: another sweeper, or a
    person acting on the case, is never waited for and never handled twice, and a sweeper killed mid-way
    holds nothing afterwards. SQLite has no row locks: deadlines are leased in batches instead.
    """
    result = SweepResult()
    cache = _BatchCache()
    batches = _Batches(now, clock, batch_size, cache)
    order = (Deadline.next_check_at, Deadline.id)
    if db.session.get_bind().dialect.name == "postgresql":
        def next_unit(failed: set):
            return db.session.scalar(
                sa.select(Deadline.id).join(Case, Case.id == Deadline.case_id)
                .where(batches.due(1), Deadline.id.not_in(failed) if failed else sa.true())
                .order_by(*order).limit(1).with_for_update(of=Case, skip_locked=True))
    else:
        next_unit = Leased(lambda: lease_due(Deadline, batches.due(batch_size), order, batch_size, batches.moment,
                                             LEASE))

    result.processed = drain(next_unit, lambda deadline_id: handle_deadline(deadline_id, batches.moment, result,
                                                                            cache))
    return result


class _Batches:
    """The sweep's moment: every ``batch_size`` deadlines it reads the clock again and forgets its lookups.

    A long catch-up thus sees what fell due meanwhile, and holds no users or definitions for long.
    """

    def __init__(self, now: datetime | None, clock, batch_size: int, cache: "_BatchCache") -> None:
        self._now, self._clock, self._batch_size, self._cache = now, clock, batch_size, cache
        self.moment = now or clock()
        self._claimed = 0

    def due(self, units: int):
        """Return the condition of a deadline due now, for a claim of ``units`` deadlines."""
        if self._claimed % self._batch_size == 0:
            self.moment = self._now or self._clock()
            self._cache.reset()
        self._claimed += units
        return sa.and_(Deadline.status == DeadlineStatus.pending, Deadline.next_check_at <= self.moment)


def handle_deadline(deadline_id: int, now: datetime, result: SweepResult, cache: "_BatchCache") -> None:
    """Do what one leased deadline needs now, after locking its case (the one lock order); flush, never commit.

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
    cache.notifications.write()
    db.session.flush()


def _still_running(deadline: Deadline) -> bool:
    status = deadline.referral.status
    if deadline.kind is DeadlineKind.respond:
        return status is ReferralStatus.requested
    return status in ACTIVE_STATUSES


def _fired(deadline: Deadline, what: str, due: datetime, now: datetime, result: SweepResult) -> None:
    late = max((now - due).total_seconds(), 0.0)
    deadline.fired = [*deadline.fired, {"what": what, "due": due.isoformat(), "at": now.isoformat(),
                                        "late_seconds": late}]
    result.lateness.append(late)


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
    definition = cache.definition(referral.case)
    params = _params(deadline, definition)
    while deadline.reminders_sent < len(deadline.remind_at):
        remind_at = datetime.fromisoformat(deadline.remind_at[deadline.reminders_sent])
        if remind_at > now:
            break
        if deadline.due_at > now:
            # After downtime, a reminder for a deadline already passed says nothing the escalation won't.
            notify_agency(deadline.agency_id, "deadline.reminder", params, case_id=referral.case_id,
                          referral_id=referral.id, dedupe=f"reminder:{deadline.id}:{deadline.reminders_sent}",
                          batch=cache.notifications)
            _fired(deadline, f"reminder-{deadline.reminders_sent}", remind_at, now, result)
            result.reminders += 1
        deadline.reminders_sent += 1
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


def _escalation_recipients(deadline: Deadline) -> list[int]:
    region = deadline.referral.case.region
    return list(db.session.scalars(
        sa.select(User.id).join(Agency, Agency.id == User.agency_id).where(
            User.is_active_account.is_(True),
            sa.or_(sa.and_(User.agency_id == deadline.agency_id, User.role == Role.supervisor),
                   sa.and_(User.role == Role.coordinator, Agency.region == region)),
        ).order_by(User.id)
    ))


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
    recipients = cache.escalation_recipients(deadline)
    if referral.assignee_user_id is not None and referral.assignee_user_id not in recipients:
        recipients = [*recipients, referral.assignee_user_id]
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
