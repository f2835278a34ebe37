"""One lock order for every change to a case: the case's row first, then its referrals, then their deadlines.

A person's action on a referral, a referral onward, a risk change and the scheduler's handling of a
deadline all begin with :func:`lock_case`. Two of them on one case therefore wait for each other
instead of deadlocking, and whoever comes second works on what the first committed: a case whose last
two referrals complete at once closes, and an accept that waited for the sweep finds the referral it
meant already cancelled. PostgreSQL takes ``SELECT … FOR UPDATE`` on the case; SQLite has no row locks
and lets one writer at a time, which serializes the same work.
"""

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, lazyload, load_only

from .cases.models import Case
from .deadlines.models import Deadline
from .designer.models import WorkflowVersion
from .extensions import db
from .referrals.models import Referral


def _locking_select(condition) -> sa.Select:
    # One statement locks the row and reads it afresh, with its referrals (a second, selectin, statement
    # reading them afresh too); consents and the registering agency are read when used. The referrals
    # must not be joined to this statement: a statement that waited for the lock sees the locked row as
    # now committed but every joined row as it was when the statement began, so an accept that waited
    # would miss what the one before it changed (tests/service/test_races_on_one_case.py).
    return (sa.select(Case).where(condition).with_for_update(of=Case)
            .options(lazyload(Case.consents), lazyload(Case.registered_by_agency),
                     # The publication time of the workflow version is the key of its cached definition.
                     joinedload(Case.workflow_version).options(load_only(WorkflowVersion.published_at),
                                                               lazyload(WorkflowVersion.published_by)))
            .execution_options(populate_existing=True))


#: Built once each: every change to a case begins with one, and building the select with its loader options
#: each time was a sixth of the lock's CPU (0.5 of 3.2 ms in an accept).
_LOCK_BY_CASE = _locking_select(Case.id == sa.bindparam("case_id"))
_LOCK_BY_REFERRAL = _locking_select(
    Case.id == sa.select(Referral.case_id).where(Referral.id == sa.bindparam("referral_id")).scalar_subquery())


def lock_case(case_id: int) -> Case | None:
    """Lock a case's row for the rest of the transaction and forget what the session read of it before.

    Returns the case, read after the lock (None if there is no such case). Referrals and deadlines of the
    case already in the session are expired, so that they too are read again, as committed by whoever
    held the lock before.
    """
    db.session.flush()
    _expire_held(case_id)
    return db.session.scalar(_LOCK_BY_CASE, {"case_id": case_id})


def lock_case_of_referral(referral_id: int) -> Case | None:
    """Lock the case of a referral, as :func:`lock_case` does, finding it in the same statement."""
    db.session.flush()
    case = db.session.scalar(_LOCK_BY_REFERRAL, {"referral_id": referral_id})
    if case is not None:
        _expire_held(case.id, keep=set(case.referrals))
    return case


def _expire_held(case_id: int, keep: set = frozenset()) -> None:
    """Expire the referrals and deadlines of a case that the session holds (but those just read)."""
    for held in list(db.session.identity_map.values()):
        # An expired object's case is unknown without a query, and it is read afresh on use anyway.
        if isinstance(held, Referral | Deadline) and held not in keep \
                and sa.inspect(held).dict.get("case_id") == case_id:
            db.session.expire(held)


def case_of_referral(referral_id: int) -> int | None:
    """Return the case id of a referral, read without a lock (it never changes)."""
    return db.session.scalar(sa.select(Referral.case_id).where(Referral.id == referral_id))


def case_of_deadline(deadline_id: int) -> int | None:
    """Return the case id of a deadline, read without a lock (it never changes)."""
    return db.session.scalar(sa.select(Deadline.case_id).where(Deadline.id == deadline_id))
