"""Cases, their consents and their append-only timeline."""

from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import UTCDateTime, db, enum_type, utcnow
from .names import birth_year, name_key, search_key


class Sex(StrEnum):
    female = "female"
    male = "male"
    unknown = "unknown"


class RiskLevel(StrEnum):
    high = "high"
    medium = "medium"
    low = "low"


class CaseStatus(StrEnum):
    open = "open"
    closed = "closed"


class Case(db.Model):
    """A child, and the workflow version the case runs on. Never keyed by a national ID."""

    __tablename__ = "cases"
    __table_args__ = (
        sa.CheckConstraint("(status = 'closed') = (closed_at IS NOT NULL)", name="closed_has_closed_at"),
        sa.CheckConstraint("birth_date IS NOT NULL OR estimated_age IS NOT NULL OR erased_at IS NOT NULL",
                           name="has_age"),
        sa.CheckConstraint("erased_at IS NULL OR status = 'closed'", name="erased_when_closed"),
        sa.CheckConstraint("estimated_age IS NULL OR (estimated_age >= 0 AND estimated_age < 25)",
                           name="estimated_age_range"),
        sa.CheckConstraint("version >= 1", name="version_positive"),
        sa.Index("ix_cases_given_key_born_about", "given_key", "born_about"),
        sa.Index("ix_cases_family_key_born_about", "family_key", "born_about"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Human-readable, e.g. ``KZ-2026-000123``; safe to put in messages.
    number: Mapped[str] = mapped_column(sa.String(32), unique=True)
    workflow_version_id: Mapped[int] = mapped_column(sa.ForeignKey("workflow_versions.id"), index=True)
    given_name: Mapped[str] = mapped_column(sa.String(100))
    family_name: Mapped[str] = mapped_column(sa.String(100))
    patronymic: Mapped[str | None] = mapped_column(sa.String(100))
    #: The names folded for search across scripts (``names.search_key``); kept by the model on every write.
    search_key: Mapped[str] = mapped_column(sa.String(400), default="", server_default="")
    #: The given and the family name each folded alone (``names.name_key``), where the duplicate check looks
    #: for a name that is the same; kept by the model on every write.
    given_key: Mapped[str] = mapped_column(sa.String(100), default="", server_default="")
    family_key: Mapped[str] = mapped_column(sa.String(100), default="", server_default="")
    #: The year the child was born, or about (``names.birth_year``), indexed with each name key; kept by the model.
    born_about: Mapped[int | None]
    birth_date = mapped_column(sa.Date)
    #: Years, when the birth date is not known.
    estimated_age: Mapped[int | None]
    sex: Mapped[Sex] = mapped_column(enum_type(Sex, "child_sex"))
    #: ISO 3166-2:KZ code of the region the child lives in.
    region: Mapped[str] = mapped_column(sa.String(5), index=True)
    #: Languages the child speaks, as ISO 639-1 codes.
    languages: Mapped[list] = mapped_column(sa.JSON, default=list)
    #: The district or settlement where the child lives now (the region is ``region``).
    settlement: Mapped[str | None] = mapped_column(sa.String(200))
    #: When the child came back to Kazakhstan, where known.
    returned_on = mapped_column(sa.Date)
    #: The people responsible for the child: ``[{"name", "relationship", "phone"}]``, as the caseworker wrote them.
    guardians: Mapped[list] = mapped_column(sa.JSON, default=list, server_default="[]")
    #: Raised on each change to the child's record or the risk level (not on its referrals' changes).
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    risk_level: Mapped[RiskLevel] = mapped_column(enum_type(RiskLevel, "risk_level"))
    status: Mapped[CaseStatus] = mapped_column(enum_type(CaseStatus, "case_status"), default=CaseStatus.open,
                                               index=True)
    registered_by_agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agencies.id"), index=True)
    registered_by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False)
    closed_at = mapped_column(UTCDateTime, index=True)
    #: Why the case's data must be kept past its retention period (a court, an inquiry), or None.
    legal_hold: Mapped[str | None] = mapped_column(sa.Text)
    legal_hold_at = mapped_column(UTCDateTime)
    #: When the child's personal data was erased after the retention period; the case stays for statistics.
    erased_at = mapped_column(UTCDateTime)
    #: The year of birth, kept when the birth date is erased.
    birth_year: Mapped[int | None]

    #: Loaded on first use: every case of a version shares one row in the session, with its document.
    workflow_version = relationship("WorkflowVersion", lazy="select")
    registered_by_agency = relationship("Agency", lazy="joined")
    referrals = relationship("Referral", back_populates="case", order_by="Referral.id",
                             lazy="selectin", foreign_keys="Referral.case_id")
    consents = relationship("Consent", back_populates="case", order_by="Consent.id", lazy="selectin")

    @property
    def workflow_key(self) -> str:
        return self.workflow_version.workflow.key

    def __repr__(self) -> str:
        return f"<Case {self.number}>"



@sa.event.listens_for(Case, "before_insert")
@sa.event.listens_for(Case, "before_update")
def _keep_search_key(mapper, connection, case: Case) -> None:
    case.search_key = search_key(case.given_name, case.family_name, case.patronymic)
    case.given_key, case.family_key = name_key(case.given_name), name_key(case.family_name)
    case.born_about = birth_year(case.birth_date, case.estimated_age, case.created_at or utcnow())

class CaseNumberSequence(db.Model):
    """The last case number given out in a year; locked while a number is taken."""

    __tablename__ = "case_number_sequences"

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last_number: Mapped[int] = mapped_column(default=0)


class Consent(db.Model):
    """Consent to share the case with agencies of some types, given by someone for the child."""

    __tablename__ = "consents"
    __table_args__ = (
        sa.CheckConstraint("expires_on IS NULL OR expires_on >= given_on", name="expires_after_given"),
        sa.CheckConstraint("(withdrawn_at IS NULL) = (withdrawal_reason IS NULL)", name="withdrawn_with_reason"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    #: Who gave consent (a guardian, the child), as written on the form.
    given_by: Mapped[str] = mapped_column(sa.String(200))
    #: Their relationship to the child, e.g. ``mother``, ``guardian``, ``self``.
    relationship_to_child: Mapped[str] = mapped_column(sa.String(100))
    #: Agency types the consent covers.
    agency_types: Mapped[list] = mapped_column(sa.JSON)
    given_on = mapped_column(sa.Date, nullable=False)
    expires_on = mapped_column(sa.Date)
    withdrawn_at = mapped_column(UTCDateTime)
    #: Why the consent was withdrawn, as the person who withdrew it said.
    withdrawal_reason: Mapped[str | None] = mapped_column(sa.Text)
    withdrawn_by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    recorded_by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    recorded_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    case = relationship(Case, back_populates="consents")

    def state_on(self, on_day) -> str:
        """Return ``withdrawn``, ``expired``, ``pending`` (given for a later day) or ``active`` on a day."""
        if self.withdrawn_at is not None:
            return "withdrawn"
        if self.expires_on is not None and on_day > self.expires_on:
            return "expired"
        return "pending" if on_day < self.given_on else "active"

    def covers(self, agency_type: str, on_day) -> bool:
        """Return whether the consent covers an agency type on a day."""
        return (self.withdrawn_at is None and agency_type in self.agency_types and self.given_on <= on_day
                and (self.expires_on is None or on_day <= self.expires_on))


class Event(db.Model):
    """One row of a case's timeline: who changed what, from which state to which. Append-only."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    referral_id: Mapped[int | None] = mapped_column(sa.ForeignKey("referrals.id", ondelete="CASCADE"), index=True)
    occurred_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    actor_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    #: Who acted, as shown on the timeline (a user's name, or ``scheduler``).
    actor_label: Mapped[str] = mapped_column(sa.String(254))
    actor_agency_id: Mapped[int | None] = mapped_column(sa.ForeignKey("agencies.id"))
    #: Dotted kind, e.g. ``case.registered``, ``referral.accepted``, ``consent.recorded``.
    kind: Mapped[str] = mapped_column(sa.String(64))
    from_status: Mapped[str | None] = mapped_column(sa.String(32))
    to_status: Mapped[str | None] = mapped_column(sa.String(32))
    #: Stage keys, agency codes, the reason or outcome as written.
    detail: Mapped[dict] = mapped_column(sa.JSON, default=dict)

    actor_agency = relationship("Agency", lazy="joined")


class InterviewKind(StrEnum):
    interview = "interview"
    assessment = "assessment"
    medical_examination = "medical_examination"
    court_hearing = "court_hearing"


class Interview(db.Model):
    """An interview with the child or an assessment of the child, kept so that the next agency need not ask again."""

    __tablename__ = "interviews"
    __table_args__ = (
        sa.CheckConstraint("topic <> ''", name="topic_not_empty"),
        sa.CheckConstraint("summary <> ''", name="summary_not_empty"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    #: The agency that held the interview or made the assessment.
    agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agencies.id"), index=True)
    conducted_by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    kind: Mapped[InterviewKind] = mapped_column(enum_type(InterviewKind, "interview_kind"))
    #: What the child was asked about or assessed for, in a few words.
    topic: Mapped[str] = mapped_column(sa.String(200))
    held_on = mapped_column(sa.Date, nullable=False)
    #: The findings the next agency needs so that it does not ask the child again.
    summary: Mapped[str] = mapped_column(sa.Text)
    #: Agency types that may read the summary, besides the agency that recorded it.
    shared_with: Mapped[list] = mapped_column(sa.JSON)
    recorded_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    agency = relationship("Agency", lazy="joined")


class CaseNote(db.Model):
    """What an agency did or learned on a case, in its own words; append-only (a correction is a new note)."""

    __tablename__ = "case_notes"
    __table_args__ = (sa.CheckConstraint("text <> ''", name="text_not_empty"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    #: The author's agency: it alone reads the note unless ``shared``.
    agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agencies.id"))
    author_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    #: The author's name as it was when the note was written.
    author_name: Mapped[str] = mapped_column(sa.String(200))
    text: Mapped[str] = mapped_column(sa.Text)
    #: True: every agency that sees the full record reads it; false: only the author's agency.
    shared: Mapped[bool] = mapped_column(default=False)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    agency = relationship("Agency", lazy="joined")
