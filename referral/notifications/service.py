"""Writing and reading in-app notifications; messages name the case number, never the child."""

import sqlalchemy as sa
from flask_babel import gettext

from workflows import N_

from ..auth.models import User
from ..extensions import db, utcnow
from .models import Notification

#: Message templates by kind. Parameters: case (number), stage (name), agency (name), reason.
TEMPLATES = {
    "referral.requested": N_("Case %(case)s: %(agency)s asks your agency to take on “%(stage)s”."),
    "referral.accepted": N_("Case %(case)s: %(agency)s accepted your referral to “%(stage)s”."),
    "referral.rejected": N_("Case %(case)s: %(agency)s rejected your referral to “%(stage)s”; refer it elsewhere."),
    "referral.started": N_("Case %(case)s: %(agency)s started work on “%(stage)s”."),
    "referral.resumed": N_("Case %(case)s: %(agency)s resumed work on “%(stage)s”."),
    "referral.held": N_("Case %(case)s: %(agency)s put “%(stage)s” on hold."),
    "referral.completed": N_("Case %(case)s: %(agency)s completed “%(stage)s”."),
    "referral.failed": N_("Case %(case)s: %(agency)s could not complete “%(stage)s”."),
    "referral.cancelled": N_("Case %(case)s: the referral to “%(stage)s” was cancelled."),
    "referral.handed_over": N_("Case %(case)s: “%(stage)s” was handed over to %(agency)s."),
    "case.closed": N_("Case %(case)s was closed."),
}


def notify_agency(agency_id: int, kind: str, params: dict, *, case_id: int | None = None,
                  referral_id: int | None = None, exclude_user_id: int | None = None) -> list[Notification]:
    """Write one notification for each active user of an agency (but the one who acted)."""
    if kind not in TEMPLATES:
        raise KeyError(kind)
    users = db.session.scalars(
        sa.select(User.id).where(User.agency_id == agency_id, User.is_active_account.is_(True))
    ).all()
    notifications = [
        Notification(user_id=user_id, kind=kind, params=dict(params), case_id=case_id, referral_id=referral_id)
        for user_id in users if user_id != exclude_user_id
    ]
    db.session.add_all(notifications)
    return notifications


def render(notification: Notification) -> str:
    """Return a notification's text in the reader's language."""
    template = TEMPLATES.get(notification.kind)
    if template is None:
        return notification.kind
    params = {"case": "", "stage": "", "agency": "", **(notification.params or {})}
    return gettext(template) % params


def notifications_query(user_id: int, *, unread_only: bool = False) -> sa.Select:
    """Return a select of a user's notifications, newest first."""
    statement = sa.select(Notification).where(Notification.user_id == user_id)
    if unread_only:
        statement = statement.where(Notification.read_at.is_(None))
    return statement.order_by(Notification.created_at.desc(), Notification.id.desc())


def unread_count(user_id: int) -> int:
    """Return how many notifications a user has not read."""
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
    )


def mark_read(user_id: int, notification_ids: list[int] | None = None) -> int:
    """Mark some (or all) of a user's notifications as read; return how many changed."""
    statement = (sa.update(Notification)
                 .where(Notification.user_id == user_id, Notification.read_at.is_(None))
                 .values(read_at=utcnow()))
    if notification_ids is not None:
        statement = statement.where(Notification.id.in_(notification_ids))
    return db.session.execute(statement).rowcount
