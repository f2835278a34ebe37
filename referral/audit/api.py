"""API v1: the audit log, for those who may read it (administrators)."""

from flask_smorest import Blueprint

from ..api.auth import api_actor
from ..api.pagination import paginate
from ..extensions import db
from .schemas import AuditEntrySchema, AuditQueryArgs
from .service import AuditFilter, audit_query, record

blp = Blueprint("audit_api", __name__, url_prefix="/audit",
                description="The audit log, newest first: who did or read what, when and from where.")


@blp.route("")
@blp.arguments(AuditQueryArgs, location="query")
@blp.response(200, AuditEntrySchema(many=True))
@blp.alt_response(403, response="FORBIDDEN")
def list_entries(args):
    """List audit entries, filtered as the audit page filters them; the read is itself audited. 403: not an admin."""
    actor = api_actor()
    criteria = AuditFilter(actor=args["actor"], action=args["action"], object_type=args["object_type"],
                           object_id=args["object_id"], since=args["since"], before=args["before"])
    items, headers = paginate(audit_query(actor, criteria), args)
    # The log names cases and who opened them: reading it is a read to account for, as on the page.
    filters = sorted(key for key in ("actor", "action", "object_type", "object_id", "since", "before") if args[key])
    record(actor, "audit.read", "audit", None, {"filters": filters, "page": args["page"], "via": "api"})
    db.session.commit()
    return items, 200, headers
