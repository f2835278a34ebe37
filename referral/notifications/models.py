"""In-app notifications, one row per recipient."""

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import UTCDateTime, db, utcnow


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
