"""The optional TOTP second factor (DESIGN §17): set up from the profile, asked after the password, bounded by the
lockout, recovery codes that work once, and an administrator's requirement for administrators and coordinators."""

import re
import time

import pyotp
import sqlalchemy as sa

from referral.actors import Actor
from referral.audit.models import AuditEntry
from referral.auth import second_factor
from referral.auth.models import RecoveryCode, User
from referral.extensions import db
from tests.appfixtures import PASSWORD


def code_for(secret: str, at: float | None = None) -> str:
    return pyotp.TOTP(secret).at(time.time() if at is None else at)


def enrolled(user: User) -> tuple[str, list[str]]:
    """Turn on a user's second factor as the profile page would; return the key and the recovery codes."""
    secret = second_factor.new_secret()
    codes = second_factor.enable(user, secret, code_for(secret, time.time() - 30), Actor.of(user))
    db.session.commit()
    return secret, codes


def password_step(browser, user):
    return browser.post("/login", data={"email": user.email, "password": PASSWORD})


def actions(user: User) -> list[str]:
    return db.session.scalars(sa.select(AuditEntry.action).where(AuditEntry.object_id == str(user.id))
                              .order_by(AuditEntry.id)).all()


def test_setting_it_up_from_the_profile_shows_a_qr_code_and_recovery_codes_once(app, make_user):
    user = make_user()
    browser = app.test_client()
    password_step(browser, user)
    page = browser.get("/profile/two-factor")
    assert page.status_code == 200 and b"<svg" in page.data
    key = re.search(r'id="totp-key">([A-Z2-7 ]+)<', page.text).group(1).replace(" ", "")
    assert key in browser.get("/profile/two-factor").text.replace(" ", "")  # a reload shows the same key

    wrong = browser.post("/profile/two-factor/enable", data={"code": "000000"})
    assert wrong.status_code == 422 and db.session.get(User, user.id).totp_secret is None

    done = browser.post("/profile/two-factor/enable", data={"code": code_for(key)})
    assert done.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, user.id).totp_secret == key
    shown = browser.get("/profile/two-factor").text
    codes = re.findall(r"<code>([a-z2-7]{4}(?:-[a-z2-7]{4}){3})</code>", shown)
    assert len(codes) == second_factor.RECOVERY_CODES
    assert not re.findall(r"<code>[a-z2-7]{4}-", browser.get("/profile/two-factor").text)  # shown once
    stored = db.session.scalars(sa.select(RecoveryCode.code_hash).where(RecoveryCode.user_id == user.id)).all()
    assert len(stored) == 10 and not set(codes) & set(stored)
    assert "user.second_factor_enabled" in actions(user)


def test_sign_in_asks_for_the_code_after_the_password(app, make_user):
    user = make_user()
    secret, _ = enrolled(user)
    browser = app.test_client()
    first = password_step(browser, user)
    assert first.status_code == 302 and first.location.endswith("/login/code")
    assert browser.get("/").status_code == 302  # the password alone opens nothing
    assert browser.post("/login/code", data={"code": "123456"}).status_code == 401
    assert browser.post("/login/code", data={"code": code_for(secret)}).status_code == 302
    assert browser.get("/").status_code == 200
    assert actions(user)[-1] == "auth.login"

    # The same code does not work twice, even within its 30 seconds.
    other = app.test_client()
    password_step(other, user)
    assert other.post("/login/code", data={"code": code_for(secret)}).status_code == 401


def test_a_code_must_follow_the_password_within_five_minutes(app, make_user, monkeypatch):
    from referral.auth import views

    user = make_user()
    secret, _ = enrolled(user)
    clock = [time.time()]
    monkeypatch.setattr(views, "_now", lambda: clock[0])
    browser = app.test_client()
    password_step(browser, user)
    clock[0] += 301
    late = browser.post("/login/code", data={"code": code_for(secret)})
    assert late.status_code == 302 and late.location.endswith("/login")
    assert browser.get("/").status_code == 302


def test_wrong_codes_count_towards_the_lockout(app, make_user):
    user = make_user()
    secret, _ = enrolled(user)
    browser = app.test_client()
    password_step(browser, user)
    for _ in range(4):
        assert browser.post("/login/code", data={"code": "999999"}).status_code == 401
    # Signing in with the password again buys no fresh guesses: the count holds until a code is right.
    password_step(browser, user)
    assert browser.post("/login/code", data={"code": "999999"}).status_code == 401
    db.session.expire_all()
    assert db.session.get(User, user.id).locked_until is not None
    # Locked: even the right code is refused.
    assert browser.post("/login/code", data={"code": code_for(secret)}).status_code == 401
    assert browser.get("/").status_code == 302


