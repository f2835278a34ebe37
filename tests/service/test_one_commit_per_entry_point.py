"""One owner per entry point: an API request commits once (its token's last use included), a refused one not at
all, and the sweep commits each batch of deadlines it handles on its own, after the claim or lease that took it."""

from contextlib import contextmanager
from datetime import timedelta

import sqlalchemy as sa

from referral.auth.models import ApiToken
from referral.deadlines.models import Deadline
from referral.extensions import db, utcnow
from referral.scheduler.sweep import sweep
from tests.service.test_referrals import act, refer, register, world  # noqa: F401,F811 - the fixture


@contextmanager
def commits():
    """Count the COMMITs the database receives inside the block."""
    seen = []

    def count(connection):
        seen.append(1)

    sa.event.listen(db.engine, "commit", count)
    try:
        yield seen
    finally:
        sa.event.remove(db.engine, "commit", count)


def test_an_api_request_commits_once_and_a_refused_one_not_at_all(client, world):  # noqa: F811
    case = register(client, world)
    referral = refer(client, world, case["id"], "screening").json
    db.session.execute(sa.update(ApiToken).values(last_used_at=None))
    db.session.commit()

    with commits() as seen:
        assert client.get("/api/v1/agencies", headers=world["health"]["headers"]).status_code == 200
    assert len(seen) == 1  # a read that wrote only the token's last use (before: two, one of them in before_request)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)
                             .where(ApiToken.last_used_at.is_not(None))) == 1

    with commits() as seen:
        assert client.get(f"/api/v1/referrals/{referral['id']}", headers=world["health"]["headers"]).status_code == 200
    assert len(seen) == 1  # an audited read

    with commits() as seen:
        assert act(client, world, "health", referral, "accept").status_code == 200
    assert len(seen) == 1  # a change, with its audit entry, events, notifications and clocks

    with commits() as seen:
        assert act(client, world, "health", referral, "accept").status_code == 409  # stale version
        assert client.get("/api/v1/referrals/999999", headers=world["ngo"]["headers"]).status_code == 404
    assert seen == []


def test_the_sweep_commits_each_batch_of_deadlines_on_its_own(client, world):  # noqa: F811
    for _ in range(3):
        case = register(client, world)
        refer(client, world, case["id"], "screening")
    due = db.session.scalar(sa.select(sa.func.count()).select_from(Deadline)
                            .where(Deadline.next_check_at <= utcnow() + timedelta(days=30)))
    with commits() as seen:
        result = sweep(now=utcnow() + timedelta(days=30), batch_size=2)
    assert result.processed == due >= 3
    batches = -(-due // 2)
    if db.engine.dialect.name == "postgresql":
        assert len(seen) == batches  # each claimed by locking its cases, in the transaction that handles it
    else:
        leases = batches + 1  # each batch's lease, and the last one that found nothing
        assert len(seen) == batches + leases
