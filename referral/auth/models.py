"""Users and their API tokens."""

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from agencies import Role

from ..directory.models import Agency
from ..extensions import UTCDateTime, db, enum_type, utcnow


class User(UserMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (
        sa.CheckConstraint("email = lower(email)", name="email_lowercase"),
        sa.CheckConstraint("failed_login_count >= 0", name="failed_login_count_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Stored lower-cased so that logins are case-insensitive.
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agencies.id"), index=True)
    role: Mapped[Role] = mapped_column(enum_type(Role, "user_role"))
    #: Preferred interface language: en, ru or kk.
    locale: Mapped[str] = mapped_column(sa.String(5), default="en")
    #: IANA time zone to show times in; null means the service default.
    timezone: Mapped[str | None] = mapped_column(sa.String(64))
    #: Argon2 hash; null until a password is set (the user cannot log in).
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    is_active_account: Mapped[bool] = mapped_column("is_active", default=True)
    #: False when an administrator allows only single sign-on (OpenID Connect): the password is refused.
    is_password_allowed: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    #: Raised to end every session of the user at once: sign-out, a new password, deactivation.
    session_epoch: Mapped[int] = mapped_column(default=0, server_default="0")
    #: Failed logins counted since ``failed_login_window_started_at``.
    failed_login_count: Mapped[int] = mapped_column(default=0)
    #: Notification preferences: copies of notifications by e-mail, and the daily digest.
    wants_email: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    wants_digest: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    #: SHA-256 of the secret in the user's calendar feed URL; null when no feed is issued.
    calendar_token_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    #: Base32 secret of the user's TOTP second factor (RFC 6238); null when none is set up.
    totp_secret: Mapped[str | None] = mapped_column(sa.String(64))
    #: The last 30-second time step whose code signed the user in: no code works twice.
    totp_last_step: Mapped[int | None] = mapped_column(sa.BigInteger)
    failed_login_window_started_at = mapped_column(UTCDateTime)
    locked_until = mapped_column(UTCDateTime)
    last_login_at = mapped_column(UTCDateTime)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False)

    agency: Mapped[Agency] = relationship(lazy="joined")

    @property
    def is_active(self) -> bool:
        return self.is_active_account and self.agency.is_active

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role.value}>"


class ApiToken(db.Model):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: SHA-256 of the token; the token itself is shown once and never stored.
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    #: The first characters of the token, so its owner can tell tokens apart.
    prefix: Mapped[str] = mapped_column(sa.String(16))
    label: Mapped[str] = mapped_column(sa.String(100), default="")
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    last_used_at = mapped_column(UTCDateTime)
    revoked_at = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(lazy="joined")

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None


class RecoveryCode(db.Model):
    """A single-use code that stands in for the second factor when the user's device is lost."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: SHA-256 of the code (80 random bits); the code itself is shown once and never stored.
    code_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    used_at = mapped_column(UTCDateTime)


class Setting(db.Model):
    """A setting an administrator changes while the service runs (e.g. requiring a second factor)."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    value = mapped_column(sa.JSON, nullable=False)
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False)
