"""The deadlines page for supervisors and coordinators, and each user's calendar feed of open deadlines."""

from flask import Blueprint, Response, abort, current_app, render_template, request
from flask_babel import lazy_gettext as _l

from agencies import REGIONS, Permission, is_region_code

from ..actors import Actor
from ..audit.service import record
from ..auth.service import user_for_calendar_secret
from ..extensions import csrf, db
from ..web.access import page_number, requires, web_actor
from ..web.labels import by_agency_name
from ..web.locale import select_locale
from . import service as clocks
from .calendar import agency_feed, stage_name
from .models import DeadlineKind, DeadlineStatus

bp = Blueprint("deadlines", __name__)

KIND_LABELS = {DeadlineKind.respond: _l("Answer"), DeadlineKind.complete: _l("Completion"),
               DeadlineKind.review: _l("Review")}
STATUS_LABELS = {DeadlineStatus.pending: _l("Open"), DeadlineStatus.met: _l("Met"),
                 DeadlineStatus.missed: _l("Missed"), DeadlineStatus.cancelled: _l("Cancelled")}


def _choice(value: str | None, allowed) -> str | None:
    return value if value in allowed else None


@bp.route("/deadlines/")
@requires(Permission.view_deadlines_dashboard)
def index():
    """List the deadlines the user may see, overdue first, filtered by agency, region, kind and status."""
    args = request.args
    actor = web_actor()
    # Open deadlines are what a supervisor acts on; "all" shows closed ones too.
    status = args.get("status", DeadlineStatus.pending.value)
    filters = {
        "status": _choice(status, {s.value for s in DeadlineStatus}),
        "kind": _choice(args.get("kind"), {k.value for k in DeadlineKind}),
        "agency_code": args.get("agency") or None,
        "region": args.get("region") if is_region_code(args.get("region") or "") else None,
        "overdue": True if args.get("overdue") == "1" else None,
    }
    statement = clocks.deadlines_query(actor, **filters)
    pagination = db.paginate(statement, page=page_number(), per_page=50, error_out=False)
    agencies = by_agency_name(clocks.agencies_with_deadlines(actor))
    return render_template("deadlines/index.html", pagination=pagination, args=args, status=status,
                           agencies=agencies, regions=REGIONS, locale=select_locale(), kinds=KIND_LABELS,
                           statuses=STATUS_LABELS, stage_name=stage_name, pending=DeadlineStatus.pending)


@bp.route("/calendar/<secret>.ics")
@csrf.exempt
def calendar_feed(secret: str):
    """Serve the open deadlines of the feed owner's agency as iCalendar; the secret in the URL is the key."""
    user = user_for_calendar_secret(secret)
    if user is None:
        abort(404)
    body = agency_feed(user.agency_id, current_app.config["REFERRAL_BASE_URL"], user.locale or "en")
    # The feed lists case numbers: every fetch is an export, and a leaked URL shows up in the audit log.
    record(Actor.of(user, request.remote_addr), "calendar.fetch", "user", user.id,
           {"agency": user.agency.code, "events": body.count(b"BEGIN:VEVENT")})
    db.session.commit()
    return Response(body, mimetype="text/calendar", headers={
        "Cache-Control": "private, no-store", "Content-Disposition": "inline; filename=deadlines.ics"})
