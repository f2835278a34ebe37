"""Administrators' page of e-mails and webhook calls that did not go out, with a retry button."""

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from sqlalchemy.orm import joinedload

from agencies import Permission

from ..extensions import db
from ..web.access import page_number, requires, web_actor
from .delivery import retry as retry_delivery
from .models import Channel, Delivery, DeliveryStatus, Notification

bp = Blueprint("deliveries_admin", __name__, url_prefix="/admin/deliveries")


def troubled_deliveries() -> sa.Select:
    """Return a select of failed deliveries and of pending ones that have already failed once, newest first."""
    return (sa.select(Delivery).options(joinedload(Delivery.user), joinedload(Delivery.agency))
            .where(sa.or_(Delivery.status == DeliveryStatus.failed,
                          sa.and_(Delivery.status == DeliveryStatus.pending, Delivery.last_error.is_not(None))))
            .order_by(sa.case((Delivery.status == DeliveryStatus.failed, 0), else_=1),
                      Delivery.created_at.desc(), Delivery.id.desc()))


def events_of(deliveries: list[Delivery]) -> dict[int, tuple[str, str | None]]:
    """Return, by delivery id, the event type and case number it is about; no message text, no address book."""
    email_notes = {}
    for delivery in deliveries:
        key = delivery.dedupe_key or ""
        if delivery.channel is Channel.email and key.startswith("email:") and key[6:].isdigit():
            email_notes[delivery.id] = int(key[6:])
    notes = {note.id: note for note in db.session.scalars(
        sa.select(Notification).where(Notification.id.in_(set(email_notes.values()))))} if email_notes else {}
    about = {}
    for delivery in deliveries:
        if delivery.channel is Channel.webhook:
            about[delivery.id] = (delivery.payload.get("event", ""), delivery.payload.get("case_number"))
            continue
        note = notes.get(email_notes.get(delivery.id))
        about[delivery.id] = (note.kind, (note.params or {}).get("case")) if note is not None else ("", None)
    return about


@bp.route("/")
@requires(Permission.manage_agencies)
def index():
    """List deliveries that failed or are being retried: channel, recipient, event, attempts, last error."""
    pagination = db.paginate(troubled_deliveries(), page=page_number(), per_page=50, error_out=False)
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
