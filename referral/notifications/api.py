"""API v1: the caller's notifications."""

import marshmallow as ma
from flask import g
from flask_smorest import Blueprint

from ..api.pagination import PageArgs, paginate
from ..extensions import db
from ..security import MAX_ID
from . import service as notifications

blp = Blueprint("notifications_api", __name__, url_prefix="/notifications",
                description="The caller's in-app notifications, newest first.")


class NotificationArgs(PageArgs):
    unread = ma.fields.Boolean(load_default=False)


class NotificationSchema(ma.Schema):
    id = ma.fields.Integer()
    kind = ma.fields.String()
    message = ma.fields.Function(notifications.render)
    case_id = ma.fields.Integer(allow_none=True)
    case_number = ma.fields.Function(lambda n: (n.params or {}).get("case"))
    referral_id = ma.fields.Integer(allow_none=True)
    created_at = ma.fields.AwareDateTime()
    read_at = ma.fields.AwareDateTime(allow_none=True)


class ReadArgs(ma.Schema):
    ids = ma.fields.List(ma.fields.Integer(validate=ma.validate.Range(min=1, max=MAX_ID)), load_default=None,
                         metadata={"description": "which notifications; all when omitted"})


@blp.route("")
@blp.arguments(NotificationArgs, location="query")
@blp.response(200, NotificationSchema(many=True))
def list_notifications(args):
    """List the caller's notifications."""
    statement = notifications.notifications_query(g.api_user.id, unread_only=args["unread"])
    items, headers = paginate(statement, args)
    return items, 200, headers


@blp.route("/read", methods=["POST"])
@blp.arguments(ReadArgs)
@blp.response(200, ma.Schema.from_dict({"marked": ma.fields.Integer()}))
def mark_read(args):
    """Mark notifications as read."""
    marked = notifications.mark_read(g.api_user.id, args["ids"])
    db.session.commit()
    return {"marked": marked}
