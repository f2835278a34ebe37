"""Referral schemas of the API."""

import marshmallow as ma

from agencies import AgencyType
from workflows import Stage
from workflows.lifecycle import Action, ReferralStatus


class ReferralSchema(ma.Schema):
    """A referral as DESIGN.md section 7 describes it; agencies by code."""

    id = ma.fields.Integer()
    case_id = ma.fields.Integer()
    case_number = ma.fields.String()
    from_stage = ma.fields.String(allow_none=True)
    to_stage = ma.fields.String()
    from_agency = ma.fields.String(allow_none=True)
    to_agency = ma.fields.String()
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


def referral_view(referral) -> dict:
    """Return a referral as ReferralSchema dumps it."""
    return {
        "id": referral.id, "case_id": referral.case_id, "case_number": referral.case.number,
        "from_stage": referral.from_stage, "to_stage": referral.to_stage,
        "from_agency": referral.from_agency.code if referral.from_agency else None,
        "to_agency": referral.to_agency.code, "mode": referral.mode, "status": referral.status,
        "status_reason": referral.status_reason, "reason": referral.reason, "outcome": referral.outcome,
        "version": referral.version, "created_at": referral.created_at, "responded_at": referral.responded_at,
        "closed_at": referral.closed_at, "respond_by": referral.respond_by, "complete_by": referral.complete_by,
    }


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


class CandidateAgencySchema(ma.Schema):
    id = ma.fields.Integer()
    code = ma.fields.String()
    name = ma.fields.String()
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
