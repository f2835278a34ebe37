"""API v1: referrals, the agency inbox and the lifecycle actions."""

from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint

from ..api.auth import api_actor
from ..api.pagination import PageArgs, paginate
from ..errors import NotFound
from ..extensions import db
from . import service as referrals
from .schemas import ACTIONS, ActionSchema, ReferralQuerySchema, ReferralSchema, referral_view

blp = Blueprint("referrals_api", __name__, url_prefix="/referrals",
                description="Referrals: the agency's incoming and outgoing boxes and the lifecycle actions.")


class ReferralListArgs(ReferralQuerySchema, PageArgs):
    pass


@blp.route("")
@blp.arguments(ReferralListArgs, location="query")
@blp.response(200, ReferralSchema(many=True))
def list_referrals(args):
    """List the caller's agency's incoming or outgoing referrals, most urgent first."""
    criteria = (api_actor(), args["box"], args["status"], args["q"])
    items, headers = paginate(referrals.inbox_query(*criteria), args, count=referrals.inbox_count_query(*criteria))
    return [referral_view(referral) for referral in items], 200, headers


@blp.route("/<int:referral_id>")
@blp.response(200, ReferralSchema)
def get_referral(referral_id):
    """Show one referral."""
    referral = referrals.read_referral(referral_id, api_actor(), via="api")
    db.session.commit()
    return referral_view(referral)


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
    return referral_view(referral)
