"""Sign-in, lockout, CSRF, API tokens and role-gated pages."""

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from referral.audit.models import AuditEntry
from referral.auth.models import ApiToken, User
from referral.extensions import db, utcnow
from tests.appfixtures import PASSWORD

GENERIC = "The e-mail or password is wrong"


def audit_actions(user_id=None):
    statement = sa.select(AuditEntry.action).order_by(AuditEntry.id)
    if user_id is not None:
        statement = statement.where(AuditEntry.object_id == str(user_id))
    return list(db.session.scalars(statement))


def test_login_with_good_credentials_shows_home_and_is_audited(client, make_user):
    user = make_user(role="staff", email="Worker@Example.org")
    response = client.post("/login", data={"email": " worker@example.ORG ", "password": PASSWORD})
    assert response.status_code == 302
    home = client.get("/")
    assert home.status_code == 200
    assert user.name in home.get_data(as_text=True)
    assert "auth.login" in audit_actions(user.id)
    assert db.session.get(User, user.id).last_login_at is not None


def test_wrong_password_and_unknown_email_get_the_same_message(client, make_user):
    user = make_user()
    wrong_password = client.post("/login", data={"email": user.email, "password": "nope-nope-nope"})
    unknown = client.post("/login", data={"email": "nobody@example.org", "password": PASSWORD})
    assert wrong_password.status_code == unknown.status_code == 401
    assert GENERIC in wrong_password.get_data(as_text=True)
    assert GENERIC in unknown.get_data(as_text=True)
    assert client.get("/").status_code == 302  # still signed out
    actions = audit_actions()
    assert actions.count("auth.login_failed") == 2


def test_five_failures_lock_the_account_and_the_lock_is_audited(app, client, make_user):
    user = make_user()
    for _ in range(5):
        client.post("/login", data={"email": user.email, "password": "wrong-password"})
    locked = db.session.get(User, user.id)
    db.session.refresh(locked)
    assert locked.locked_until is not None and locked.locked_until > utcnow()
    assert "auth.locked" in audit_actions(user.id)

    # Even the right password is refused while locked, with the same generic message.
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 401
    assert GENERIC in response.get_data(as_text=True)
    assert "auth.login_refused_locked" in audit_actions(user.id)

    # After the lock expires the right password works again.
    locked.locked_until = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert client.post("/login", data={"email": user.email, "password": PASSWORD}).status_code == 302


def test_failures_spread_over_more_than_the_window_do_not_lock(client, make_user):
    user = make_user()
    for _ in range(4):
        client.post("/login", data={"email": user.email, "password": "wrong-password"})
    row = db.session.get(User, user.id)
    row.failed_login_window_started_at = utcnow() - timedelta(minutes=16)
    db.session.commit()
    client.post("/login", data={"email": user.email, "password": "wrong-password"})
    db.session.refresh(row)
    assert row.locked_until is None
    assert row.failed_login_count == 1


def test_inactive_user_cannot_sign_in(client, make_user):
    user = make_user(is_active=False)
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 401


def test_logout_requires_post_and_ends_the_session(client, make_user, login_as):
    login_as(make_user())
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 302
    assert client.get("/").status_code == 302


def test_csrf_token_is_required_for_forms(make_app, make_user):
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        user = make_user()
        client = app.test_client()
        refused = client.post("/login", data={"email": user.email, "password": PASSWORD})
        assert refused.status_code == 400
        assert client.get("/").status_code == 302  # not signed in
        page = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        accepted = client.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token})
        assert accepted.status_code == 302


def test_api_needs_a_bearer_token(client, make_user, token_for):
    missing = client.get("/api/v1/agencies")
    assert missing.status_code == 401
    assert missing.json["code"] == 401 and missing.json["status"] == "Unauthorized"
    assert "Bearer" in missing.headers["WWW-Authenticate"]
    assert client.get("/api/v1/agencies", headers={"Authorization": "Bearer rfl_forged"}).status_code == 401
    assert client.get("/api/v1/agencies", headers={"Authorization": "Basic abc"}).status_code == 401
    headers = token_for(make_user())
    assert client.get("/api/v1/agencies", headers=headers).status_code == 200


