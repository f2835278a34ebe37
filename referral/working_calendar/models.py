"""Days a country's calendar has off or working, whatever the ``holidays`` package says."""

from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import UTCDateTime, db, enum_type, utcnow


class DayKind(StrEnum):
    day_off = "day_off"
    working_day = "working_day"


class CalendarOverride(db.Model):
    """One date of a country's calendar decided by decree: a day off, or a working day (a working Saturday)."""

    __tablename__ = "calendar_overrides"
    __table_args__ = (
        sa.UniqueConstraint("country", "day", name="uq_calendar_overrides_country_day"),
        sa.CheckConstraint("name <> ''", name="name_not_empty"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: ISO country code, as a workflow's ``calendar`` names it (``KZ``).
    country: Mapped[str] = mapped_column(sa.String(8))
    day = mapped_column(sa.Date, nullable=False)
    kind: Mapped[DayKind] = mapped_column(enum_type(DayKind, "calendar_day_kind"))
    #: Why, as the decree says: "Day off moved from Saturday 4 January", "Eid al-Adha".
    name: Mapped[str] = mapped_column(sa.String(200))
    created_by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    created_by = relationship("User", lazy="joined")

    def __repr__(self) -> str:
        return f"<CalendarOverride {self.country} {self.day} {self.kind}>"
