"""Sign in, sign out, and the user's own profile with API tokens."""

import time
from datetime import timedelta

import segno
from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from markupsafe import Markup
from sqlalchemy.orm import joinedload

from ..actors import Actor
from ..directory.models import NAMING_COLUMNS
from ..errors import Invalid, ServiceError
from ..extensions import db, login_manager
from ..web.access import attempt, safe_next, show_service_errors, web_actor
from . import oidc, second_factor, service
from .forms import (
    CodeForm,
    ConfirmPasswordForm,
    EnrolForm,
    LoginForm,
    PasswordForm,
    PreferencesForm,
    ResetForm,
    TokenForm,
)
from .models import User

bp = Blueprint("auth", __name__)

login_manager.login_view = "auth.login"
login_manager.login_message = None
login_manager.session_protection = "strong"


def _now() -> float:
    return time.time()


def _idle() -> timedelta:
    return timedelta(minutes=current_app.config["REFERRAL_SESSION_IDLE_MINUTES"])


def start_session(user: User) -> None:
    """Sign a user in on this browser, stamped with their session epoch and the time.

    A language chosen on the sign-in page becomes the user's own, so that signing in does not switch the
    page back to the language stored for them.
    """
    login_user(user)
    session.permanent = True  # the cookie itself expires with PERMANENT_SESSION_LIFETIME (12 hours)
    now = _now()
    session["epoch"], session["started"], session["seen"] = user.session_epoch, now, now
    chosen = session.pop("locale_chosen_signed_out", None)
    if chosen in current_app.config["LANGUAGES"] and chosen != user.locale:
        service.set_locale(user, chosen, Actor.of(user, request.remote_addr))
        db.session.commit()


#: A page reads of the user's agency only what names and places it.
_SIGNED_IN_OPTIONS = [joinedload(User.agency).load_only(*NAMING_COLUMNS)]


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """Return the session's user while the session holds: same epoch, not idle, not older than 12 hours."""
    user = db.session.get(User, int(user_id), options=_SIGNED_IN_OPTIONS) if user_id.isdigit() else None
    if user is None or not user.is_active:
        return None
    now = _now()
    if not service.session_is_current(user, session.get("epoch"), session.get("started"), session.get("seen"),
                                      now, _idle()):
        for key in ("epoch", "started", "seen"):
            session.pop(key, None)
        return None
    if now - session["seen"] > 60:  # a minute is precise enough, and spares a new cookie on every request
        session["seen"] = now
    return user


def policy() -> service.LockoutPolicy:
    config = current_app.config
    return service.LockoutPolicy(
        threshold=config["LOCKOUT_THRESHOLD"],
        window=timedelta(minutes=config["LOCKOUT_WINDOW_MINUTES"]),
        duration=timedelta(minutes=config["LOCKOUT_DURATION_MINUTES"]),
        address_threshold=config["LOCKOUT_ADDRESS_THRESHOLD"],
    )


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign in with e-mail and password."""
    if current_user.is_authenticated:
        return redirect(url_for("web.home"))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = service.authenticate(form.email.data, form.password.data, request.remote_addr, policy())
        except service.SignInRefused as refusal:
            db.session.commit()  # the refusal's audit entry, nothing else
            flash(str(refusal.message), "danger")
            return _render_login(form, refusal.status)
        db.session.commit()
        if user is not None:
            return _signed_in(user, safe_next(request.args.get("next")))
        flash(str(service.LOGIN_FAILED), "danger")
        return _render_login(form, 401)
    return _render_login(form)


def _render_login(form: LoginForm, status: int = 200):
    return render_template("auth/login.html", form=form, single_sign_on=oidc.is_configured(),
                           provider=current_app.config["REFERRAL_OIDC_NAME"],
                           next=safe_next(request.args.get("next"))), status


def _signed_in(user: User, next_url: str | None):
    """Start the session of a user whose first factor (password or provider) is proven, or ask for the code."""
    if user.totp_secret is not None:
        session["pending_login"] = {"user": user.id, "epoch": user.session_epoch, "at": _now(), "next": next_url}
        return redirect(url_for("auth.login_code"))
    start_session(user)
    return redirect(next_url or url_for("web.home"))


@bp.route("/login/oidc")
def login_oidc():
    """Send the browser to the identity provider, with state, nonce and a PKCE challenge."""
    if not oidc.is_configured():
        return redirect(url_for("auth.login"))
    if current_user.is_authenticated:
        return redirect(url_for("web.home"))
    session["oidc_next"] = safe_next(request.args.get("next"))
    redirect_uri = current_app.config["REFERRAL_BASE_URL"].rstrip("/") + url_for("auth.oidc_callback")
    try:
        return oidc.start(redirect_uri)
    except oidc.ProviderError as error:
        return _refused(service.refuse_provider_error(request.remote_addr, error.code))


@bp.route("/login/oidc/callback")
def oidc_callback():
    """Take the provider's answer: a verified e-mail of an active user signs them in; anything else is refused."""
    if not oidc.is_configured():
        return redirect(url_for("auth.login"))
    next_url = session.pop("oidc_next", None)
    try:
        claims = oidc.finish()
        user = service.authenticate_with_provider(claims, request.remote_addr)
    except oidc.ProviderError as error:
        return _refused(service.refuse_provider_error(request.remote_addr, error.code))
    except service.SignInRefused as refusal:
        return _refused(refusal)
    db.session.commit()
    if current_user.is_authenticated:
        logout_user()
    return _signed_in(user, next_url)


