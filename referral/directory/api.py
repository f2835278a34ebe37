"""API v1: the agency directory."""

from flask_smorest import Blueprint

from ..api.auth import api_actor
from ..api.pagination import paginate
from ..extensions import db
from .models import Agency
from .schemas import AgencyAdminSchema, AgencyPatchSchema, AgencyQuerySchema, AgencySchema, AgencyWriteSchema
from .service import AgencyFilter, agencies_query, create_agency, get_agency, rotate_webhook_secret, update_agency

blp = Blueprint("agencies_api", __name__, url_prefix="/agencies",
                description="The directory of agencies (any signed-in user reads; admins write).")


class _Answer:
    """An agency as an admin's POST or PATCH answer shows it: with the new webhook secret, once, if one was
    generated (``AgencyAdminSchema.webhook_secret`` reads ``new_webhook_secret``, which an agency never has)."""

    def __init__(self, agency: Agency, new_webhook_secret: str | None):
        self._agency = agency
        if new_webhook_secret:
            self.new_webhook_secret = new_webhook_secret

    def __getattr__(self, name):
        return getattr(self._agency, name)


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
@blp.arguments(AgencyWriteSchema)
@blp.response(201, AgencyAdminSchema)
def post_agency(values):
    """Create an agency (admin); with ``"rotate_webhook_secret": true`` the answer shows its webhook secret once."""
    rotate = values.pop("rotate_webhook_secret", False)
    actor = api_actor()
    agency = create_agency(values, actor)
    secret = rotate_webhook_secret(agency.id, actor) if rotate else None
    db.session.commit()
    return _Answer(agency, secret)


@blp.route("/<int:agency_id>")
@blp.response(200, AgencySchema)
def get_one(agency_id):
    """Show one agency."""
    return get_agency(agency_id)


@blp.route("/<int:agency_id>", methods=["PATCH"])
@blp.arguments(AgencyPatchSchema)
@blp.response(200, AgencyAdminSchema)
def patch_agency(values, agency_id):
    """Change an agency (admin); the code never changes. ``"rotate_webhook_secret": true`` generates a new
    webhook secret, shown once as ``webhook_secret`` in this answer; the old one stays valid for a grace period."""
    rotate = values.pop("rotate_webhook_secret", False)
    actor = api_actor()
    agency = update_agency(agency_id, values, actor)
    secret = rotate_webhook_secret(agency.id, actor) if rotate else None
    db.session.commit()
    return _Answer(agency, secret)
