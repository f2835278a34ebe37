"""Accounts: passwords, login with lockout, API tokens, user management."""

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.orm import joinedload

from agencies import Permission, Role

from ..actors import Actor, require
from ..audit.models import AuditEntry
from ..audit.service import record
from ..directory.models import NAMING_COLUMNS, Agency
from ..errors import Conflict, Forbidden, Invalid, NotFound
from ..extensions import db, mark_written, utcnow
from . import second_factor
from .models import ApiToken, User

_hasher = PasswordHasher()
# Verified against when the e-mail is unknown, so both failures take as long.
_DUMMY_HASH = _hasher.hash("not-a-real-password")

TOKEN_PREFIX = "rfl_"
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD_LENGTH = 12
#: zxcvbn's score (0-4) a new password must reach: 3 resists an offline attack on a slow hash.
MIN_PASSWORD_SCORE = 3
LOCALES = ("en", "ru", "kk")

LOGIN_FAILED = _l("The e-mail or password is wrong, or the account is locked for a while after too many attempts.")
PASSWORD_NOT_ALLOWED = _l("Your administrator has turned off signing in with a password for your account: sign in "
                          "with single sign-on instead.")


class SignInRefused(Forbidden):
    """A sign-in refused for a reason the person may be told; the refusal is already in the audit log."""


@dataclass(frozen=True)
class LockoutPolicy:
    threshold: int = 5
    window: timedelta = timedelta(minutes=15)
    duration: timedelta = timedelta(minutes=15)
    #: Failed sign-ins from one client address within ``window`` after which that address is refused.
    address_threshold: int = 20


_FAILURES = ("auth.login_failed", "auth.login_refused_locked", "auth.login_refused_address")


def _address_blocked(remote_addr: str | None, now, policy: LockoutPolicy) -> bool:
    if not remote_addr:
        return False
    failures = db.session.scalar(
        sa.select(sa.func.count()).select_from(AuditEntry)
        .where(AuditEntry.remote_addr == remote_addr, AuditEntry.occurred_at > now - policy.window,
               AuditEntry.action.in_(_FAILURES)))
    return failures >= policy.address_threshold


def hash_password(password: str) -> str:
    """Return the Argon2 hash of a password."""
    return _hasher.hash(password)


def check_password_strength(password: str | None, personal: tuple[str, ...] = ()) -> None:
    """Raise Invalid if a password is too short or easy to guess.

    zxcvbn estimates guesses against common passwords, names, words, dates, keyboard patterns and
    repeats; ``personal`` (the user's e-mail and name) counts as guessable too.
    """
    if not password or len(password) < MIN_PASSWORD_LENGTH:
        raise Invalid(
            _l("The password must have at least %(n)d characters.", n=MIN_PASSWORD_LENGTH),
            errors={"password": [str(_l("Too short."))]},
        )
    hints = [text for text in personal if text]
    hints += [part for text in hints for part in (text.split("@")[0], *re.split(r"[@.\s]+", text)) if part]
    # Imported on the first password set, not with the app: its word lists are 12 MB of every web worker's
    # memory, and most workers only ever serve tokens and sessions.
    from zxcvbn import zxcvbn

    if zxcvbn(password[:100], user_inputs=hints)["score"] < MIN_PASSWORD_SCORE:
        raise Invalid(
            _l("The password is too easy to guess: common passwords, words, names, dates, keyboard rows and "
               "repeats are tried first. Use several unrelated words."),
            errors={"password": [str(_l("Too easy to guess."))]},
        )


def normalize_email(email: str) -> str:
    """Return an e-mail address trimmed and lower-cased."""
    return (email or "").strip().lower()


