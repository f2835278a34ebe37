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



class AuditSeal(db.Model):
    """The hash that seals one audit entry to the chain of those before it; written beside the entry, never on it.

    Append-only like the entries (triggers refuse UPDATE, DELETE and, on PostgreSQL, TRUNCATE).
    """

    __tablename__ = "audit_seals"

    entry_id: Mapped[int] = mapped_column(sa.ForeignKey("audit_entries.id", ondelete="RESTRICT"), primary_key=True)
    #: SHA-256 (hex) of the previous seal's hash and the entry's canonical form: see ``integrity.entry_hash``.
    hash: Mapped[str] = mapped_column(sa.String(64))
    sealed_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
