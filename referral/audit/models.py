"""The append-only audit log."""

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import UTCDateTime, db, utcnow


class AuditEntry(db.Model):
    """One audited act. Database triggers (see the first migration) refuse UPDATE and DELETE."""

    __tablename__ = "audit_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at = mapped_column(UTCDateTime, default=utcnow, nullable=False, index=True)
    #: The user who acted; null for the system (scheduler, CLI without a user).
    actor_user_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="RESTRICT"), index=True
    )
    #: Who acted as shown to readers, kept even if the user is renamed.
    actor_label: Mapped[str] = mapped_column(sa.String(254))
    #: Dotted verb, e.g. ``auth.login_failed``, ``agency.update``, ``case.read``.
    action: Mapped[str] = mapped_column(sa.String(64), index=True)
    object_type: Mapped[str | None] = mapped_column(sa.String(32))
    object_id: Mapped[str | None] = mapped_column(sa.String(64))
    remote_addr: Mapped[str | None] = mapped_column(sa.String(64))
    #: A small payload of non-personal details (changed field names, codes).
    detail: Mapped[dict] = mapped_column(sa.JSON, default=dict)

    __table_args__ = (sa.Index("ix_audit_entries_object", "object_type", "object_id"),
                      sa.Index("ix_audit_entries_address", "remote_addr", "occurred_at"))

