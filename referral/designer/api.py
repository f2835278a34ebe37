"""API v1: workflow validation, drafts, publication and versions."""

from flask import request
from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint

from workflows import is_valid, parse_document

from ..api.auth import api_actor
from ..api.pagination import PageArgs, paginate
from ..errors import Invalid
from ..extensions import db
from . import service
from .schemas import (
    DefinitionDocumentSchema,
    PublishArgsSchema,
    PublishedSchema,
    ValidationResultSchema,
    VersionSchema,
    WorkflowSchema,
    WorkflowSummarySchema,
)

blp = Blueprint("workflows_api", __name__, url_prefix="/workflows",
                description="Workflow definitions: validate, draft, publish (coordinators), read versions.")


_YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml")


def _document():
    """Return the body as a mapping: JSON, or YAML when the Content-Type says so; raise Invalid otherwise."""
    if request.mimetype in _YAML_TYPES:
        return service.parse_text(request.get_data(), "yaml")
    data = request.get_json(silent=True)
    if data is None:
        raise Invalid(_l("The body must be a workflow definition in JSON or YAML."))
    return data


_BODY = {"content": {"application/json": {"schema": DefinitionDocumentSchema},
                     "application/yaml": {"schema": {"type": "string"}}}}


@blp.route("/validate", methods=["POST"])
@blp.doc(requestBody=_BODY)
@blp.response(200, ValidationResultSchema)
def validate_definition():
    """Validate a definition (JSON, or YAML text); every problem is listed, nothing is stored."""
    if request.mimetype in _YAML_TYPES:
        data, problems = parse_document(request.get_data(), "yaml")
        if data is None:
            return {"valid": False, "problems": service.problem_dicts(problems)}
        problems = service.check_definition(data)
    else:
        problems = service.check_definition(_document())
    return {"valid": is_valid(problems), "problems": service.problem_dicts(problems)}


@blp.route("")
@blp.arguments(PageArgs, location="query")
@blp.response(200, WorkflowSummarySchema(many=True))
def list_workflows(args):
    """List workflows with their latest version and draft state."""
    items, headers = paginate(service.workflows_query(), args)
    return items, 200, headers


@blp.route("", methods=["POST"])
@blp.doc(requestBody=_BODY)
@blp.response(200, WorkflowSchema, description="The draft replaced an earlier one.")
@blp.alt_response(201, schema=WorkflowSchema, description="A new workflow was created with this draft.")
def save_draft():
    """Create or replace the draft of the workflow the definition names (coordinator, admin)."""
    result = service.save_draft(_document(), api_actor())
    db.session.commit()
    return result.workflow, 201 if result.created else 200


@blp.route("/<key>")
@blp.response(200, WorkflowSchema)
def get_workflow(key):
    """Show a workflow: its versions, its draft with the draft's problems, the latest definition."""
    return service.get_workflow(key)


@blp.route("/<key>/publish", methods=["POST"])
@blp.arguments(PublishArgsSchema, required=False)
@blp.response(201, PublishedSchema)
def publish(args, key):
    """Publish the draft as the next version (coordinator, admin); 422 with the problems if it has errors."""
    version = service.publish(key, api_actor(), note=(args or {}).get("note"))
    db.session.commit()
    return {"key": key, "version": version.number}


@blp.route("/<key>/versions/<int:number>")
@blp.response(200, VersionSchema)
def get_version(key, number):
    """Show one published version; it never changes."""
    return service.get_version(key, number)
