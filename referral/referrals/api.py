"""API v1: referrals, the agency inbox and the lifecycle actions; a case's routes and referring it."""

from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint

from agencies import Visibility

from ..api.auth import api_actor
from ..api.pagination import PageArgs, page_end, paginate
from ..cases import service as cases
from ..errors import NotFound
from ..extensions import db
from . import messages
from . import service as referrals
from .schemas import (
    ACTIONS,
    ActionSchema,
    AssignSchema,
    MessageCreateSchema,
    MessageSchema,
    ReferralCreateSchema,
    ReferralQuerySchema,
    ReferralSchema,
    RouteSchema,
)

blp = Blueprint("referrals_api", __name__, url_prefix="/referrals",
                description="Referrals: the agency's incoming and outgoing boxes and the lifecycle actions.")


#: Routing lives under its case's address: ``/cases/{id}/routes`` and ``/cases/{id}/referrals``.
case_blp = Blueprint("case_referrals_api", __name__, url_prefix="/cases",
                     description="Routing a case: the stages it may go to next, and referring it to an agency.")


class ReferralListArgs(ReferralQuerySchema, PageArgs):
    pass


@blp.route("")
@blp.arguments(ReferralListArgs, location="query")
@blp.response(200, ReferralSchema(many=True))
def list_referrals(args):
    """List the caller's agency's incoming or outgoing referrals, most urgent first."""
    criteria = (api_actor(), args["box"], args["status"], args["q"], args["assignee"])
    items, headers = paginate(referrals.inbox_page_query(*criteria, end=page_end(args)), args,
                              count=referrals.inbox_count_query(*criteria), rows=True)
    return items, 200, headers


@blp.route("/<int:referral_id>")
@blp.response(200, ReferralSchema)
def get_referral(referral_id):
    """Show one referral."""
    referral = referrals.read_referral(referral_id, api_actor(), via="api")
    db.session.commit()
    return referral


@blp.route("/<int:referral_id>/assign", methods=["POST"])
@blp.arguments(AssignSchema)
@blp.response(200, ReferralSchema)
@blp.alt_response(403, response="FORBIDDEN")
@blp.alt_response(409, response="CONFLICT")
def assign(values, referral_id):
    """Assign the referral to a user of the receiving agency, or to nobody (``null``), naming the version read.

    Staff take it or give it back; supervisors assign anyone active in the agency. 422 with problem
    ``assignee_not_in_agency``; 409 for a stale version or a closed referral.
    """
    referral = referrals.assign(referral_id, values["assignee"], values["version"], api_actor())
    db.session.commit()
    return referral


@blp.route("/<int:referral_id>/messages")
@blp.response(200, MessageSchema(many=True))
def list_messages(referral_id):
    """List the conversation between the referral's two agencies, oldest first (coordinators in scope read it)."""
    found = messages.messages_of(referral_id, api_actor())
    db.session.commit()
    return found


@blp.route("/<int:referral_id>/messages", methods=["POST"])
@blp.arguments(MessageCreateSchema)
@blp.response(201, MessageSchema)
def post_message(values, referral_id):
    """Write to the other agency of the referral, also before it accepts; it is told, without the text."""
    message = messages.post_message(referral_id, values["text"], api_actor())
    db.session.commit()
    return message


@blp.route("/<int:referral_id>/<action>", methods=["POST"])
@blp.arguments(ActionSchema)
@blp.response(200, ReferralSchema)
def act(values, referral_id, action):
    """Accept, reject, start, hold, resume, complete, fail or cancel, naming the version read.

    409 for a stale version or an action the status does not allow.
    """
    if action not in ACTIONS:
        raise NotFound(_l("No such action."))
    referral = referrals.act(referral_id, action, values["version"], api_actor(),
                             reason=values["reason"], outcome=values["outcome"])
    db.session.commit()
    return referral


@case_blp.route("/<int:case_id>/routes")
@case_blp.response(200, RouteSchema(many=True))
def routes(case_id):
    """List the next stages the caller's agency may refer the case to, each with candidate agencies."""
    actor = api_actor()
    case, visibility = cases.get_case(case_id, actor, audit=False)
    if visibility is not Visibility.full:
        return []
    return referrals.routes_for(case, actor)


@case_blp.route("/<int:case_id>/referrals", methods=["POST"])
@case_blp.arguments(ReferralCreateSchema)
@case_blp.response(201, ReferralSchema)
def refer(values, case_id):
    """Refer the case to an agency for a stage; rule violations are 422 with problems."""
    referral = referrals.refer(case_id, values["to_stage"], values["to_agency"], values["reason"], api_actor(),
                               from_stage=values.get("from_stage"))
    db.session.commit()
    return referral
