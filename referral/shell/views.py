"""Home page, language switcher and health check."""

import sqlalchemy as sa
from flask import Blueprint, current_app, jsonify, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from agencies import Permission, has_permission

from ..actors import Actor
from ..auth.service import set_locale
from ..extensions import db
from ..referrals.views import agency_inbox_counts, assigned_to_me
from ..reports.service import home_counts
from ..web.access import safe_next
from .navigation import unread_notifications

bp = Blueprint("web", __name__)


@bp.route("/")
@login_required
def home():
    """Show what the signed-in user can do with their own numbers: inbox, assigned, due today, overdue."""
    counts = agency_inbox_counts() if has_permission(current_user.role, Permission.act_on_referrals) else None
    mine = assigned_to_me() if counts is not None else None
    return render_template("home.html", inbox=counts, unread=unread_notifications(), mine=mine,
                           clocks=home_counts(Actor.of(current_user._get_current_object())))


@bp.route("/language", methods=["POST"])
def language():
    """Switch the interface language and remember it for the user."""
    locale = request.form.get("locale", "")
    if locale in current_app.config["LANGUAGES"]:
        session["locale"] = locale
        if not current_user.is_authenticated:
            # Chosen on the sign-in page: the user's own choice once they are signed in (see start_session).
            session["locale_chosen_signed_out"] = locale
        else:
            set_locale(current_user, locale, Actor.of(current_user, request.remote_addr))
            db.session.commit()
    return redirect(safe_next(request.form.get("next")) or url_for("web.home"))


@bp.route("/healthz")
def healthz():
    """Report whether the service and its database answer."""
    try:
        db.session.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError:
        current_app.logger.exception("health check: database unreachable")
        return jsonify({"status": "error", "database": _("unreachable")}), 503
    return jsonify({"status": "ok", "database": "ok"})
