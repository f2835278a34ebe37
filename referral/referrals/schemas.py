"""Referral schemas of the API."""

import marshmallow as ma

from agencies import AgencyType
from workflows import Stage
from workflows.lifecycle import Action, ReferralStatus

from ..api.dumping import FastDumpSchema


class _CodeSchema(ma.Schema):
    code = ma.fields.String()


class _NumberSchema(ma.Schema):
    number = ma.fields.String()


class _EmailSchema(ma.Schema):
    email = ma.fields.String()


class ReferralSchema(FastDumpSchema):
    """A referral as DESIGN.md section 7 describes it; agencies by code."""

    id = ma.fields.Integer()
    case_id = ma.fields.Integer()
    case_number = ma.fields.Pluck(_NumberSchema, "number", attribute="case")
    from_stage = ma.fields.String(allow_none=True)
    to_stage = ma.fields.String()
    from_agency = ma.fields.Pluck(_CodeSchema, "code", allow_none=True)
    to_agency = ma.fields.Pluck(_CodeSchema, "code")
    assignee = ma.fields.Pluck(_EmailSchema, "email", allow_none=True,
                               metadata={"description": "e-mail of the user of the receiving agency who works it"})
    mode = ma.fields.String()
    status = ma.fields.Enum(ReferralStatus, by_value=True)
    status_reason = ma.fields.String(allow_none=True)
    reason = ma.fields.String(allow_none=True)
    outcome = ma.fields.String(allow_none=True)
    version = ma.fields.Integer()
    created_at = ma.fields.AwareDateTime()
    responded_at = ma.fields.AwareDateTime(allow_none=True)
    closed_at = ma.fields.AwareDateTime(allow_none=True)
    respond_by = ma.fields.AwareDateTime(allow_none=True)
    complete_by = ma.fields.AwareDateTime(allow_none=True)


class ReferralCreateSchema(ma.Schema):
    to_stage = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=64))
    to_agency = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=64),
                                 metadata={"description": "the receiving agency's code"})
    reason = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=5000))
    from_stage = ma.fields.String(load_default=None, allow_none=True,
                                  metadata={"description": "which of the sender's stages, if it holds several"})


class ActionSchema(ma.Schema):
    version = ma.fields.Integer(required=True, strict=True)
    reason = ma.fields.String(load_default=None, allow_none=True, validate=ma.validate.Length(max=5000))
    outcome = ma.fields.String(load_default=None, allow_none=True, validate=ma.validate.Length(max=5000))


class ReferralQuerySchema(ma.Schema):
    box = ma.fields.String(load_default="incoming", validate=ma.validate.OneOf(["incoming", "outgoing"]))
    status = ma.fields.String(load_default=None, validate=ma.validate.OneOf(
        [s.value for s in ReferralStatus] + ["open", "closed"]))
    q = ma.fields.String(load_default="", metadata={"description": "part of a case number"})
    assignee = ma.fields.String(load_default=None, validate=ma.validate.Length(min=1, max=254), metadata={
        "description": "me: assigned to the caller; none: to nobody; or a user's e-mail"})


class AssignSchema(ma.Schema):
    version = ma.fields.Integer(required=True, strict=True)
    assignee = ma.fields.Email(required=True, allow_none=True, metadata={
        "description": "e-mail of an active user of the receiving agency, or null to unassign"})


class CandidateAgencySchema(ma.Schema):
    id = ma.fields.Integer()
    code = ma.fields.String()
    name = ma.fields.String()
    name_ru = ma.fields.String(allow_none=True)
    name_kk = ma.fields.String(allow_none=True)
    type = ma.fields.Enum(AgencyType, by_value=True)
    region = ma.fields.String()
    district = ma.fields.String(allow_none=True)


def _translation(stage: Stage, language: str) -> str | None:
    name = stage.name_in(language)
    return name if name != stage.name else None


class RouteSchema(ma.Schema):
    from_stage = ma.fields.String()
    to_stage = ma.fields.Function(lambda route: route.stage.key)
    name = ma.fields.Function(lambda route: route.stage.name)
    name_ru = ma.fields.Function(lambda route: _translation(route.stage, "ru"), allow_none=True,
                                 metadata={"description": "the stage's name in Russian, if the workflow gives one"})
    name_kk = ma.fields.Function(lambda route: _translation(route.stage, "kk"), allow_none=True,
                                 metadata={"description": "the stage's name in Kazakh, if the workflow gives one"})
    agency_type = ma.fields.Function(lambda route: route.stage.agency_type)
    label = ma.fields.String(allow_none=True)
    mode = ma.fields.String()
    requires = ma.fields.List(ma.fields.String())
    consent_ok = ma.fields.Boolean()
    candidates = ma.fields.List(ma.fields.Nested(CandidateAgencySchema))


ACTIONS = [action.value for action in Action]


class MessageSchema(ma.Schema):
    """A message on a referral: the writer's agency by code and the writer by name."""

    id = ma.fields.Integer()
    text = ma.fields.String()
    agency = ma.fields.Pluck(_CodeSchema, "code")
    author = ma.fields.String(attribute="author_name")
    created_at = ma.fields.AwareDateTime()


class MessageCreateSchema(ma.Schema):
    text = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=5000))