def test_api_ignores_a_browser_session(client, make_user, login_as):
    login_as(make_user(role="admin"))
    assert client.get("/").status_code == 200
    assert client.get("/api/v1/agencies").status_code == 401


def test_revoked_token_is_refused(client, make_user, login_as, token_for):
    user = make_user()
    headers = token_for(user)
    token = db.session.scalar(sa.select(ApiToken).where(ApiToken.user_id == user.id))
    login_as(user)
    assert client.post(f"/profile/tokens/{token.id}/revoke").status_code == 302
    assert client.get("/api/v1/agencies", headers=headers).status_code == 401
    assert "token.revoke" in audit_actions(user.id)


def test_token_of_deactivated_user_is_refused(client, make_user, token_for):
    user = make_user()
    headers = token_for(user)
    db.session.get(User, user.id).is_active_account = False
    db.session.commit()
    assert client.get("/api/v1/agencies", headers=headers).status_code == 401


def test_profile_creates_a_token_shown_once_and_stored_hashed(client, make_user, login_as):
    user = make_user()
    login_as(user)
    page = client.post("/profile", data={"label": "reporting"}, follow_redirects=True).get_data(as_text=True)
    secret = re.search(r'id="new-token">(rfl_[^<]+)<', page).group(1)
    stored = db.session.scalar(sa.select(ApiToken).where(ApiToken.user_id == user.id))
    assert stored.label == "reporting"
    assert secret not in (stored.token_hash, stored.prefix)
    assert client.get("/api/v1/agencies", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    assert secret not in client.get("/profile").get_data(as_text=True)


def test_user_cannot_revoke_someone_elses_token(client, make_user, login_as, token_for):
    owner, other = make_user(), make_user()
    token_for(owner)
    token = db.session.scalar(sa.select(ApiToken).where(ApiToken.user_id == owner.id))
    login_as(other)
    assert client.post(f"/profile/tokens/{token.id}/revoke").status_code == 404
    db.session.refresh(token)
    assert token.revoked_at is None


@pytest.mark.parametrize("path", ["/admin/users/", "/admin/users/new", "/admin/audit/", "/agencies/new",
                                  "/agencies/import", "/agencies/export"])
def test_staff_get_403_on_admin_pages(client, make_user, login_as, path):
    login_as(make_user(role="staff"))
    assert client.get(path).status_code == 403


@pytest.mark.parametrize("path", ["/admin/users/", "/admin/audit/", "/agencies/new"])
def test_admin_reaches_admin_pages(client, make_user, login_as, path):
    login_as(make_user(role="admin"))
    assert client.get(path).status_code == 200


def test_signed_out_visitor_is_sent_to_login(client):
    response = client.get("/admin/users/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_navigation_shows_what_the_role_can_do(client, make_user, login_as):
    login_as(make_user(role="staff"))
    page = client.get("/").get_data(as_text=True)
    assert "Agencies" in page
    assert "/admin/users/" not in page and "/admin/audit/" not in page
    client.post("/logout")
    login_as(make_user(role="admin"))
    page = client.get("/").get_data(as_text=True)
    assert "/admin/users/" in page and "/admin/audit/" in page


def test_admin_creates_edits_and_unlocks_users_with_audit(client, make_user, make_agency, login_as):
    admin = make_user(role="admin")
    agency = make_agency(type="health")
    login_as(admin)
    response = client.post("/admin/users/new", data={
        "email": "new.person@example.org", "name": "New Person", "agency": agency.code,
        "role": "supervisor", "locale": "ru", "password": "long-enough-pw", "is_active": "y"})
    assert response.status_code == 302
    created = db.session.scalar(sa.select(User).where(User.email == "new.person@example.org"))
    assert created.role.value == "supervisor" and created.agency_id == agency.id and created.locale == "ru"

    duplicate = client.post("/admin/users/new", data={
        "email": "NEW.person@example.org", "name": "Again", "agency": agency.code, "role": "staff",
        "locale": "en", "is_active": "y"})
    assert duplicate.status_code == 409
    assert "already exists" in duplicate.get_data(as_text=True)

    created.locked_until = utcnow() + timedelta(minutes=10)
    db.session.commit()
    response = client.post(f"/admin/users/{created.id}", data={
        "email": created.email, "name": "Renamed Person", "agency": agency.code, "role": "staff",
        "locale": "ru", "is_active": "y"})
    assert response.status_code == 302
    assert client.post(f"/admin/users/{created.id}/unlock").status_code == 302
    db.session.refresh(created)
    assert created.name == "Renamed Person" and created.role.value == "staff" and created.locked_until is None
    assert audit_actions(created.id) == ["user.create", "user.update", "user.unlock"]


def test_admin_cannot_demote_themselves(client, make_user, login_as):
    admin = make_user(role="admin")
    login_as(admin)
    response = client.post(f"/admin/users/{admin.id}", data={
        "email": admin.email, "name": admin.name, "agency": admin.agency.code, "role": "staff",
        "locale": "en", "is_active": "y"})
    assert response.status_code == 422
    db.session.refresh(admin)
    assert admin.role.value == "admin"


def test_audit_log_is_append_only(app, make_user):
    make_user()
    entry = db.session.scalar(sa.select(AuditEntry))
    with pytest.raises(sa.exc.DatabaseError):
        db.session.execute(sa.update(AuditEntry).where(AuditEntry.id == entry.id).values(action="forged"))
        db.session.flush()
    db.session.rollback()
    with pytest.raises(sa.exc.DatabaseError):
        db.session.execute(sa.delete(AuditEntry).where(AuditEntry.id == entry.id))
        db.session.flush()
    db.session.rollback()
    assert db.session.get(AuditEntry, entry.id).action == "user.create"


def test_audit_page_filters_by_action_and_object(client, make_user, login_as):
    admin = make_user(role="admin")
    target = make_user()
    client.post("/login", data={"email": target.email, "password": "wrong-password"})
    login_as(admin)
    page = client.get("/admin/audit/", query_string={"action": "auth.login_failed"}).get_data(as_text=True)
    assert "<code>auth.login_failed</code>" in page
    assert "<code>user.create</code>" not in page
    page = client.get("/admin/audit/", query_string={"object_type": "user", "object_id": target.id}).get_data(
        as_text=True)
    assert "<code>user.create</code>" in page and "<code>auth.login_failed</code>" in page


def test_the_profile_shows_how_to_send_a_token(client, make_user, login_as):
    login_as(make_user())
    assert "Authorization: Bearer &lt;token&gt;" in client.get("/profile").get_data(as_text=True)


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/\\evil.example/x", "javascript:x"])
def test_next_never_leaves_the_site(client, make_user, target):
    user = make_user()
    response = client.post("/login?next=" + target, data={"email": user.email, "password": "correct horse battery"})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    response = client.post("/language", data={"locale": "en", "next": target})
    assert response.headers["Location"] == "/"
    response = client.post("/notifications/read", data={"next": target})
    assert response.headers["Location"] == "/notifications/"


def test_next_keeps_a_path_on_the_site(client, make_user):
    user = make_user()
    response = client.post("/login?next=/inbox/", data={"email": user.email, "password": "correct horse battery"})
    assert response.headers["Location"] == "/inbox/"


def test_creating_a_token_or_a_feed_redirects_so_a_reload_posts_nothing(client, make_user, login_as):
    user = make_user()
    login_as(user)
    response = client.post("/profile", data={"label": "one"})
    assert response.status_code == 302 and response.headers["Location"] == "/profile"
    response = client.post("/profile/calendar")
    assert response.status_code == 302 and response.headers["Location"] == "/profile"
    page = client.get("/profile").get_data(as_text=True)
    assert 'action="/profile"' in page and 'id="token-form"' in page  # the token form never posts elsewhere
    assert ".ics" in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken).where(ApiToken.user_id == user.id)) == 1
    assert ".ics" not in client.get("/profile").get_data(as_text=True)  # shown once
