"""API v1: moving the open cases of a workflow version to another version."""

from flask_smorest import Blueprint

from ..api.auth import api_actor
from ..extensions import db
from . import service
from .schemas import MigrationInSchema, MigrationSchema

blp = Blueprint("migrations_api", __name__, url_prefix="/workflows",
                description="Moving running cases between published versions of a workflow (coordinators).")


@blp.route("/<key>/migrations", methods=["POST"])
@blp.arguments(MigrationInSchema)
@blp.response(200, MigrationSchema)
@blp.alt_response(403, response="FORBIDDEN")
@blp.alt_response(404, response="NOT_FOUND")
def migrate(values, key):
    """Move the open cases of one version to another (coordinators, admins); ``dry_run`` only says what would
    happen. Applying moves every movable case in one transaction."""
    result = service.migrate(key, values["from_version"], values["to_version"], values["stage_map"],
                             values["dry_run"], api_actor())
    db.session.commit()
    return result
