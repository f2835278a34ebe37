"""Single sign-on through a real OpenID provider (panva's oidc-provider on 127.0.0.1, DESIGN §16), driven with
the test client on our side and plain HTTP on the provider's: a verified e-mail signs in its active user; an
unverified or unknown e-mail, a deactivated user and a provider's error are refused, audited, and change nothing."""

import logging
import re
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests
import sqlalchemy as sa

from referral import create_app
from referral.audit.models import AuditEntry
from referral.auth.models import User
from referral.config import ConfigurationError
from referral.extensions import db
from tests.appfixtures import BASE_CONFIG, PASSWORD
from tests.service.test_second_factor import code_for, enrolled


@pytest.fixture
def sso(make_app, oidc_provider):
    """An app that offers sign-in through the test provider, in an app context."""
    app = make_app(**oidc_provider.app_config())
    with app.app_context():
        yield app


def at_provider(start: str, login: str, provider) -> str:
    """Follow the provider from its authorization URL, sign in there as ``login``; return the URL it sends back."""
    with requests.Session() as browser:
        url, answer = start, None
        for _ in range(10):
            if url.startswith(provider.app_url):
                return url
            answer = browser.get(url, allow_redirects=False, timeout=10)
            if answer.status_code == 200:  # the provider's own sign-in form
                action = re.search(r'<form[^>]*action="([^"]+)"', answer.text)
                assert action and 'name="login"' in answer.text, answer.text[-1500:]
                fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', answer.text))
                answer = browser.post(urljoin(url, action.group(1)),
                                      data={**fields, "login": login, "password": "any"},
                                      allow_redirects=False, timeout=10)
            assert answer.status_code in (302, 303), answer.text[:500]
            url = urljoin(url, answer.headers["Location"])
    raise AssertionError(f"the provider never sent the browser back: {url}")


def callback_path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def sign_in_through_provider(client, provider, login: str):
    """Go from our button through the provider and back; return our answer to the callback."""
    start = client.get("/login/oidc")
    assert start.status_code == 302
    return client.get(callback_path(at_provider(start.headers["Location"], login, provider)))


def refused_with(client, answer, message: str) -> None:
    """Assert that an answer sends the browser back to the login page, which shows ``message``."""
    assert answer.status_code == 302 and answer.headers["Location"] == "/login"
    page = client.get("/login")
    assert page.status_code == 200 and message in page.get_data(as_text=True)


def oidc_audit() -> list[tuple[str, str | None, dict | None]]:
    return [(entry.action, entry.object_id, entry.detail) for entry in db.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action.in_(("auth.login", "auth.oidc_refused",
                                                          "auth.second_factor_asked"))).order_by(AuditEntry.id))]


def test_the_login_page_offers_the_provider_only_when_configured(sso, make_app, oidc_provider):
    assert "Sign in with Test ID" in sso.test_client().get("/login").get_data(as_text=True)
    unnamed = make_app(**oidc_provider.app_config(REFERRAL_OIDC_NAME=None))
    with unnamed.app_context():
        assert "Войти через единую учётную запись" in unnamed.test_client().get(
            "/login", headers={"Accept-Language": "ru"}).get_data(as_text=True)
    plain = make_app()
    with plain.app_context():
        page = plain.test_client().get("/login").get_data(as_text=True)
        assert "login-oidc" not in page
        assert plain.test_client().get("/login/oidc").status_code == 302  # back to the login page


def test_the_request_carries_state_nonce_and_a_pkce_challenge(sso, oidc_provider):
    answer = sso.test_client().get("/login/oidc")
    query = parse_qs(urlsplit(answer.headers["Location"]).query)
    assert answer.headers["Location"].startswith(oidc_provider.issuer + "/auth?")
    assert query["response_type"] == ["code"] and query["code_challenge_method"] == ["S256"]
    assert len(query["code_challenge"][0]) == 43 and len(query["state"][0]) >= 20 and len(query["nonce"][0]) >= 20
    assert query["redirect_uri"] == [f"{oidc_provider.app_url}/login/oidc/callback"]
    assert set(query["scope"][0].split()) == {"openid", "email", "profile"}


