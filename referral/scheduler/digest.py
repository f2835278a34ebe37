"""The daily digest: each user with open work is told once a day what waits for their agency.

The day's round is claimed in the settings table, so that a scheduler started after the digest hour
catches up on it once, and two schedulers send it once.
"""

from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app

from workflows.lifecycle import ACTIVE_STATUSES, ReferralStatus

from ..auth.models import Setting, User
from ..deadlines.models import Deadline, DeadlineStatus
from ..extensions import db, dialect_insert, utcnow
from ..notifications.service import notify_users
from ..referrals.models import Referral

DIGEST_SETTING = "digest.last_sent_on"


def send_todays_digests(now: datetime) -> int | None:
    """Claim today's digest round and send it if it is due and unclaimed; return how many, or None if not due.

    The claim and the digests commit together: a scheduler killed before the commit leaves the day
    unclaimed and the next run sends it.
    """
    local = now.astimezone(ZoneInfo(current_app.config["REFERRAL_TIMEZONE"]))
    if local.hour < current_app.config["REFERRAL_DIGEST_HOUR"]:
        return None
    day = local.date().isoformat()
    db.session.execute(dialect_insert(Setting.__table__).values(key=DIGEST_SETTING, value=None, updated_at=now)
                       .on_conflict_do_nothing(index_elements=["key"]))
    # Lock the row (a row lock on PostgreSQL, the write lock on SQLite) before reading it, so that a second
    # scheduler waits for the first one's commit and then sees the day taken.
    db.session.execute(sa.update(Setting).where(Setting.key == DIGEST_SETTING).values(updated_at=now)
                       .execution_options(synchronize_session=False))
    last_sent = db.session.scalar(sa.select(Setting.value).where(Setting.key == DIGEST_SETTING))
    if last_sent == day:
        return None
    db.session.execute(sa.update(Setting).where(Setting.key == DIGEST_SETTING).values(value=day)
                       .execution_options(synchronize_session=False))
    return send_digests(now)


def send_digests(now: datetime | None = None) -> int:
    """Write today's digest for each active user who wants one and whose agency has open work; return how many."""
    now = now or utcnow()
    day = now.astimezone(ZoneInfo(current_app.config["REFERRAL_TIMEZONE"])).date().isoformat()
    requested = dict(db.session.execute(
        sa.select(Referral.to_agency_id, sa.func.count()).where(Referral.status == ReferralStatus.requested)
        .group_by(Referral.to_agency_id)).all())
    active = dict(db.session.execute(
        sa.select(Referral.to_agency_id, sa.func.count()).where(Referral.status.in_(ACTIVE_STATUSES))
        .group_by(Referral.to_agency_id)).all())
    overdue = dict(db.session.execute(
        sa.select(Deadline.agency_id, sa.func.count()).where(Deadline.status == DeadlineStatus.pending,
                                                             Deadline.due_at < now)
        .group_by(Deadline.agency_id)).all())
    written = 0
    users = db.session.execute(sa.select(User.id, User.agency_id).where(
        User.is_active_account.is_(True), User.wants_digest.is_(True))).all()
    for user_id, agency_id in users:
        counts = {"requested": requested.get(agency_id, 0), "active": active.get(agency_id, 0),
                  "overdue": overdue.get(agency_id, 0)}
        if not any(counts.values()):
            continue
        written += len(notify_users([user_id], "digest", counts, dedupe=f"digest:{day}"))
    return written