def _refused(refusal: service.SignInRefused):
    db.session.commit()  # the refusal's audit entry, nothing else
    flash(str(refusal.message), "danger")
    # To the login page itself: its password form posts there, and the provider's code leaves the address bar.
    return redirect(url_for("auth.login"))


#: Seconds between the right password and the code after which the password is asked for again.
CODE_WAIT_SECONDS = 300


@bp.route("/login/code", methods=["GET", "POST"])
def login_code():
    """The second step of signing in: a code from the authenticator app, or a recovery code."""
    pending = session.get("pending_login")
    if not isinstance(pending, dict) or _now() - pending.get("at", 0) > CODE_WAIT_SECONDS:
        session.pop("pending_login", None)
        flash(_("Sign in again: the code must follow the password within five minutes."), "warning")
        return redirect(url_for("auth.login"))
    form = CodeForm()
    if not form.validate_on_submit():
        return render_template("auth/login_code.html", form=form), 422 if form.errors else 200
    user = service.authenticate_second_factor(pending["user"], form.code.data, request.remote_addr, policy())
    db.session.commit()
    if user is not None and user.session_epoch == pending["epoch"]:
        session.pop("pending_login", None)
        start_session(user)
        if second_factor.recovery_codes_left(user) < 3:
            flash(_("Few recovery codes are left: make new ones on your profile."), "warning")
        return redirect(pending.get("next") or url_for("web.home"))
    form.code.errors = [str(second_factor.WRONG_CODE)]
    return render_template("auth/login_code.html", form=form), 401


#: What a user whose second factor is required but not set up may still reach.
_BEFORE_SECOND_FACTOR = frozenset({"auth.two_factor", "auth.enable_two_factor", "auth.logout", "auth.login",
                                   "web.language", "static"})


@bp.before_app_request
def send_to_second_factor_setup():
    """Send an administrator or coordinator without the second factor their administrator requires to set it up."""
    if request.endpoint in _BEFORE_SECOND_FACTOR or request.path.startswith(("/api/", "/fhir/")):
        return None
    if not current_user.is_authenticated or current_user.totp_secret is not None:
        return None
    if not second_factor.is_required(current_user):
        return None
    flash(_("Your administrator requires a second factor for your role. Set it up to go on."), "warning")
    return redirect(url_for("auth.two_factor"))




