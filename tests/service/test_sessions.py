"""Sessions end on the server (DESIGN §17): sign-out, a new password and deactivation end every session;
idle sessions and old ones end by themselves; sign-in is limited per address; passwords must be hard to guess."""

import pytest
import sqlalchemy as sa

from referral.actors import Actor
from referral.audit.models import AuditEntry
from referral.auth import service as accounts
from referral.auth import views
from referral.auth.models import ApiToken, User
from referral.errors import Invalid
from referral.extensions import db
from tests.appfixtures import PASSWORD


def signed_in(app, user):
    """Return a fresh browser signed in as the user."""
    browser = app.test_client()
    assert browser.post("/login", data={"email": user.email, "password": PASSWORD}).status_code == 302
    assert browser.get("/").status_code == 200
    return browser


def test_a_cookie_copied_before_sign_out_no_longer_works(app, client, make_user):
    user = make_user()
    laptop, phone = signed_in(app, user), signed_in(app, user)
    copied = laptop.get_cookie("session").value
    assert laptop.post("/logout").status_code == 302
    thief = app.test_client()
    thief.set_cookie("session", copied)
    assert thief.get("/").status_code == 302
    assert phone.get("/").status_code == 302  # sign-out ends every session of the user


def test_a_new_password_ends_old_sessions(app, make_user):
    admin, user = make_user(role="admin"), make_user()
    browser = signed_in(app, user)
    data = accounts.UserData(email=user.email, name=user.name, agency_code=user.agency.code, role="staff",
                             password="a brand new passphrase")
    accounts.update_user(user.id, data, Actor.of(admin))
    db.session.commit()
    assert browser.get("/").status_code == 302


def test_deactivation_ends_sessions_and_revokes_tokens(app, make_user, token_for):
    admin, user = make_user(role="admin"), make_user()
    browser, headers = signed_in(app, user), token_for(user)
    data = accounts.UserData(email=user.email, name=user.name, agency_code=user.agency.code, role="staff",
                             is_active=False)
    accounts.update_user(user.id, data, Actor.of(admin))
    db.session.commit()
    assert browser.get("/").status_code == 302
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)
                             .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))) == 0
    assert "token.revoke_all" in db.session.scalars(sa.select(AuditEntry.action)).all()
    # Reactivated, the old token stays dead.
    accounts.update_user(user.id, accounts.UserData(email=user.email, name=user.name, agency_code=user.agency.code,
                                                     role="staff"), Actor.of(admin))
    db.session.commit()
    assert app.test_client().get("/api/v1/agencies", headers=headers).status_code == 401


def test_an_idle_session_ends_and_any_session_ends_after_12_hours(app, make_user, monkeypatch):
    user = make_user()
    clock = [1_000_000.0]
    monkeypatch.setattr(views, "_now", lambda: clock[0])
    browser = signed_in(app, user)
    clock[0] += 29 * 60
    assert browser.get("/").status_code == 200  # active: the idle clock starts again
    clock[0] += 31 * 60
    assert browser.get("/").status_code == 302

    browser = signed_in(app, user)
    for _ in range(26):  # busy all day, never idle for half an hour
        clock[0] += 28 * 60
        if browser.get("/").status_code != 200:
            break
    assert browser.get("/").status_code == 302
    assert clock[0] - 1_000_000.0 > 12 * 3600


def test_the_idle_limit_is_configurable(make_app, make_user, monkeypatch):
    app = make_app(REFERRAL_SESSION_IDLE_MINUTES=5)
    with app.app_context():
        user = make_user()
        clock = [0.0]
        monkeypatch.setattr(views, "_now", lambda: clock[0])
        browser = signed_in(app, user)
        clock[0] += 6 * 60
        assert browser.get("/").status_code == 302


def test_one_address_is_stopped_after_twenty_failures_whatever_the_accounts(client, make_user):
    users = [make_user() for _ in range(5)]
    for attempt in range(20):
        client.post("/login", data={"email": users[attempt % 5].email, "password": "wrong guess here"})
    # None of the three accounts reached its own lock, but the address is refused, even with a right password.
    response = client.post("/login", data={"email": users[0].email, "password": PASSWORD})
    assert response.status_code == 401
    assert "auth.login_refused_address" in db.session.scalars(sa.select(AuditEntry.action)).all()
    other = client.post("/login", data={"email": users[1].email, "password": PASSWORD},
                        environ_base={"REMOTE_ADDR": "10.9.8.7"})
    assert other.status_code == 302


def test_what_was_typed_for_an_unknown_email_is_not_kept(client):
    client.post("/login", data={"email": "my-secret-password-typed-here", "password": "x"})
    details = db.session.scalars(sa.select(AuditEntry.detail)).all()
    assert details and all("my-secret" not in str(detail) for detail in details)