def test_a_verified_email_signs_in_its_active_user_whatever_its_case(sso, oidc_provider, make_user, caplog):
    caplog.set_level(logging.DEBUG)
    user = make_user(email="worker@example.org")
    client = sso.test_client()
    start = client.get("/login/oidc?next=/cases/")
    back = at_provider(start.headers["Location"], "worker", oidc_provider)
    answer = client.get(callback_path(back))
    assert answer.status_code == 302 and answer.headers["Location"] == "/cases/"
    assert client.get("/profile").status_code == 200  # signed in
    db.session.expire_all()
    assert db.session.get(User, user.id).last_login_at is not None
    assert oidc_audit() == [("auth.login", str(user.id), {"method": "oidc"})]
    # The code the provider sent is in no audit entry and no log line.
    code = parse_qs(urlsplit(back).query)["code"][0]
    assert code not in caplog.text and "code_verifier" not in caplog.text
    assert all(code not in str(entry.detail) for entry in db.session.scalars(sa.select(AuditEntry)))

    # The same answer again (a replayed callback) is refused: its state was used up.
    replayer = sso.test_client()
    refused_with(replayer, replayer.get(callback_path(back)), "did not succeed")


@pytest.mark.parametrize(("login", "message", "reason"), [
    ("unverified", "has not confirmed your e-mail address", "unverified_email"),
    ("noemail", "has not confirmed your e-mail address", "unverified_email"),
    ("stranger", "There is no account here", "unknown_email"),
])
def test_an_unverified_missing_or_unknown_email_is_refused_and_changes_nothing(sso, oidc_provider, make_user,
                                                                               login, message, reason):
    user = make_user(email="worker@example.org")
    client = sso.test_client()
    refused_with(client, sign_in_through_provider(client, oidc_provider, login), message)
    assert client.get("/profile").status_code == 302  # not signed in
    db.session.expire_all()
    assert db.session.get(User, user.id).last_login_at is None
    assert oidc_audit() == [("auth.oidc_refused", None, {"reason": reason})]


def test_a_deactivated_user_is_refused(sso, oidc_provider, make_user):
    user = make_user(email="worker@example.org", is_active=False)
    client = sso.test_client()
    refused_with(client, sign_in_through_provider(client, oidc_provider, "worker"), "Your account here is deactivated")
    assert oidc_audit() == [("auth.oidc_refused", str(user.id), {"reason": "inactive"})]


def test_an_error_from_the_provider_or_a_forged_state_is_refused(sso, oidc_provider, make_user):
    make_user(email="worker@example.org")
    client = sso.test_client()
    start = parse_qs(urlsplit(client.get("/login/oidc").headers["Location"]).query)
    refused_with(client, client.get(f"/login/oidc/callback?error=access_denied&state={start['state'][0]}"),
                 "did not succeed")
    # A callback with a state this browser never sent (login CSRF) is refused too.
    other = sso.test_client()
    back = at_provider(other.get("/login/oidc").headers["Location"], "worker", oidc_provider)
    refused_with(client, client.get(callback_path(back)), "did not succeed")
    assert client.get("/profile").status_code == 302
    assert [detail for _, _, detail in oidc_audit()] == [
        {"reason": "provider_error", "error": "access_denied"},
        {"reason": "provider_error", "error": "mismatching_state"}]


def test_a_provider_that_cannot_be_reached_is_refused_with_the_message(make_app, oidc_provider):
    app = make_app(**oidc_provider.app_config(REFERRAL_OIDC_ISSUER="http://127.0.0.1:9"))
    with app.app_context():
        client = app.test_client()
        refused_with(client, client.get("/login/oidc"), "did not succeed")


def test_a_user_with_a_second_factor_still_gives_the_code(sso, oidc_provider, make_user):
    user = make_user(email="worker@example.org")
    secret, _ = enrolled(user)
    client = sso.test_client()
    answer = sign_in_through_provider(client, oidc_provider, "worker")
    assert answer.status_code == 302 and answer.headers["Location"] == "/login/code"
    assert client.get("/profile").status_code == 302  # the provider alone does not sign in
    assert client.post("/login/code", data={"code": code_for(secret)}).status_code == 302
    assert client.get("/profile").status_code == 200
    assert [action for action, _, _ in oidc_audit()] == ["auth.second_factor_asked", "auth.login"]


