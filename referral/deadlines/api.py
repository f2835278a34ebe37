"""API v1: deadlines the caller's agency (or region, for coordinators) is responsible for."""

import marshmallow as ma
from flask_smorest import Blueprint

from ..api.auth import api_actor
from ..api.pagination import PageArgs, paginate
from ..extensions import utcnow
from . import service as clocks
from .models import DeadlineKind, DeadlineStatus

blp = Blueprint("deadlines_api", __name__, url_prefix="/deadlines",
                description="Deadlines: respond, complete and review clocks of referrals.")


class DeadlineArgs(PageArgs):
    status = ma.fields.String(load_default=None, validate=ma.validate.OneOf([s.value for s in DeadlineStatus]))
    overdue = ma.fields.Boolean(load_default=None, metadata={"description": "pending and past due"})
    kind = ma.fields.String(load_default=None, validate=ma.validate.OneOf([k.value for k in DeadlineKind]))
    agency = ma.fields.String(load_default=None, metadata={"description": "an agency code"})
    region = ma.fields.String(load_default=None)


class DeadlineSchema(ma.Schema):
    id = ma.fields.Integer()
    referral_id = ma.fields.Integer()
    case_id = ma.fields.Integer()
    case_number = ma.fields.Function(lambda d: d.referral.case.number)
    stage = ma.fields.Function(lambda d: d.referral.to_stage)
    agency = ma.fields.Function(lambda d: d.agency.code)
    kind = ma.fields.Enum(DeadlineKind, by_value=True)
    status = ma.fields.Enum(DeadlineStatus, by_value=True)
    duration = ma.fields.String()
    started_at = ma.fields.AwareDateTime()
    due_at = ma.fields.AwareDateTime()
    closed_at = ma.fields.AwareDateTime(allow_none=True)
    overdue = ma.fields.Function(lambda d: d.status is DeadlineStatus.pending and d.due_at < utcnow())
    reminders_sent = ma.fields.Integer()
    fired = ma.fields.List(ma.fields.Dict(), metadata={"description": "what the scheduler did, and how late"})


@blp.route("")
@blp.arguments(DeadlineArgs, location="query")
@blp.response(200, DeadlineSchema(many=True))
def list_deadlines(args):
    """List deadlines, overdue first when asked; staff see their agency's, coordinators their region's."""
    statement = clocks.deadlines_query(api_actor(), status=args["status"], overdue=args["overdue"],
                                       kind=args["kind"], agency_code=args["agency"], region=args["region"])
    items, headers = paginate(statement, args)
    return items, 200, headers