def test_a_recovery_code_works_once(app, make_user):
    user = make_user()
    _, codes = enrolled(user)
    browser = app.test_client()
    password_step(browser, user)
    assert browser.post("/login/code", data={"code": codes[0].upper().replace("-", " ")}).status_code == 302
    assert second_factor.recovery_codes_left(db.session.get(User, user.id)) == 9
    again = app.test_client()
    password_step(again, user)
    assert again.post("/login/code", data={"code": codes[0]}).status_code == 401
    entry = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "auth.login")
                               .order_by(AuditEntry.id.desc())).first()
    assert entry.detail == {"second_factor": "recovery"}


def test_new_recovery_codes_and_turning_it_off_ask_for_the_password(app, make_user):
    user = make_user()
    secret, codes = enrolled(user)
    browser = app.test_client()
    password_step(browser, user)
    browser.post("/login/code", data={"code": code_for(secret)})
    assert browser.post("/profile/two-factor/recovery-codes", data={"password": "wrong"}).status_code == 422
    assert browser.post("/profile/two-factor/recovery-codes", data={"password": PASSWORD}).status_code == 302
    fresh = re.findall(r"<code>([a-z2-7-]{19})</code>", browser.get("/profile/two-factor").text)
    assert len(fresh) == 10 and not set(fresh) & set(codes)
    assert second_factor.check(db.session.get(User, user.id), codes[1]) is None  # the old ones are dead
    db.session.rollback()

    assert browser.post("/profile/two-factor/disable", data={"password": "wrong"}).status_code == 422
    db.session.expire_all()
    assert db.session.get(User, user.id).totp_secret is not None
    assert browser.post("/profile/two-factor/disable", data={"password": PASSWORD}).status_code == 302
    db.session.expire_all()
    assert db.session.get(User, user.id).totp_secret is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RecoveryCode)
                             .where(RecoveryCode.user_id == user.id)) == 0
    assert password_step(app.test_client(), user).location.endswith("/")


def test_an_administrator_can_require_it_of_administrators_and_coordinators(app, make_user):
    admin, coordinator, staff = make_user(role="admin"), make_user(role="coordinator"), make_user()
    admin_browser = app.test_client()
    password_step(admin_browser, admin)
    assert admin_browser.post("/admin/users/second-factor-policy", data={"required": "y"}).status_code == 302
    assert second_factor.required_for_privileged()
    assert "settings.second_factor_required" in db.session.scalars(sa.select(AuditEntry.action)).all()

    # The administrator's own next page is the set-up page; so is the coordinator's; staff go on as before.
    assert admin_browser.get("/admin/users/").location.endswith("/profile/two-factor")
    coordinator_browser = app.test_client()
    password_step(coordinator_browser, coordinator)
    assert coordinator_browser.get("/cases/").location.endswith("/profile/two-factor")
    assert coordinator_browser.get("/profile/two-factor").status_code == 200
    staff_browser = app.test_client()
    password_step(staff_browser, staff)
    assert staff_browser.get("/").status_code == 200

    # Once set up, it cannot be turned off while required; the coordinator works again.
    secret, _ = enrolled(db.session.get(User, coordinator.id))
    assert coordinator_browser.get("/").status_code == 200
    refused = coordinator_browser.post("/profile/two-factor/disable", data={"password": PASSWORD})
    assert refused.status_code == 422
    db.session.expire_all()
    assert db.session.get(User, coordinator.id).totp_secret == secret


def test_an_administrator_removes_a_lost_second_factor(app, make_user):
    admin, user = make_user(role="admin"), make_user()
    enrolled(user)
    browser = app.test_client()
    password_step(browser, admin)
    page = browser.get(f"/admin/users/{user.id}")
    assert b'id="remove-second-factor"' in page.data
    assert browser.post(f"/admin/users/{user.id}/second-factor/remove").status_code == 302
    db.session.expire_all()
    assert db.session.get(User, user.id).totp_secret is None
    assert "user.second_factor_removed" in actions(user)
    assert password_step(app.test_client(), user).location.endswith("/")
    assert browser.post("/admin/users/99999/second-factor/remove").status_code == 404


def test_codes_from_the_neighbouring_steps_are_accepted_for_clock_drift(app, make_user):
    user = make_user()
    secret = second_factor.new_secret()
    now = 1_800_000_000.0
    second_factor.enable(user, secret, code_for(secret, now), Actor.of(user), now=now)
    assert second_factor.check(user, code_for(secret, now + 30), now=now) == "totp"
    assert second_factor.check(user, code_for(secret, now - 30), now=now) is None  # older than the last one used
    assert second_factor.check(user, code_for(secret, now + 90), now=now) is None  # too far ahead