def authenticate(email: str, password: str, remote_addr: str | None, policy: LockoutPolicy) -> User | None:
    """Return the user for good credentials, or None; count failures and lock after too many.

    Raises SignInRefused for the right password of a user who may sign in only through single sign-on.
    """
    now = utcnow()
    email = normalize_email(email)
    if _address_blocked(remote_addr, now, policy):
        # One address trying many accounts (spraying, or locking everyone out) is stopped as a whole.
        _verify(_DUMMY_HASH, password or "")
        record(Actor(user=None, remote_addr=remote_addr, system="anonymous"),
               "auth.login_refused_address", "user", None, {"threshold": policy.address_threshold})
        return None
    user = db.session.scalar(sa.select(User).where(User.email == email))
    if user is None:
        _verify(_DUMMY_HASH, password or "")
        # What was typed is not kept: it may be a password typed into the wrong field.
        record(Actor(user=None, remote_addr=remote_addr, system="anonymous"),
               "auth.login_failed", "user", None, {"reason": "unknown_email"})
        return None
    actor = Actor.of(user, remote_addr)
    if user.locked_until is not None and user.locked_until > now:
        _verify(_DUMMY_HASH, password or "")
        record(actor, "auth.login_refused_locked", "user", user.id)
        return None
    good = user.password_hash is not None and _verify(user.password_hash, password or "")
    if not good or not user.is_active:
        _count_failure(user, now, policy, actor, reason="bad_password" if not good else "inactive")
        return None
    if not user.is_password_allowed:
        # Told only to someone who knows the password; not a guess, so not counted towards a lockout.
        record(actor, "auth.login_refused_password_off", "user", user.id)
        raise SignInRefused(PASSWORD_NOT_ALLOWED)
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    if user.totp_secret is not None:
        # The failure count stands until the code is right too: a known password buys no fresh guesses.
        record(actor, "auth.second_factor_asked", "user", user.id)
        return user
    _signed_in(user, now, actor)
    return user


def _signed_in(user: User, now, actor: Actor, **detail) -> None:
    user.failed_login_count = 0
    user.failed_login_window_started_at = None
    user.locked_until = None
    user.last_login_at = now
    record(actor, "auth.login", "user", user.id, detail or None)


def authenticate_second_factor(user_id: int, code: str, remote_addr: str | None, policy: LockoutPolicy) -> User | None:
    """Finish a sign-in whose password was right with a current code or a recovery code; or count a failure.

    Returns the user once signed in, or None: a wrong or reused code, a locked account, a blocked address.
    """
    now = utcnow()
    if _address_blocked(remote_addr, now, policy):
        record(Actor(user=None, remote_addr=remote_addr, system="anonymous"),
               "auth.login_refused_address", "user", None, {"threshold": policy.address_threshold})
        return None
    user = db.session.get(User, user_id)
    if user is None or not user.is_active or user.totp_secret is None:
        return None
    actor = Actor.of(user, remote_addr)
    if user.locked_until is not None and user.locked_until > now:
        record(actor, "auth.login_refused_locked", "user", user.id)
        return None
    used = second_factor.check(user, code)
    if used is None:
        _count_failure(user, now, policy, actor, reason="bad_code")
        return None
    _signed_in(user, now, actor, second_factor=used)
    return user


# -- single sign-on (OpenID Connect) -----------------------------------------

OIDC_UNVERIFIED_EMAIL = _l("Your identity provider has not confirmed your e-mail address, so it cannot sign you in "
                           "here. Confirm the address with the provider, or sign in with your password.")
OIDC_UNKNOWN_EMAIL = _l("There is no account here for the e-mail address your identity provider confirmed. An "
                        "administrator must create your account first.")
OIDC_INACTIVE = _l("Your account here is deactivated. Ask your administrator.")
OIDC_PROVIDER_ERROR = _l("Signing in through your identity provider did not succeed. Try again, or sign in with "
                         "your password.")


def _refuse(remote_addr: str | None, reason: str, user: User | None = None, **detail) -> SignInRefused:
    actor = Actor.of(user, remote_addr) if user is not None else Actor(user=None, remote_addr=remote_addr,
                                                                        system="anonymous")
    record(actor, "auth.oidc_refused", "user", user.id if user is not None else None, {"reason": reason, **detail})
    message = {"unverified_email": OIDC_UNVERIFIED_EMAIL, "unknown_email": OIDC_UNKNOWN_EMAIL,
               "inactive": OIDC_INACTIVE}.get(reason, OIDC_PROVIDER_ERROR)
    return SignInRefused(message)


