"""Claiming due rows for background work, so that two workers never take the same row.

Due rows are leased with one ``UPDATE … RETURNING`` committed at once (on
PostgreSQL the candidates are picked ``FOR UPDATE SKIP LOCKED``, so two leases
never wait for each other), and only the rows this worker's update touched come
back. A worker killed mid-batch leaves a lease that runs out, after which
another worker takes the rows again.
"""

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa

from .extensions import db

log = logging.getLogger("referral.queues")


def lease_due(model, due, order_by: Sequence, batch_size: int, now: datetime, lease: timedelta) -> list[int]:
    """Lease up to ``batch_size`` due rows of ``model`` to this worker and commit; return their ids, in order.

    No row lock outlives the claim on either database: each row is then handled
    in a transaction of its own that takes its locks in the usual order (see ``referral.locking``). Two
    workers never lease the same row (PostgreSQL skips rows another claim is leasing; SQLite runs one
    writer at a time), and a worker killed mid-way leaves leases that run out, after which the rows are
    leased again.
    """
    free = sa.or_(model.lease_until.is_(None), model.lease_until < now)
    candidates = sa.select(model.id).where(due, free).order_by(*order_by).limit(batch_size)
    if db.session.get_bind().dialect.name == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    leased = set(db.session.execute(
        sa.update(model).where(model.id.in_(candidates.scalar_subquery()), free)
        .values(lease_until=now + lease).returning(model.id)
        .execution_options(synchronize_session=False)
    ).scalars())
    db.session.commit()
    if not leased:
        return []
    return [row_id for row_id in db.session.scalars(sa.select(model.id).where(model.id.in_(leased))
                                                    .order_by(*order_by))]


def drain(next_unit: Callable[[set], object | None], handle: Callable[[object], object]) -> int:
    """Take units of work one by one, handle each in a transaction of its own and commit it; return how many.

    This is the one loop the scheduler's jobs share. ``next_unit(failed)`` returns the next unit (claimed,
    by a row lock or a lease) or None when nothing is left, never one in ``failed``; ``handle`` changes what
    one unit needs and flushes, and never commits. A unit that fails is rolled back and logged, and is not
    taken again in this run, so one bad row neither stops the others nor is retried in a tight loop.
    """
    handled, failed = 0, set()
    while (unit := next_unit(failed)) is not None:
        try:
            handle(unit)
            db.session.commit()
        except Exception:
            db.session.rollback()
            failed.add(unit)
            log.exception("unit %s failed; the next run tries it again", unit)
        handled += 1
    return handled


class Leased:
    """Units leased in batches (see :func:`lease_due`), handed out one at a time to :func:`drain`."""

    def __init__(self, lease: Callable[[], list]) -> None:
        self._lease = lease
        self._waiting: list = []

    def __call__(self, failed: set):
        while True:
            while self._waiting:
                unit = self._waiting.pop(0)
                if unit not in failed:
                    return unit
            self._waiting = list(self._lease())
            if not self._waiting:
                return None
