"""API v1: the oversight report of referrals (counts only), for supervisors, coordinators and admins."""

from flask_smorest import Blueprint

from ..api.auth import api_actor
from . import service as reports
from .schemas import ReportArgs, ReportSchema

blp = Blueprint("reports_api", __name__, url_prefix="/reports",
                description="Oversight reports: counts and durations of referrals, never names or case numbers.")


@blp.route("/referrals")
@blp.arguments(ReportArgs, location="query")
@blp.response(200, ReportSchema)
def referral_report(args):
    """Report on the referrals created in a period: per agency, per stage, per route, per month, totals.

    Supervisors get their agency's figures, coordinators their region's, administrators everyone's; staff 403.
    """
    return reports.referral_report(api_actor(), args["first"], args["last"], region=args["region"],
                                   agency_code=args["agency"])