def test_an_admin_turns_password_sign_in_off_and_single_sign_on_still_works(sso, oidc_provider, make_user):
    admin = make_user(role="admin")
    user = make_user(email="worker@example.org")
    admins, before = sso.test_client(), sso.test_client()
    assert admins.post("/login", data={"email": admin.email, "password": PASSWORD}).status_code == 302
    assert before.post("/login", data={"email": user.email, "password": PASSWORD}).status_code == 302
    assert "single_sign_on_only" in admins.get(f"/admin/users/{user.id}").get_data(as_text=True)
    form = {"email": user.email, "name": user.name, "agency": user.agency.code, "role": "staff", "locale": "en",
            "is_active": "y", "single_sign_on_only": "y"}
    assert admins.post(f"/admin/users/{user.id}", data=form).status_code == 302
    db.session.expire_all()
    assert db.session.get(User, user.id).is_password_allowed is False
    assert before.get("/profile").status_code == 302  # the session the password opened has ended
    assert db.session.scalars(sa.select(AuditEntry.detail).where(AuditEntry.action == "user.update")).all() == [
        {"changed": ["is_password_allowed"]}]
    assert re.search(r'<input[^>]*checked[^>]*name="single_sign_on_only"|name="single_sign_on_only"[^>]*checked',
                     admins.get(f"/admin/users/{user.id}").get_data(as_text=True))

    client = sso.test_client()
    refused = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert refused.status_code == 403
    assert "turned off signing in with a password" in refused.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)
                             .where(AuditEntry.action == "auth.login_refused_password_off")) == 1
    assert client.get("/profile").status_code == 302
    # A wrong password is still only "wrong": the switch is told only to someone who knows the password.
    wrong = client.post("/login", data={"email": user.email, "password": "not the password"})
    assert wrong.status_code == 401 and "turned off" not in wrong.get_data(as_text=True)
    assert sign_in_through_provider(client, oidc_provider, "worker").status_code == 302
    assert client.get("/profile").status_code == 200

    # Saving without the box ticked gives the password back.
    form.pop("single_sign_on_only")
    assert admins.post(f"/admin/users/{user.id}", data=form).status_code == 302
    assert sso.test_client().post("/login", data={"email": user.email, "password": PASSWORD}).status_code == 302


def test_password_sign_in_cannot_be_turned_off_without_single_sign_on(app, make_user, login_as):
    admin = make_user(role="admin")
    user = make_user()
    page = login_as(admin).get(f"/admin/users/{user.id}").get_data(as_text=True)
    assert "single_sign_on_only" not in page
    form = {"email": user.email, "name": user.name, "agency": user.agency.code, "role": "staff", "locale": "en",
            "is_active": "y", "single_sign_on_only": "y"}
    answer = login_as(admin).post(f"/admin/users/{user.id}", data=form)
    assert answer.status_code == 422
    assert "only when single sign-on is configured" in answer.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, user.id).is_password_allowed is True


def test_single_sign_on_needs_all_three_settings():
    with pytest.raises(ConfigurationError, match="REFERRAL_OIDC_CLIENT_SECRET together"):
        create_app({**BASE_CONFIG, "REFERRAL_OIDC_ISSUER": "https://id.example.kz",
                    "REFERRAL_OIDC_CLIENT_ID": "referral"})


def test_a_wrong_client_secret_is_refused_at_the_token_exchange(make_app, oidc_provider, make_user):
    make_user(email="worker@example.org")
    app = make_app(**oidc_provider.app_config(REFERRAL_OIDC_CLIENT_SECRET="not-the-secret"))
    with app.app_context():
        client = app.test_client()
        refused_with(client, sign_in_through_provider(client, oidc_provider, "worker"), "did not succeed")
        assert client.get("/profile").status_code == 302
        assert [detail for _, _, detail in oidc_audit()] == [{"reason": "provider_error", "error": "invalid_client"}]