def refuse_provider_error(remote_addr: str | None, error: str) -> SignInRefused:
    """Record a sign-in through the identity provider that failed there or in its answer; return the refusal.

    ``error`` is a short code (the provider's OAuth error, or what failed here), never a token.
    """
    return _refuse(remote_addr, "provider_error", error=(error or "unknown")[:64])


def authenticate_with_provider(claims: dict, remote_addr: str | None) -> User:
    """Return the active user whose e-mail the identity provider verified (the ID token's claims).

    A user with a second factor still has to give its code: the user is returned with the request for the
    code recorded, and the caller asks for it. Raises SignInRefused (an unverified or missing e-mail, no such
    user, a deactivated one), recorded in the audit log; nothing else changes.
    """
    email = normalize_email(claims.get("email") if isinstance(claims.get("email"), str) else "")
    if not email or claims.get("email_verified") is not True:
        raise _refuse(remote_addr, "unverified_email")
    user = db.session.scalar(sa.select(User).where(User.email == email))
    if user is None:
        raise _refuse(remote_addr, "unknown_email")
    if not user.is_active:
        raise _refuse(remote_addr, "inactive", user)
    actor = Actor.of(user, remote_addr)
    if user.totp_secret is not None:
        # The provider stands in for the password, not for the second factor this account has.
        record(actor, "auth.second_factor_asked", "user", user.id, {"method": "oidc"})
        return user
    _signed_in(user, utcnow(), actor, method="oidc")
    return user


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _count_failure(user: User, now, policy: LockoutPolicy, actor: Actor, reason: str) -> None:
    started = user.failed_login_window_started_at
    if started is None or now - started > policy.window:
        user.failed_login_window_started_at = now
        user.failed_login_count = 1
    else:
        user.failed_login_count += 1
    record(actor, "auth.login_failed", "user", user.id,
           {"reason": reason, "failures": user.failed_login_count})
    if user.failed_login_count >= policy.threshold:
        user.locked_until = now + policy.duration
        user.failed_login_count = 0
        user.failed_login_window_started_at = None
        record(actor, "auth.locked", "user", user.id,
               {"until": user.locked_until.isoformat(), "threshold": policy.threshold})


def logout(user: User, remote_addr: str | None) -> None:
    """Sign a user out everywhere: every session of theirs, on any device, ends now."""
    end_sessions(user)
    record(Actor.of(user, remote_addr), "auth.logout", "user", user.id)


def confirm_password(user: User, password: str) -> None:
    """Raise Invalid unless ``password`` is the user's own: asked again before changing how they sign in."""
    if user.password_hash is None or not _verify(user.password_hash, password or ""):
        raise Invalid(_l("Nothing was changed."),
                      errors={"password": [str(_l("This is not your current password."))]})


def change_own_password(user: User, current: str, new: str, actor: Actor) -> None:
    """Set a user's new password after checking the current one; end their other sessions; raise Invalid."""
    if user.password_hash is None or not _verify(user.password_hash, current or ""):
        raise Invalid(_l("The password could not be changed."),
                      errors={"current": [str(_l("This is not your current password."))]})
    try:
        check_password_strength(new, (user.email, user.name))
    except Invalid as weak:
        raise Invalid(weak.message, errors={"new": weak.errors["password"]}) from None
    user.password_hash = hash_password(new)
    end_sessions(user)
    record(actor, "user.password_changed", "user", user.id)


#: A reset link works for one hour, and only once: it is bound to the password it replaces.
RESET_MAX_AGE_SECONDS = 3600


def _reset_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="password-reset")


def _password_fingerprint(user: User) -> str:
    return hashlib.sha256(f"{user.id}:{user.password_hash or ''}".encode()).hexdigest()[:24]


def issue_reset_token(user_id: int, actor: Actor) -> tuple[User, str]:
    """Return an active user and a one-hour, single-use token to set a new password; raise NotFound."""
    user = db.session.get(User, user_id)
    if user is None or not user.is_active:
        raise NotFound(_l("No such user."))
    token = _reset_serializer().dumps({"user": user.id, "password": _password_fingerprint(user)})
    record(actor, "user.reset_link_sent", "user", user.id)
    return user, token