@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """Sign out."""
    service.logout(current_user, request.remote_addr)
    db.session.commit()
    logout_user()
    flash(_("You have signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile():
    """Show the user's profile and API tokens; create a token, then redirect so a reload posts nothing again."""
    form = TokenForm()
    if form.validate_on_submit():
        _, secret = service.create_token(current_user, web_actor(), form.label.data or "")
        db.session.commit()
        session["show_once"] = {"token": secret}
        return redirect(url_for("auth.profile"))
    if request.method == "POST":
        return _render_profile(form=form, status=400)
    once = session.pop("show_once", None) or {}
    return _render_profile(form=form, new_token=once.get("token"), new_calendar_url=once.get("calendar_url"))


def _render_profile(form=None, new_token=None, new_calendar_url=None, preferences=None, password_form=None,
                    status=200):
    if password_form is None:
        password_form = PasswordForm(formdata=None)
    if form is None:
        form = TokenForm(formdata=None)
    if preferences is None:
        preferences = PreferencesForm(formdata=None, obj=current_user)
    return render_template("auth/profile.html", form=form, new_token=new_token, password_form=password_form,
                           tokens=service.tokens_of(current_user), preferences=preferences,
                           new_calendar_url=new_calendar_url,
                           has_calendar=current_user.calendar_token_hash is not None), status


@bp.route("/profile/tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke_token(token_id: int):
    """Revoke one of the user's API tokens."""
    service.revoke_token(token_id, web_actor())
    db.session.commit()
    flash(_("The token has been revoked."), "success")
    return redirect(url_for("auth.profile"))


@bp.route("/profile/password", methods=["POST"])
@login_required
def change_password():
    """Change one's own password; every other session of the user ends, this one goes on."""
    form = PasswordForm()
    if not form.validate_on_submit():
        return _render_profile(password_form=form, status=422 if form.repeat.errors else 400)
    outcome = attempt(lambda: service.change_own_password(current_user, form.current.data, form.new.data,
                                                          web_actor()), form)
    if outcome.refusal:
        return _render_profile(password_form=form, status=outcome.refusal.status)
    session["epoch"] = current_user.session_epoch
    flash(_("Your password has been changed. You stay signed in here; other sessions have ended."), "success")
    return redirect(url_for("auth.profile"))


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset(token: str):
    """Set a new password through the one-hour, single-use link an administrator sent."""
    if service.user_for_reset_token(token) is None:
        flash(str(service.RESET_LINK_DEAD), "danger")
        return render_template("auth/reset.html", form=None), 410
    form = ResetForm()
    if not form.validate_on_submit():
        return render_template("auth/reset.html", form=form), 422 if form.errors else 200
    try:
        service.reset_password(token, form.new.data, request.remote_addr)
    except ServiceError as error:
        db.session.rollback()
        form.new.errors = list(error.errors.get("password", [])) or [str(error.message)]
        return render_template("auth/reset.html", form=form), error.status
    db.session.commit()
    if current_user.is_authenticated:
        logout_user()
    flash(_("Your new password is set. Sign in with it."), "success")
    return redirect(url_for("auth.login"))


@bp.route("/profile/preferences", methods=["POST"])
@login_required
def preferences():
    """Turn e-mail copies of notifications and the daily digest on or off."""
    form = PreferencesForm()
    if not form.validate_on_submit():
        return _render_profile(preferences=form, status=400)
    service.set_preferences(current_user, form.wants_email.data, form.wants_digest.data,
                            web_actor())
    db.session.commit()
    flash(_("Notification preferences saved."), "success")
    return redirect(url_for("auth.profile"))


@bp.route("/profile/calendar", methods=["POST"])
@login_required
def create_calendar():
    """Issue a new secret calendar feed URL, replacing the old one; show it once."""
    if not FlaskForm().validate_on_submit():
        return _render_profile(status=400)
    secret = service.issue_calendar_secret(current_user, web_actor())
    db.session.commit()
    url = current_app.config["REFERRAL_BASE_URL"].rstrip("/") + url_for("deadlines.calendar_feed", secret=secret)
    # Shown once on the next page; a reload of that page does not issue another one.
    session["show_once"] = {"calendar_url": url}
    return redirect(url_for("auth.profile"))


@bp.route("/profile/calendar/revoke", methods=["POST"])
@login_required
def revoke_calendar():
    """Make the user's calendar feed URL stop working."""
    if FlaskForm().validate_on_submit():
        service.revoke_calendar_secret(current_user, web_actor())
        db.session.commit()
        flash(_("The calendar feed URL no longer works."), "success")
    return redirect(url_for("auth.profile"))


@bp.route("/profile/two-factor")
@login_required
def two_factor():
    """Set up the second factor (a QR code for an authenticator app), or manage it once it is on."""
    once = session.pop("show_once", None) or {}
    if current_user.totp_secret is not None:
        return render_template("auth/two_factor.html", enabled=True, recovery_codes=once.get("recovery_codes"),
                               codes_left=second_factor.recovery_codes_left(current_user),
                               required=second_factor.is_required(current_user),
                               password_form=ConfirmPasswordForm(formdata=None))
    return _render_enrolment(EnrolForm(formdata=None))


def _render_enrolment(form: EnrolForm, status: int = 200):
    # The key waits in the session until a code proves the app holds it; a reload shows the same QR code.
    secret = session.get("totp_pending") or second_factor.new_secret()
    session["totp_pending"] = secret
    uri = second_factor.provisioning_uri(current_user, secret)
    qr = Markup(segno.make(uri, error="m").svg_inline(scale=5, border=2, omitsize=True))
    spaced = " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))
    return render_template("auth/two_factor.html", enabled=False, form=form, qr=qr, secret=spaced,
                           required=second_factor.is_required(current_user)), status


@bp.route("/profile/two-factor/enable", methods=["POST"])
@login_required
def enable_two_factor():
    """Turn the second factor on once the first code from the app is right; show the recovery codes once."""
    form = EnrolForm()
    if current_user.totp_secret is not None:
        return redirect(url_for("auth.two_factor"))
    if not form.validate_on_submit() or "totp_pending" not in session:
        return _render_enrolment(form, 422)
    outcome = attempt(lambda: second_factor.enable(current_user, session["totp_pending"], form.code.data,
                                                   web_actor()), form)
    if outcome.refusal:
        return _render_enrolment(form, outcome.refusal.status)
    session.pop("totp_pending", None)
    session["show_once"] = {"recovery_codes": outcome.result}
    flash(_("The second factor is on. From now on, sign-in asks for a code from the app."), "success")
    return redirect(url_for("auth.two_factor"))


def _confirmed_change(change, done: str):
    """Run ``change`` (which returns new recovery codes or None) after the user confirms their password."""
    form = ConfirmPasswordForm()
    if current_user.totp_secret is None:
        return redirect(url_for("auth.two_factor"))
    try:
        if not form.validate_on_submit():
            raise Invalid(_("Enter your password to confirm."))
        service.confirm_password(current_user, form.password.data)
        codes = change()
    except ServiceError as error:
        db.session.rollback()
        show_service_errors(form, error)
        return render_template("auth/two_factor.html", enabled=True, recovery_codes=None,
                               codes_left=second_factor.recovery_codes_left(current_user),
                               required=second_factor.is_required(current_user), password_form=form), error.status
    db.session.commit()
    if codes:
        session["show_once"] = {"recovery_codes": codes}
    flash(done, "success")
    return redirect(url_for("auth.two_factor") if codes else url_for("auth.profile"))


@bp.route("/profile/two-factor/recovery-codes", methods=["POST"])
@login_required
def renew_recovery_codes():
    """Replace the recovery codes (the old ones stop working); show the new ones once."""
    return _confirmed_change(lambda: second_factor.renew_recovery_codes(current_user, web_actor()),
                             _("New recovery codes are made; the old ones no longer work."))


@bp.route("/profile/two-factor/disable", methods=["POST"])
@login_required
def disable_two_factor():
    """Turn the second factor off (not where an administrator requires it)."""
    return _confirmed_change(lambda: second_factor.disable(current_user, web_actor()),
                             _("The second factor is off. Sign-in asks only for the password."))
