"""In-app notifications, one row per recipient, and the outbox of e-mails and webhooks."""

from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import UTCDateTime, db, enum_type, utcnow


class Notification(db.Model):
    """A message to one user; its text is rendered in the reader's language from ``kind`` and ``params``."""

    __tablename__ = "notifications"
    __table_args__ = (
        sa.Index("ix_notifications_user_unread", "user_id", "read_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: What happened, e.g. ``referral.accepted``; selects the message template.
    kind: Mapped[str] = mapped_column(sa.String(64))
    #: Case number, stage and agency names, action: never the child's name.
    params: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    case_id: Mapped[int | None] = mapped_column(sa.ForeignKey("cases.id"))
    referral_id: Mapped[int | None] = mapped_column(sa.ForeignKey("referrals.id"))
    #: Makes a message idempotent: the same key is never written twice.
    dedupe_key: Mapped[str | None] = mapped_column(sa.String(200), unique=True)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    read_at = mapped_column(UTCDateTime)


class Channel(StrEnum):
    email = "email"
    webhook = "webhook"


class DeliveryStatus(StrEnum):
    pending = "pending"
    sent = "sent"
    failed = "failed"


class Delivery(db.Model):
    """One e-mail or webhook call waiting to go out, retried with backoff, given up after a few attempts."""

    __tablename__ = "deliveries"
    __table_args__ = (
        sa.Index("ix_deliveries_due", "status", "next_attempt_at"),
        sa.CheckConstraint("attempts >= 0", name="attempts_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[Channel] = mapped_column(enum_type(Channel, "delivery_channel"))
    status: Mapped[DeliveryStatus] = mapped_column(enum_type(DeliveryStatus, "delivery_status"),
                                                   default=DeliveryStatus.pending)
    #: E-mail: the user it goes to; webhook: the agency whose endpoint it goes to.
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    agency_id: Mapped[int | None] = mapped_column(sa.ForeignKey("agencies.id", ondelete="CASCADE"))
    #: E-mail: {to, subject, body}; webhook: the JSON event. Never a child's name.
    payload: Mapped[dict] = mapped_column(sa.JSON)
    #: The same key is never queued twice.
    dedupe_key: Mapped[str | None] = mapped_column(sa.String(200), unique=True)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at = mapped_column(UTCDateTime, nullable=False)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    lease_until = mapped_column(UTCDateTime)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    sent_at = mapped_column(UTCDateTime)

    agency = relationship("Agency")
    user = relationship("User")
