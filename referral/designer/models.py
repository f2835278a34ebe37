"""Workflows as stored documents: one editable draft per key and immutable numbered versions."""

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import UTCDateTime, db, utcnow


class Workflow(db.Model):
    """A workflow key with its current draft, if any; the published versions hang off it."""

    __tablename__ = "workflows"
    __table_args__ = (
        sa.CheckConstraint("latest_version >= 0", name="latest_version_not_negative"),
        sa.CheckConstraint(
            "(draft IS NULL AND draft_updated_at IS NULL) OR (draft IS NOT NULL AND draft_updated_at IS NOT NULL)",
            name="draft_has_time",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The definition's ``key``; stable, never reused.
    key: Mapped[str] = mapped_column(sa.String(64), unique=True)
    #: The name of the draft, or of the latest version when there is no draft.
    name: Mapped[str] = mapped_column(sa.String(300))
    #: The editable document as last saved; it may hold problems. Null once published and not edited since.
    draft: Mapped[dict | None] = mapped_column(sa.JSON(none_as_null=True))
    draft_updated_at = mapped_column(UTCDateTime)
    draft_updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    #: Number of the newest published version; 0 before the first publication.
    latest_version: Mapped[int] = mapped_column(default=0)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    versions: Mapped[list["WorkflowVersion"]] = relationship(
        back_populates="workflow", order_by="WorkflowVersion.number", lazy="selectin"
    )

    @property
    def has_draft(self) -> bool:
        return self.draft is not None

    def __repr__(self) -> str:
        return f"<Workflow {self.key}>"


class WorkflowVersion(db.Model):
    """A published version. Never updated nor deleted: cases run on the version they started on."""

    __tablename__ = "workflow_versions"
    __table_args__ = (
        sa.UniqueConstraint("workflow_id", "number", name="uq_workflow_versions_workflow_id_number"),
        sa.CheckConstraint("number >= 1", name="number_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workflow_id: Mapped[int] = mapped_column(sa.ForeignKey("workflows.id", ondelete="RESTRICT"), index=True)
    #: 1, 2, 3 … per workflow.
    number: Mapped[int]
    #: The definition as published, validated with no errors.
    document: Mapped[dict] = mapped_column(sa.JSON)
    published_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    published_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    #: Why it was published, as the coordinator wrote it.
    note: Mapped[str | None] = mapped_column(sa.Text)

    workflow: Mapped[Workflow] = relationship(back_populates="versions")
    published_by = relationship("User", lazy="joined")

    def __repr__(self) -> str:
        return f"<WorkflowVersion {self.workflow_id}#{self.number}>"


@sa.event.listens_for(WorkflowVersion, "before_update")
def _refuse_update(mapper, connection, target) -> None:
    raise RuntimeError("a published workflow version never changes")


@sa.event.listens_for(WorkflowVersion, "before_delete")
def _refuse_delete(mapper, connection, target) -> None:
    raise RuntimeError("a published workflow version is never deleted")
