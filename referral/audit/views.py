"""The audit log, for admins."""

from datetime import datetime, time, timedelta

import sqlalchemy as sa
from flask import Blueprint, render_template, request

from agencies import Permission

from ..extensions import db
from ..web.access import page_number, requires, web_actor
from ..web.locale import local_zone
from .models import AuditEntry
from .service import record

bp = Blueprint("audit", __name__, url_prefix="/admin/audit")


def _day(value: str):
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        return None


@bp.route("/")
@requires(Permission.view_audit)
def index():
    """List audit entries, newest first, filtered by actor, action, object and dates."""
    args = request.args
    statement = sa.select(AuditEntry).order_by(AuditEntry.occurred_at.desc(), AuditEntry.id.desc())
    if args.get("actor"):
        statement = statement.where(AuditEntry.actor_label.ilike(f"%{args['actor'].strip()}%"))
    if args.get("action"):
        statement = statement.where(AuditEntry.action.like(f"{args['action'].strip()}%"))
    if args.get("object_type"):
        statement = statement.where(AuditEntry.object_type == args["object_type"])
    if args.get("object_id"):
        statement = statement.where(AuditEntry.object_id == args["object_id"].strip())
    zone = local_zone()
    if day := _day(args.get("since", "")):
        statement = statement.where(AuditEntry.occurred_at >= datetime.combine(day, time(), zone))
    if day := _day(args.get("until", "")):
        statement = statement.where(
            AuditEntry.occurred_at < datetime.combine(day + timedelta(days=1), time(), zone)
        )
    pagination = db.paginate(statement, page=page_number(), per_page=100, error_out=False)
    actions = db.session.scalars(sa.select(AuditEntry.action).distinct().order_by(AuditEntry.action)).all()
    # The log names cases and who opened them: reading it is itself a read to account for.
    filters = {key: args[key][:64] for key in ("actor", "action", "object_type", "object_id", "since", "until")
               if args.get(key)}
    record(web_actor(), "audit.read", "audit", None, {"filters": sorted(filters), "page": pagination.page})
    db.session.commit()
    return render_template("audit/index.html", pagination=pagination, actions=actions, args=args)
