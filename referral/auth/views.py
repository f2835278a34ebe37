"""Sign in, sign out, and the user's own profile with API tokens."""

import time
from datetime import timedelta

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm

from ..errors import ServiceError
from ..extensions import db, login_manager
from ..web.access import safe_next, show_service_errors, web_actor
from . import service
from .forms import LoginForm, PasswordForm, PreferencesForm, ResetForm, TokenForm
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
    """Sign a user in on this browser, stamped with their session epoch and the time."""
    login_user(user)
    session.permanent = True  # the cookie itself expires with PERMANENT_SESSION_LIFETIME (12 hours)
    now = _now()
    session["epoch"], session["started"], session["seen"] = user.session_epoch, now, now


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """Return the session's user while the session holds: same epoch, not idle, not older than 12 hours."""
    user = db.session.get(User, int(user_id)) if user_id.isdigit() else None
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
        user = service.authenticate(form.email.data, form.password.data, request.remote_addr, policy())
        db.session.commit()
        if user is not None:
            start_session(user)
            return redirect(safe_next(request.args.get("next")) or url_for("web.home"))
        flash(str(service.LOGIN_FAILED), "danger")
        return render_template("auth/login.html", form=form), 401
    return render_template("auth/login.html", form=form)




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
    try:
        service.change_own_password(current_user, form.current.data, form.new.data, web_actor())
    except ServiceError as error:
        db.session.rollback()
        show_service_errors(form, error)
        return _render_profile(password_form=form, status=error.status)
    db.session.commit()
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
