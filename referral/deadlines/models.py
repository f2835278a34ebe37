"""Deadline rows: the database is the source of truth for every clock."""

from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import UTCDateTime, db, enum_type, utcnow


class DeadlineKind(StrEnum):
    respond = "respond"
    complete = "complete"
    review = "review"


class DeadlineStatus(StrEnum):
    pending = "pending"
    met = "met"
    missed = "missed"
    cancelled = "cancelled"


class Deadline(db.Model):
    """One clock on one referral, written in the same transaction as the change that starts or stops it."""

    __tablename__ = "deadlines"
    __table_args__ = (
        sa.CheckConstraint("(status = 'pending') = (closed_at IS NULL)", name="closed_unless_pending"),
        sa.CheckConstraint("reminders_sent >= 0", name="reminders_sent_not_negative"),
        sa.Index("ix_deadlines_due_work", "status", "next_check_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(sa.ForeignKey("referrals.id"), index=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"), index=True)
    #: The agency whose clock this is (the referral's receiver).
    agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agencies.id"), index=True)
    kind: Mapped[DeadlineKind] = mapped_column(enum_type(DeadlineKind, "deadline_kind"))
    status: Mapped[DeadlineStatus] = mapped_column(enum_type(DeadlineStatus, "deadline_status"),
                                                   default=DeadlineStatus.pending)
    #: The stage's duration as written, e.g. ``PT24H`` or ``5 working days``.
    duration: Mapped[str] = mapped_column(sa.String(64))
    started_at = mapped_column(UTCDateTime, nullable=False)
    due_at = mapped_column(UTCDateTime, nullable=False, index=True)
    #: When each reminder falls due (ISO UTC, ascending); the first ``reminders_sent`` have been sent.
    remind_at: Mapped[list] = mapped_column(sa.JSON, default=list)
    reminders_sent: Mapped[int] = mapped_column(default=0)
    #: When the sweep next has something to do here: the next reminder, or the deadline itself.
    next_check_at = mapped_column(UTCDateTime)
    #: SQLite has no SKIP LOCKED: a sweeper leases rows until this time (see referral.queues).
    lease_until = mapped_column(UTCDateTime)
    #: What the sweep did and how late: a list of {what, due, at, late_seconds}.
    fired: Mapped[list] = mapped_column(sa.JSON, default=list)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    closed_at = mapped_column(UTCDateTime)

    # Loaded on use, not joined: closing one clock must not read its referral, case and agencies (five
    # tables) along. Lists that show them ask with loader options (``service.with_case``, the sweep's own).
    referral = relationship("Referral")
    agency = relationship("Agency")
