"""The notification centre, and the unread count shown in every page's top bar."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import ngettext
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from ..cases.service import openable_cases
from ..extensions import db
from ..web.access import page_number, safe_next, web_actor
from . import service

bp = Blueprint("notifications", __name__, url_prefix="/notifications")


@bp.route("/")
@login_required
def index():
    """List the user's notifications, newest first, unread ones highlighted."""
    unread_only = request.args.get("show") == "unread"
    statement = service.notifications_query(current_user.id, unread_only=unread_only)
    pagination = db.paginate(statement, page=page_number(), per_page=50, error_out=False)
    # A notice stays (it is the user's own), but it links only to a case the user can still open.
    openable = openable_cases({notification.case_id for notification in pagination.items}, web_actor())
    return render_template("notifications/index.html", pagination=pagination, render=service.render,
                           unread_only=unread_only, form=FlaskForm(), openable=openable)


@bp.route("/read", methods=["POST"])
@login_required
def mark_read():
    """Mark one notification (``id``) or all of them as read."""
    form = FlaskForm()
    if form.validate_on_submit():
        raw = request.form.get("id", "")
        changed = service.mark_read(current_user.id, [int(raw)] if raw.isdigit() else None)
        db.session.commit()
        if not raw:
            flash(ngettext("%(num)d notification marked as read.", "%(num)d notifications marked as read.",
                           changed), "success")
    return redirect(safe_next(request.form.get("next")) or url_for(".index"))