def user_for_reset_token(token: str) -> User | None:
    """Return the user a reset token is for, or None if it is forged, older than an hour, or already used."""
    try:
        data = _reset_serializer().loads(token, max_age=RESET_MAX_AGE_SECONDS)
    except (BadSignature, SignatureExpired):
        return None
    user = db.session.get(User, data.get("user")) if isinstance(data, dict) else None
    if user is None or not user.is_active or data.get("password") != _password_fingerprint(user):
        return None
    return user


def reset_password(token: str, new: str, remote_addr: str | None) -> User:
    """Set a new password through a reset link; end every session; raise Invalid (weak, expired or used)."""
    user = user_for_reset_token(token)
    if user is None:
        raise Invalid(RESET_LINK_DEAD)
    check_password_strength(new, (user.email, user.name))
    user.password_hash = hash_password(new)
    user.failed_login_count, user.failed_login_window_started_at, user.locked_until = 0, None, None
    end_sessions(user)
    record(Actor.of(user, remote_addr), "user.password_reset", "user", user.id)
    return user


RESET_LINK_DEAD = _l("This link has expired or was already used. Ask an administrator for a new one.")


def end_sessions(user: User) -> None:
    """End every browser session of a user; the next request of each signs in again."""
    user.session_epoch = (user.session_epoch or 0) + 1


def session_is_current(user: User, epoch: int | None, started: float | None, seen: float | None, now: float,
                       idle: timedelta, longest: timedelta = timedelta(hours=12)) -> bool:
    """Tell whether a session (its epoch and its start and last-seen times in epoch seconds) still holds."""
    if epoch != user.session_epoch or started is None or seen is None:
        return False
    return now - seen <= idle.total_seconds() and now - started <= longest.total_seconds()


# -- API tokens ---------------------------------------------------------------

def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(user: User, actor: Actor, label: str = "") -> tuple[ApiToken, str]:
    """Create an API token for a user; return the row and the token, shown only now."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, token_hash=_token_hash(secret), prefix=secret[:10],
                     label=(label or "").strip()[:100])
    db.session.add(token)
    db.session.flush()
    record(actor, "token.create", "user", user.id, {"token_id": token.id, "prefix": token.prefix})
    return token, secret


#: Built once: every API request runs it, and building it (and its cache key) each time cost as much as running it.
#: The token is read as three columns beside its user, not loaded as an object beside it.
_TOKEN_BY_HASH = sa.select(User, ApiToken.id, ApiToken.revoked_at, ApiToken.last_used_at) \
    .join(ApiToken, ApiToken.user_id == User.id).where(ApiToken.token_hash == sa.bindparam("token_hash")) \
    .options(joinedload(User.agency).load_only(*NAMING_COLUMNS))
_TOKEN_USED = sa.update(ApiToken).where(ApiToken.id == sa.bindparam("token_id")) \
    .values(last_used_at=sa.bindparam("used_at")).execution_options(synchronize_session=False)


def user_for_token(secret: str) -> User | None:
    """Return the active user owning an unrevoked token, or None."""
    if not secret or not secret.startswith(TOKEN_PREFIX):
        return None
    found = db.session.execute(_TOKEN_BY_HASH, {"token_hash": _token_hash(secret)}).first()
    if found is None:
        return None
    user, token_id, revoked_at, last_used_at = found
    if revoked_at is not None or not user.is_active:
        return None
    now = utcnow()
    # Writing on every call would serialize API traffic on one row; a minute is precise enough.
    if last_used_at is None or now - last_used_at > timedelta(minutes=1):
        db.session.execute(_TOKEN_USED, {"token_id": token_id, "used_at": now})
        mark_written()
    return user


def revoke_token(token_id: int, actor: Actor) -> ApiToken:
    """Revoke one of the actor's tokens (or any token, for an admin); raise NotFound otherwise."""
    token = db.session.get(ApiToken, token_id)
    if token is None or (token.user_id != actor.user_id and actor.role is not Role.admin):
        raise NotFound(_l("No such token."))
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        record(actor, "token.revoke", "user", token.user_id, {"token_id": token.id, "prefix": token.prefix})
    return token


