"""API v1: the agency directory."""

from flask_smorest import Blueprint

from ..api.auth import api_actor
from ..api.pagination import paginate
from ..extensions import db
from .schemas import AgencyCreateSchema, AgencyPatchSchema, AgencyQuerySchema, AgencySchema
from .service import AgencyFilter, agencies_query, create_agency, get_agency, update_agency

blp = Blueprint("agencies_api", __name__, url_prefix="/agencies",
                description="The directory of agencies (any signed-in user reads; admins write).")


@blp.route("")
@blp.arguments(AgencyQuerySchema, location="query")
@blp.response(200, AgencySchema(many=True))
def list_agencies(args):
    """List agencies, filtered by text, type, region and active flag."""
    criteria = AgencyFilter(text=args["q"], type=args.get("type"), region=args.get("region"),
                            is_active=args.get("active"))
    items, headers = paginate(agencies_query(criteria), args)
    return items, 200, headers


@blp.route("", methods=["POST"])
@blp.arguments(AgencyCreateSchema)
@blp.response(201, AgencySchema)
def post_agency(values):
    """Create an agency (admin)."""
    agency = create_agency(values, api_actor())
    db.session.commit()
    return agency


@blp.route("/<int:agency_id>")
@blp.response(200, AgencySchema)
def get_one(agency_id):
    """Show one agency."""
    return get_agency(agency_id)


@blp.route("/<int:agency_id>", methods=["PATCH"])
@blp.arguments(AgencyPatchSchema)
@blp.response(200, AgencySchema)
def patch_agency(values, agency_id):
    """Change an agency (admin); the code never changes."""
    agency = update_agency(agency_id, values, api_actor())
    db.session.commit()
    return agency
