"""One lock order for every change to a case: the case's row first, then its referrals, then their deadlines.

A person's action on a referral, a referral onward, a risk change and the scheduler's handling of a
deadline all begin with :func:`lock_case`. Two of them on one case therefore wait for each other
instead of deadlocking, and whoever comes second works on what the first committed: a case whose last
two referrals complete at once closes, and an accept that waited for the sweep finds the referral it
meant already cancelled. PostgreSQL takes ``SELECT … FOR UPDATE`` on the case; SQLite has no row locks
and lets one writer at a time, which serializes the same work.
"""

import sqlalchemy as sa

from .cases.models import Case
from .deadlines.models import Deadline
from .extensions import db
from .referrals.models import Referral


def lock_case(case_id: int) -> Case | None:
    """Lock a case's row for the rest of the transaction and forget what the session read of it before.

    Returns the case, read after the lock (None if there is no such case). Referrals and deadlines of the
    case already in the session are expired, so that they too are read again, as committed by whoever
    held the lock before.
    """
    db.session.flush()
    if db.session.scalar(sa.select(Case.id).where(Case.id == case_id).with_for_update()) is None:
        return None
    case = db.session.get(Case, case_id, populate_existing=True)
    for held in list(db.session.identity_map.values()):
        if isinstance(held, Referral | Deadline) and held.case_id == case_id:
            db.session.expire(held)
    db.session.expire(case, ["referrals"])
    return case


def case_of_referral(referral_id: int) -> int | None:
    """Return the case id of a referral, read without a lock (it never changes)."""
    return db.session.scalar(sa.select(Referral.case_id).where(Referral.id == referral_id))


def case_of_deadline(deadline_id: int) -> int | None:
    """Return the case id of a deadline, read without a lock (it never changes)."""
    return db.session.scalar(sa.select(Deadline.case_id).where(Deadline.id == deadline_id))
