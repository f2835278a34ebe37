"""The audit log, for admins."""

from datetime import datetime, time, timedelta

from flask import Blueprint, render_template, request

from agencies import Permission

from ..extensions import db
from ..web.access import page_number, requires, web_actor
from ..web.locale import local_zone
from .service import AuditFilter, audit_query, record, recorded_actions

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
    zone = local_zone()
    since, until = _day(args.get("since", "")), _day(args.get("until", ""))
    criteria = AuditFilter(
        actor=args.get("actor", ""), action=args.get("action", ""), object_type=args.get("object_type", ""),
        object_id=args.get("object_id", ""),
        since=datetime.combine(since, time(), zone) if since else None,
        before=datetime.combine(until + timedelta(days=1), time(), zone) if until else None)
    pagination = db.paginate(audit_query(web_actor(), criteria), page=page_number(), per_page=100,
                             error_out=False)
    actions = recorded_actions()
    # The log names cases and who opened them: reading it is itself a read to account for.
    filters = {key: args[key][:64] for key in ("actor", "action", "object_type", "object_id", "since", "until")
               if args.get(key)}
    record(web_actor(), "audit.read", "audit", None, {"filters": sorted(filters), "page": pagination.page})
    db.session.commit()
    return render_template("audit/index.html", pagination=pagination, actions=actions, args=args)
