"""Agencies of the directory."""

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from agencies import AgencyType

from ..extensions import UTCDateTime, db, enum_type, utcnow


class Agency(db.Model):
    __tablename__ = "agencies"
    __table_args__ = (
        sa.CheckConstraint("code <> ''", name="code_not_empty"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Stable slug used by files, the API and other systems; never reused.
    code: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    #: The agency's name in Russian, when it differs from ``name``.
    name_ru: Mapped[str | None] = mapped_column(sa.String(200))
    #: The agency's name in Kazakh, when it differs from ``name``.
    name_kk: Mapped[str | None] = mapped_column(sa.String(200))
    type: Mapped[AgencyType] = mapped_column(
        enum_type(AgencyType, "agency_type"),
        index=True,
    )
    #: ISO 3166-2:KZ code of the region or city of republican significance.
    region: Mapped[str] = mapped_column(sa.String(5), index=True)
    district: Mapped[str | None] = mapped_column(sa.String(200))
    description: Mapped[str | None] = mapped_column(sa.Text)
    email: Mapped[str | None] = mapped_column(sa.String(254))
    phone: Mapped[str | None] = mapped_column(sa.String(50))
    address: Mapped[str | None] = mapped_column(sa.String(300))
    city: Mapped[str | None] = mapped_column(sa.String(100))
    #: People to call at the agency: a list of {name, title, email, phone}.
    contacts: Mapped[list] = mapped_column(sa.JSON, default=list)
    #: Services offered: a list of {name, description}.
    services: Mapped[list] = mapped_column(sa.JSON, default=list)
    is_active: Mapped[bool] = mapped_column(default=True)
    #: Where the agency's own systems receive events (JSON, signed with ``webhook_secret``).
    webhook_url: Mapped[str | None] = mapped_column(sa.String(500))
    #: Shared secret for the HMAC-SHA256 signatures of webhook calls: ``whsec_`` + base64 when the system
    #: generated it (Standard Webhooks), any text when it was typed before that.
    webhook_secret: Mapped[str | None] = mapped_column(sa.String(200))
    #: The secret a rotation replaced: calls are signed with it too until ``webhook_previous_secret_until``.
    webhook_previous_secret: Mapped[str | None] = mapped_column(sa.String(200))
    webhook_previous_secret_until = mapped_column(UTCDateTime)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False)

    def __repr__(self) -> str:
        return f"<Agency {self.code}>"

    def name_in(self, language: str | None) -> str:
        """Return the agency's name in a language (``ru``, ``kk``), or its own name where none is given."""
        return names_in(self.name, {"ru": self.name_ru, "kk": self.name_kk}, language)


#: What a page, a list or an actor reads of an agency it mentions: who it is and where. Reads that join
#: agencies in passing load only these; the profile (contacts, services, address) and the webhook settings
#: load when something asks for them.
NAMING_COLUMNS = (Agency.id, Agency.code, Agency.name, Agency.name_ru, Agency.name_kk, Agency.type, Agency.region,
                  Agency.district, Agency.is_active)

#: The languages an agency's name may be given in besides its own (``name``).
NAME_LANGUAGES = ("ru", "kk")


def names_in(name: str, translations: dict, language: str | None) -> str:
    """Return the translation of a name for a language, or the name itself where none is given."""
    translated = translations.get(language) if language else None
    return translated if isinstance(translated, str) and translated.strip() else name


#: The most characters each text column of an agency holds, read from the columns so that no check disagrees.
TEXT_LIMITS: dict[str, int] = {
    column.name: column.type.length
    for column in Agency.__table__.columns
    if isinstance(column.type, sa.String) and not isinstance(column.type, sa.Enum) and column.type.length
}