@pytest.mark.parametrize("password, message", [
    ("short-pass1", "at least 12 characters"),
    ("aaaaaaaaaaaa", "too easy to guess"),
    ("password1234", "too easy to guess"),
    ("qwertyuiop12", "too easy to guess"),
    ("maria.petrova1", "too easy to guess"),
])
def test_weak_passwords_are_refused(app, make_agency, password, message):
    data = accounts.UserData(email="maria.petrova@example.org", name="Maria Petrova", agency_code=make_agency().code,
                             role="staff", password=password)
    with pytest.raises(Invalid) as refused:
        accounts.create_user(data, Actor.system_actor("test"))
    assert message in str(refused.value.message)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0


def test_a_long_unusual_passphrase_is_accepted(app, make_agency):
    data = accounts.UserData(email="maria@example.org", name="Maria", agency_code=make_agency().code,
                             role="staff", password="violet kettle under ninety")
    assert accounts.create_user(data, Actor.system_actor("test")).id


def test_a_user_changes_their_own_password_and_other_sessions_end(app, make_user):
    user = make_user()
    here, elsewhere = signed_in(app, user), signed_in(app, user)
    new = "amber lantern over seven hills"
    response = here.post("/profile/password", data={"current": "wrong one here", "new": new, "repeat": new})
    assert response.status_code == 422 and "This is not your current password." in response.get_data(as_text=True)
    response = here.post("/profile/password", data={"current": PASSWORD, "new": "password1234",
                                                    "repeat": "password1234"})
    assert response.status_code == 422 and "Too easy to guess." in response.get_data(as_text=True)
    response = here.post("/profile/password", data={"current": PASSWORD, "new": new, "repeat": new + "x"})
    assert response.status_code == 422
    assert elsewhere.get("/").status_code == 200  # refusals changed nothing

    response = here.post("/profile/password", data={"current": PASSWORD, "new": new, "repeat": new})
    assert response.status_code == 302
    assert here.get("/profile").status_code == 200  # this session goes on
    assert elsewhere.get("/").status_code == 302  # the others end
    assert app.test_client().post("/login", data={"email": user.email, "password": new}).status_code == 302
    assert "user.password_changed" in db.session.scalars(sa.select(AuditEntry.action)).all()


def test_an_admin_emails_a_one_hour_single_use_reset_link(make_app, make_user, monkeypatch, smtp_server):
    """The link goes through a real SMTP server on 127.0.0.1, works once, and dies after an hour."""
    import re
    import time as clock

    inbox, smtp_url = smtp_server
    app = make_app(REFERRAL_SMTP_URL=smtp_url, REFERRAL_BASE_URL="https://referral.test")
    with app.app_context():
        admin, user = make_user(role="admin"), make_user(locale="ru")
        user_id, email = user.id, user.email
        admin_browser, old_session = signed_in(app, admin), signed_in(app, user)
    assert admin_browser.post(f"/admin/users/{user_id}/reset-link").status_code == 302
    [message] = inbox.messages
    assert message["To"] == email
    body = message.get_content()
    assert "ссылк" in body.lower()  # in the user's language
    link = re.search(r"https://referral\.test(/reset/\S+)", body).group(1)
    visitor = app.test_client()
    assert visitor.get(link).status_code == 200
    new = "copper heron beneath tall reeds"
    response = visitor.post(link, data={"new": "password1234", "repeat": "password1234"})
    assert response.status_code == 422
    response = visitor.post(link, data={"new": new, "repeat": new})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert old_session.get("/").status_code == 302  # the reset ended the old sessions
    assert app.test_client().post("/login", data={"email": email, "password": new}).status_code == 302
    assert visitor.get(link).status_code == 410  # used once, dead
    assert visitor.post(link, data={"new": "another fine long passphrase", "repeat": "x"}).status_code == 410

    with app.app_context():
        real_time = clock.time
        _, token = accounts.issue_reset_token(user_id, Actor.system_actor("test"))
        db.session.commit()
        monkeypatch.setattr("itsdangerous.timed.time.time", lambda: real_time() + 3601)
        assert accounts.user_for_reset_token(token) is None
        monkeypatch.undo()
        assert accounts.user_for_reset_token(token) is not None
        assert accounts.user_for_reset_token(token + "x") is None


def test_without_smtp_no_reset_link_is_pretended(app, client, make_user, login_as):
    user = make_user()
    login_as(make_user(role="admin"))
    response = client.post(f"/admin/users/{user.id}/reset-link", follow_redirects=True)
    assert "E-mail is not configured" in response.get_data(as_text=True)
    assert "user.reset_link_sent" not in db.session.scalars(sa.select(AuditEntry.action)).all()


def test_the_language_chosen_on_the_sign_in_page_stays_after_signing_in(client, make_user):
    user = make_user(locale="en")
    client.post("/language", data={"locale": "kk", "next": "/login"})
    assert client.post("/login", data={"email": user.email, "password": PASSWORD}).status_code == 302
    assert 'lang="kk"' in client.get("/").get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, user.id).locale == "kk"
    # Once signed in, the language switch works as before; a later sign-in keeps the stored one.
    client.post("/logout")
    assert client.post("/login", data={"email": user.email, "password": PASSWORD}).status_code == 302
    assert 'lang="kk"' in client.get("/").get_data(as_text=True)
