"""The optional second factor: time-based one-time codes (RFC 6238) and single-use recovery codes.

A user turns it on from their profile by scanning a QR code into an authenticator app and typing
the first code. An administrator can require it of administrators and coordinators; they are then
sent to set it up before they can do anything else. Sign-in asks for the code after the password;
a wrong code counts as a failed sign-in, so the account lockout also bounds guessing codes.
"""

import base64
import hashlib
import hmac
import secrets
import time

import pyotp
import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from agencies import Role

from ..actors import Actor
from ..audit.service import record
from ..errors import Invalid, NotFound
from ..extensions import db, utcnow
from .models import RecoveryCode, Setting, User

ISSUER = "Referral engine"
RECOVERY_CODES = 10
#: Codes of the step before and after the current one are accepted too: phone clocks drift.
CLOCK_DRIFT_STEPS = 1
#: The roles an administrator can require the second factor of.
PRIVILEGED_ROLES = (Role.admin, Role.coordinator)
REQUIRED_SETTING = "second_factor_required"

WRONG_CODE = _l("The code is wrong or was already used.")


def new_secret() -> str:
    """Return a fresh base32 secret for an authenticator app."""
    return pyotp.random_base32()


def provisioning_uri(user: User, secret: str) -> str:
    """Return the otpauth:// URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def _digits(code: str) -> str:
    return "".join((code or "").split())


def _matching_step(secret: str, code: str, after: int | None, now: float) -> int | None:
    """Return the time step whose code is ``code`` (within the drift allowed, later than ``after``), or None."""
    code = _digits(code)
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in range(current - CLOCK_DRIFT_STEPS, current + CLOCK_DRIFT_STEPS + 1):
        if (after is None or step > after) and hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _recovery_hash(user_id: int, code: str) -> str:
    normal = "".join(ch for ch in (code or "").lower() if ch.isalnum())
    return hashlib.sha256(f"{user_id}:{normal}".encode()).hexdigest()


def _new_recovery_codes(user: User) -> list[str]:
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = base64.b32encode(secrets.token_bytes(10)).decode().lower()  # 80 random bits
        code = "-".join(raw[i:i + 4] for i in range(0, 16, 4))
        db.session.add(RecoveryCode(user_id=user.id, code_hash=_recovery_hash(user.id, code)))
        codes.append(code)
    db.session.flush()
    return codes


def recovery_codes_left(user: User) -> int:
    """Return how many of a user's recovery codes are still unused."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(RecoveryCode)
                             .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)))


def enable(user: User, secret: str, code: str, actor: Actor, now: float | None = None) -> list[str]:
    """Turn on the second factor with ``secret`` once ``code`` proves the app has it; return recovery codes."""
    step = _matching_step(secret, code, None, time.time() if now is None else now)
    if step is None:
        raise Invalid(_l("The second factor is not on yet."), errors={"code": [str(WRONG_CODE)]})
    user.totp_secret, user.totp_last_step = secret, step
    codes = _new_recovery_codes(user)
    record(actor, "user.second_factor_enabled", "user", user.id)
    return codes


def renew_recovery_codes(user: User, actor: Actor) -> list[str]:
    """Replace a user's recovery codes with new ones; return them (shown once)."""
    if user.totp_secret is None:
        raise Invalid(_l("The second factor is not on."))
    codes = _new_recovery_codes(user)
    record(actor, "user.recovery_codes_renewed", "user", user.id)
    return codes


def disable(user: User, actor: Actor) -> None:
    """Turn off a user's own second factor; raise Invalid where an administrator requires it."""
    if is_required(user):
        raise Invalid(_l("Your administrator requires a second factor for your role, so it stays on."))
    _remove(user)
    record(actor, "user.second_factor_disabled", "user", user.id)


def remove_for(user_id: int, actor: Actor) -> User:
    """Remove a user's second factor for them (a lost phone); they set it up again at the next sign-in."""
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(_l("No such user."))
    if user.totp_secret is not None:
        _remove(user)
        record(actor, "user.second_factor_removed", "user", user.id)
    return user


def _remove(user: User) -> None:
    user.totp_secret, user.totp_last_step = None, None
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))


def check(user: User, code: str, now: float | None = None) -> str | None:
    """Consume a current code or an unused recovery code of the user; return which ("totp", "recovery") or None."""
    if user.totp_secret is None:
        return None
    step = _matching_step(user.totp_secret, code, user.totp_last_step, time.time() if now is None else now)
    if step is not None:
        user.totp_last_step = step
        return "totp"
    used = db.session.execute(
        sa.update(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.code_hash == _recovery_hash(user.id, code),
               RecoveryCode.used_at.is_(None))
        .values(used_at=utcnow()).execution_options(synchronize_session=False))
    return "recovery" if used.rowcount == 1 else None


# -- the requirement an administrator sets -------------------------------------

def required_for_privileged() -> bool:
    """Tell whether administrators and coordinators must sign in with a second factor."""
    setting = db.session.get(Setting, REQUIRED_SETTING)
    return bool(setting and setting.value)


def is_required(user: User) -> bool:
    """Tell whether this user must have a second factor."""
    return user.role in PRIVILEGED_ROLES and required_for_privileged()


def set_required_for_privileged(required: bool, actor: Actor) -> bool:
    """Require (or stop requiring) a second factor of administrators and coordinators; return whether it changed."""
    setting = db.session.get(Setting, REQUIRED_SETTING)
    if setting is not None and bool(setting.value) == bool(required):
        return False
    if setting is None:
        if not required:
            return False
        db.session.add(Setting(key=REQUIRED_SETTING, value=True))
    else:
        setting.value = bool(required)
    record(actor, "settings.second_factor_required", "setting", None, {"required": bool(required)})
    return True


def privileged_without_one() -> int:
    """Return how many active administrators and coordinators have no second factor."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(User).where(
        User.role.in_(PRIVILEGED_ROLES), User.totp_secret.is_(None), User.is_active_account))