def revoke_all_tokens(user: User, actor: Actor) -> int:
    """Revoke every live API token of a user (on deactivation); return how many."""
    result = db.session.execute(
        sa.update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow()).execution_options(synchronize_session="fetch"))
    if result.rowcount:
        record(actor, "token.revoke_all", "user", user.id, {"tokens": result.rowcount})
    return result.rowcount


def tokens_of(user: User) -> list[ApiToken]:
    """Return a user's tokens, newest first."""
    return list(db.session.scalars(
        sa.select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())
    ))


# -- users --------------------------------------------------------------------

@dataclass(frozen=True)
class UserData:
    email: str
    name: str
    agency_code: str
    role: str
    locale: str = "en"
    password: str | None = None
    is_active: bool = True
    is_password_allowed: bool = True


def _check_password_switch(data: UserData) -> None:
    if not data.is_password_allowed and not current_app.config.get("REFERRAL_OIDC_ISSUER"):
        raise Invalid(_l("Signing in with a password can be turned off only when single sign-on is configured "
                         "(REFERRAL_OIDC_ISSUER): the user could not sign in at all."),
                      errors={"is_password_allowed": [str(_l("Single sign-on is not configured."))]})


def users_query(actor: Actor, text: str = "", role: str = "") -> sa.Select:
    """Return a select of users, by name, matching a text (name, e-mail, agency) and a role; raise Forbidden."""
    require(actor, Permission.manage_users)
    statement = sa.select(User).join(User.agency).order_by(User.name, User.id)
    text = text.strip().lower()
    if text:
        statement = statement.where(sa.or_(sa.func.lower(User.name).like(f"%{text}%"),
                                           User.email.like(f"%{text}%"),
                                           Agency.code.like(f"%{text}%"),
                                           *(sa.func.lower(column).like(f"%{text}%")
                                             for column in (Agency.name, Agency.name_ru, Agency.name_kk))))
    if role in {r.value for r in Role}:
        statement = statement.where(User.role == Role(role))
    return statement


def _agency_by_code(code: str) -> Agency:
    agency = db.session.scalar(sa.select(Agency).where(Agency.code == (code or "").strip()))
    if agency is None:
        raise Invalid(_l("There is no agency with the code %(code)s.", code=code),
                      errors={"agency": [str(_l("Unknown agency."))]})
    return agency


def create_user(data: UserData, actor: Actor) -> User:
    """Create a user from ``UserInSchema``'s data; raise Invalid (unknown agency, weak password) or Conflict
    (a taken e-mail)."""
    require(actor, Permission.manage_users)
    agency = _agency_by_code(data.agency_code)
    email = normalize_email(data.email)
    if db.session.scalar(sa.select(User.id).where(User.email == email)) is not None:
        raise Conflict(_l("A user with this e-mail already exists."),
                       errors={"email": [str(_l("Already in use."))]})
    if data.password is not None:
        check_password_strength(data.password, (data.email, data.name))
    _check_password_switch(data)
    user = User(email=email, name=data.name, agency_id=agency.id, agency=agency,
                role=Role(data.role), locale=data.locale, is_active_account=data.is_active,
                is_password_allowed=data.is_password_allowed,
                password_hash=hash_password(data.password) if data.password else None)
    db.session.add(user)
    db.session.flush()
    record(actor, "user.create", "user", user.id,
           {"agency": agency.code, "role": user.role.value})
    return user


