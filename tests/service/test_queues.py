"""Leasing due rows: no two leases get the same row, and an expired lease frees it."""

from datetime import timedelta

import sqlalchemy as sa

from referral.extensions import db, utcnow
from referral.notifications.models import Delivery
from referral.queues import lease_due

LEASE = timedelta(minutes=2)


def test_leases_give_each_row_to_one_claim_until_the_lease_runs_out(app):
    now = utcnow()
    db.session.execute(sa.insert(Delivery), [
        {"channel": "webhook", "status": "pending", "payload": {}, "attempts": 0,
         "next_attempt_at": now - timedelta(seconds=index), "created_at": now} for index in range(5)])
    db.session.commit()
    due = sa.and_(Delivery.status == "pending", Delivery.next_attempt_at <= now)
    order = (Delivery.next_attempt_at, Delivery.id)
    first = lease_due(Delivery, due, order, 3, now, LEASE)
    second = lease_due(Delivery, due, order, 3, now, LEASE)
    assert len(first) == 3 and len(second) == 2
    assert not set(first) & set(second)
    times = dict(db.session.execute(sa.select(Delivery.id, Delivery.next_attempt_at)).all())
    assert [times[row_id] for row_id in first] == sorted(times[row_id] for row_id in first)
    assert lease_due(Delivery, due, order, 3, now, LEASE) == []
    later = now + LEASE + timedelta(seconds=1)
    assert len(lease_due(Delivery, due, order, 10, later, LEASE)) == 5
