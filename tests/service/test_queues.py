"""Claiming due rows: no two claims get the same row, and an expired lease frees it."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from referral.extensions import db, utcnow
from referral.notifications.models import Delivery
from referral.queues import claim_due
from tests.conftest import PG_URL

LEASE = timedelta(minutes=2)


@pytest.mark.skipif(bool(PG_URL), reason="SQLite leases; PostgreSQL row locks are tested with real processes")
def test_sqlite_leases_give_each_row_to_one_claim_until_the_lease_runs_out(app):
    now = utcnow()
    db.session.execute(sa.insert(Delivery), [
        {"channel": "webhook", "status": "pending", "payload": {}, "attempts": 0,
         "next_attempt_at": now - timedelta(seconds=index), "created_at": now} for index in range(5)])
    db.session.commit()
    due = sa.and_(Delivery.status == "pending", Delivery.next_attempt_at <= now)
    order = (Delivery.next_attempt_at, Delivery.id)
    first = claim_due(Delivery, due, order, 3, now, LEASE)
    second = claim_due(Delivery, due, order, 3, now, LEASE)
    assert len(first) == 3 and len(second) == 2
    assert not {d.id for d in first} & {d.id for d in second}
    assert [d.next_attempt_at for d in first] == sorted(d.next_attempt_at for d in first)
    assert claim_due(Delivery, due, order, 3, now, LEASE) == []
    later = now + LEASE + timedelta(seconds=1)
    assert len(claim_due(Delivery, due, order, 10, later, LEASE)) == 5