def update_user(user_id: int, data: UserData, actor: Actor) -> User:
    """Change a user's details (``UserInSchema``'s data); raise NotFound, Invalid or Conflict."""
    require(actor, Permission.manage_users)
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(_l("No such user."))
    agency = _agency_by_code(data.agency_code)
    email = normalize_email(data.email)
    clash = db.session.scalar(sa.select(User.id).where(User.email == email, User.id != user.id))
    if clash is not None:
        raise Conflict(_l("A user with this e-mail already exists."),
                       errors={"email": [str(_l("Already in use."))]})
    if user.id == actor.user_id and (Role(data.role) is not Role.admin or not data.is_active):
        raise Invalid(_l("You cannot remove your own administrator rights or deactivate yourself."))
    if user.is_password_allowed and not data.is_password_allowed:
        _check_password_switch(data)
    before = {"email": user.email, "name": user.name, "agency": user.agency.code,
              "role": user.role.value, "locale": user.locale, "is_active": user.is_active_account,
              "is_password_allowed": user.is_password_allowed}
    user.email, user.name, user.agency_id, user.agency = email, data.name, agency.id, agency
    user.role, user.locale, user.is_active_account = Role(data.role), data.locale, data.is_active
    user.is_password_allowed = data.is_password_allowed
    if data.password:
        check_password_strength(data.password, (data.email, data.name))
        user.password_hash = hash_password(data.password)
        end_sessions(user)
    if before["is_active"] and not user.is_active_account:
        end_sessions(user)
        revoke_all_tokens(user, actor)
    elif before["is_password_allowed"] and not user.is_password_allowed:
        end_sessions(user)  # a session the password opened ends; the user comes back through single sign-on
    after = {"email": user.email, "name": user.name, "agency": user.agency.code,
             "role": user.role.value, "locale": user.locale, "is_active": user.is_active_account,
             "is_password_allowed": user.is_password_allowed}
    changed = sorted(key for key in after if after[key] != before[key])
    if data.password:
        changed.append("password")
    if changed:
        record(actor, "user.update", "user", user.id, {"changed": changed})
    return user


def unlock_user(user_id: int, actor: Actor) -> User:
    """Lift a login lockout; raise NotFound."""
    require(actor, Permission.manage_users)
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(_l("No such user."))
    user.locked_until = None
    user.failed_login_count = 0
    user.failed_login_window_started_at = None
    record(actor, "user.unlock", "user", user.id)
    return user


def set_locale(user: User, locale: str, actor: Actor) -> None:
    """Remember a user's interface language; raise Invalid for an unknown one."""
    if locale not in LOCALES:
        raise Invalid(_l("Choose English, Russian or Kazakh."))
    user.locale = locale


def find_user_by_email(email: str) -> User:
    """Return the user with this e-mail; raise NotFound."""
    user = db.session.scalar(sa.select(User).where(User.email == normalize_email(email)))
    if user is None:
        raise NotFound(_l("There is no user with the e-mail %(email)s.", email=email))
    return user


# -- notification preferences and the calendar feed ----------------------------

def set_preferences(user: User, wants_email: bool, wants_digest: bool, actor: Actor) -> list[str]:
    """Turn a user's e-mail copies and daily digest on or off; return the names of those that changed."""
    changed = []
    for name, value in (("wants_email", bool(wants_email)), ("wants_digest", bool(wants_digest))):
        if getattr(user, name) != value:
            setattr(user, name, value)
            changed.append(name)
    if changed:
        record(actor, "user.preferences", "user", user.id,
               {"changed": changed, "wants_email": user.wants_email, "wants_digest": user.wants_digest})
    return changed


def issue_calendar_secret(user: User, actor: Actor) -> str:
    """Give a user a new calendar feed secret, replacing any old one; return it, shown only now."""
    secret = secrets.token_urlsafe(32)
    replaced = user.calendar_token_hash is not None
    user.calendar_token_hash = _token_hash(secret)
    record(actor, "calendar.create", "user", user.id, {"replaced": replaced})
    return secret


def revoke_calendar_secret(user: User, actor: Actor) -> None:
    """Make a user's calendar feed URL stop working."""
    if user.calendar_token_hash is not None:
        user.calendar_token_hash = None
        record(actor, "calendar.revoke", "user", user.id)


def user_for_calendar_secret(secret: str) -> User | None:
    """Return the active user whose calendar feed has this secret, or None."""
    if not secret:
        return None
    user = db.session.scalar(sa.select(User).where(User.calendar_token_hash == _token_hash(secret)))
    return user if user is not None and user.is_active else None
