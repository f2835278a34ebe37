"""Claiming due rows for background work, so that two workers never take the same row.

PostgreSQL locks the rows with ``FOR UPDATE SKIP LOCKED`` for the rest of the
caller's transaction. SQLite has no row locks: the rows are leased with one
``UPDATE … RETURNING`` committed at once, and only the rows this worker's
update touched come back. A worker killed mid-batch leaves a lease that runs
out, after which another worker takes the rows again.
"""

from collections.abc import Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa

from .extensions import db


def claim_due(model, due, order_by: Sequence, batch_size: int, now: datetime, lease: timedelta,
              options: Sequence = ()) -> list:
    """Return up to ``batch_size`` rows of ``model`` matching ``due``, claimed for this worker, in order.

    ``model`` needs an ``id`` and a ``lease_until`` column.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        # Lock on the bare table (a plain index range), then load the locked rows with what they need.
        ids = db.session.scalars(
            sa.select(model.id).where(due).order_by(*order_by).limit(batch_size).with_for_update(skip_locked=True)
        ).all()
    else:
        free = sa.or_(model.lease_until.is_(None), model.lease_until < now)
        candidates = sa.select(model.id).where(due, free).order_by(*order_by).limit(batch_size)
        ids = db.session.execute(
            sa.update(model).where(model.id.in_(candidates.scalar_subquery()), free)
            .values(lease_until=now + lease).returning(model.id)
            .execution_options(synchronize_session=False)
        ).scalars().all()
        db.session.commit()
    if not ids:
        return []
    return list(db.session.scalars(
        sa.select(model).where(model.id.in_(ids)).order_by(*order_by).options(*options)
    ).unique())
