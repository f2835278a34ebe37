"""API schemas of the workflows designer."""

import marshmallow as ma

from . import service


class DefinitionDocumentSchema(ma.Schema):
    """A workflow definition as in DESIGN.md section 4; checked by the validator, not here."""

    class Meta:
        unknown = ma.INCLUDE

    key = ma.fields.Raw(metadata={"description": "[a-z0-9-]+, unique", "example": "returned-child"})
    name = ma.fields.Raw()
    description = ma.fields.Raw()
    calendar = ma.fields.Raw(metadata={"description": "ISO country code for working days, e.g. KZ"})
    stages = ma.fields.Raw(metadata={"description": "list of stages"})
    transitions = ma.fields.Raw(metadata={"description": "list of transitions"})


class ProblemSchema(ma.Schema):
    code = ma.fields.String()
    severity = ma.fields.String()
    message = ma.fields.String()
    stages = ma.fields.List(ma.fields.String())
    transition = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String(), allow_none=True)


class ValidationResultSchema(ma.Schema):
    valid = ma.fields.Boolean()
    problems = ma.fields.List(ma.fields.Nested(ProblemSchema))


class VersionSummarySchema(ma.Schema):
    version = ma.fields.Integer(attribute="number")
    published_at = ma.fields.AwareDateTime()
    published_by = ma.fields.Function(lambda v: v.published_by.name if v.published_by else None)
    note = ma.fields.String(allow_none=True)


class WorkflowSummarySchema(ma.Schema):
    key = ma.fields.String()
    name = ma.fields.String()
    latest_version = ma.fields.Integer(metadata={"description": "0 before the first publication"})
    has_draft = ma.fields.Boolean()
    draft_updated_at = ma.fields.AwareDateTime(allow_none=True)


def _draft_problems(workflow) -> list[dict]:
    return service.problem_dicts(service.check_definition(workflow.draft)) if workflow.draft is not None else []


class WorkflowSchema(WorkflowSummarySchema):
    versions = ma.fields.List(ma.fields.Nested(VersionSummarySchema))
    draft = ma.fields.Dict(allow_none=True, metadata={"description": "the draft definition, if any"})
    draft_problems = ma.fields.List(ma.fields.Nested(ProblemSchema))
    definition = ma.fields.Dict(allow_none=True, metadata={"description": "the latest published definition"})

    #: Fields that are not columns of the workflow: the draft's problems now, the newest version's document.
    _WORKED_OUT = {
        "draft_problems": _draft_problems,
        "definition": lambda workflow: workflow.versions[-1].document if workflow.versions else None,
    }

    def get_attribute(self, obj, attr, default):
        worked_out = self._WORKED_OUT.get(attr)
        return worked_out(obj) if worked_out else super().get_attribute(obj, attr, default)


class VersionSchema(VersionSummarySchema):
    key = ma.fields.Function(lambda v: v.workflow.key)
    name = ma.fields.Function(lambda v: v.document.get("name"))
    definition = ma.fields.Dict(attribute="document")


class PublishedSchema(ma.Schema):
    key = ma.fields.String()
    version = ma.fields.Integer()


class PublishArgsSchema(ma.Schema):
    note = ma.fields.String(load_default=None, allow_none=True, validate=ma.validate.Length(max=2000))
