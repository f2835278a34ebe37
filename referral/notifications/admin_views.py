"""Administrators' page of e-mails and webhook calls that did not go out, with a retry button."""

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm

from agencies import Permission

from ..extensions import db
from ..web.access import page_number, requires, web_actor
from .delivery import events_of, troubled_deliveries
from .delivery import retry as retry_delivery
from .models import DeliveryStatus

bp = Blueprint("deliveries_admin", __name__, url_prefix="/admin/deliveries")


@bp.route("/")
@requires(Permission.manage_agencies)
def index():
    """List deliveries that failed or are being retried: channel, recipient, event, attempts, last error."""
    pagination = db.paginate(troubled_deliveries(web_actor()), page=page_number(), per_page=50, error_out=False)
    return render_template("admin/deliveries.html", pagination=pagination,
                           about=events_of(pagination.items), failed=DeliveryStatus.failed)


@bp.route("/<int:delivery_id>/retry", methods=["POST"])
@requires(Permission.manage_agencies)
def retry(delivery_id: int):
    """Put a failed delivery back in the queue."""
    form = FlaskForm()
    if form.validate_on_submit():
        retry_delivery(delivery_id, web_actor())
        db.session.commit()
        flash(_("The delivery is queued again; the scheduler will try it shortly."), "success")
    return redirect(url_for(".index"))
