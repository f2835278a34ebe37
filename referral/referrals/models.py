"""Referrals: one agency asking another to take a case into a stage."""

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workflows.lifecycle import ACTIVE_STATUSES, OPEN_STATUSES, TERMINAL_STATUSES, ReferralStatus

from ..extensions import UTCDateTime, db, enum_type, utcnow

_TERMINAL = ", ".join(f"'{status.value}'" for status in sorted(TERMINAL_STATUSES))
_OPEN = ", ".join(f"'{status.value}'" for status in sorted(OPEN_STATUSES))


class Referral(db.Model):
    """Every occupancy of a stage; the first one, at the start stage, has no sender."""

    __tablename__ = "referrals"
    __table_args__ = (
        sa.CheckConstraint(f"(status IN ({_TERMINAL})) = (closed_at IS NOT NULL)", name="closed_has_closed_at"),
        sa.CheckConstraint("status <> 'completed' OR outcome IS NOT NULL", name="completed_has_outcome"),
        sa.CheckConstraint("version >= 1", name="version_positive"),
        sa.CheckConstraint("(from_stage IS NULL) = (from_agency_id IS NULL)", name="sender_has_stage"),
        # Two people referring the same case to the same agency and stage at once: one wins.
        sa.Index("uq_referrals_open_target", "case_id", "to_stage", "to_agency_id", unique=True,
                 sqlite_where=sa.text(f"status IN ({_OPEN})"), postgresql_where=sa.text(f"status IN ({_OPEN})")),
        sa.Index("ix_referrals_inbox", "to_agency_id", "status", "due_at"),
        sa.Index("ix_referrals_outbox", "from_agency_id", "status", "due_at"),
        sa.Index("ix_referrals_assignee", "assignee_user_id", "status"),
        # A report's period: its days at either end, its distinct cases (read from the index alone), and its
        # open referrals, the few whose figures the clock changes (the overdue ones found in the index).
        sa.Index("ix_referrals_created", "created_at", "case_id"),
        sa.Index("ix_referrals_open_created", "created_at", "due_at", sqlite_where=sa.text("closed_at IS NULL"),
                 postgresql_where=sa.text("closed_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"), index=True)
    #: The sender's stage; null for the first referral of a case, at the start stage.
    from_stage: Mapped[str | None] = mapped_column(sa.String(64))
    to_stage: Mapped[str] = mapped_column(sa.String(64))
    from_agency_id: Mapped[int | None] = mapped_column(sa.ForeignKey("agencies.id"))
    to_agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agencies.id"))
    #: The sender's referral at ``from_stage`` that this one was made from.
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("referrals.id"))
    #: ``handover`` or ``parallel``, copied from the transition when the referral was made.
    mode: Mapped[str] = mapped_column(sa.String(16), default="handover")
    status: Mapped[ReferralStatus] = mapped_column(enum_type(ReferralStatus, "referral_status"), index=True)
    #: Why the referral was made, as the sender wrote it.
    reason: Mapped[str | None] = mapped_column(sa.Text)
    #: Why it was rejected, held, failed or cancelled; ``no-response`` when the scheduler cancelled it.
    status_reason: Mapped[str | None] = mapped_column(sa.Text)
    outcome: Mapped[str | None] = mapped_column(sa.Text)
    #: Raised on every change; an action naming an older version is refused.
    version: Mapped[int] = mapped_column(default=1)
    created_by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    #: Who in the receiving agency works the referral (FHIR Task ``owner``); null: the agency as a whole.
    assignee_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    responded_at = mapped_column(UTCDateTime)
    closed_at = mapped_column(UTCDateTime)
    #: When the receiving agency must accept or reject by (from the stage's respond_within).
    respond_by = mapped_column(UTCDateTime)
    #: When the work must be finished by, set on acceptance (from the stage's complete_within).
    complete_by = mapped_column(UTCDateTime)
    #: The deadline that matters now: ``respond_by`` while requested, ``complete_by`` while active,
    #: null once closed. Kept by the model on every write; the inbox sorts on it.
    due_at = mapped_column(UTCDateTime)

    case = relationship("Case", back_populates="referrals", foreign_keys=[case_id])
    from_agency = relationship("Agency", foreign_keys=[from_agency_id], lazy="joined")
    to_agency = relationship("Agency", foreign_keys=[to_agency_id], lazy="joined")
    parent = relationship("Referral", remote_side=[id])
    assignee = relationship("User", foreign_keys=[assignee_user_id])

    __mapper_args__ = {"version_id_col": version}

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def __repr__(self) -> str:
        return f"<Referral {self.id} {self.to_stage} {self.status}>"


def current_due(referral: Referral):
    """Return the deadline that matters for a referral in its status."""
    if referral.status is ReferralStatus.requested:
        return referral.respond_by
    if referral.status in ACTIVE_STATUSES:
        return referral.complete_by
    return None


@sa.event.listens_for(Referral, "before_insert")
@sa.event.listens_for(Referral, "before_update")
def _keep_due_at(mapper, connection, target: Referral) -> None:
    target.due_at = current_due(target)


class ReferralMessage(db.Model):
    """One message of the conversation between a referral's two agencies ("send the vaccination record first")."""

    __tablename__ = "referral_messages"
    __table_args__ = (sa.CheckConstraint("text <> ''", name="text_not_empty"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(sa.ForeignKey("referrals.id", ondelete="CASCADE"), index=True)
    #: The writer's agency: the referral's sender or its receiver.
    agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agencies.id"))
    author_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    author_name: Mapped[str] = mapped_column(sa.String(200))
    text: Mapped[str] = mapped_column(sa.Text)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    agency = relationship("Agency", lazy="joined")
