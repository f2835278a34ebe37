"""Case schemas of the API: one to register, one full record, one summary for an agency only asked."""

import marshmallow as ma

from agencies import is_region_code

from .models import CaseStatus, InterviewKind, RiskLevel, Sex
from .notes import MAX_NOTE
from .stuck import MAX_CLOSE_REASON


def _region(value: str) -> None:
    if not is_region_code(value):
        raise ma.ValidationError("Not an ISO 3166-2:KZ region code, e.g. KZ-71.")


class ChildInSchema(ma.Schema):
    given_name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=100))
    family_name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=100))
    patronymic = ma.fields.String(load_default=None, allow_none=True, validate=ma.validate.Length(max=100))
    birth_date = ma.fields.Date(load_default=None, allow_none=True)
    estimated_age = ma.fields.Integer(load_default=None, allow_none=True, validate=ma.validate.Range(0, 24))
    sex = ma.fields.String(required=True, validate=ma.validate.OneOf([s.value for s in Sex]))
    region = ma.fields.String(required=True, validate=_region)
    languages = ma.fields.List(ma.fields.String(validate=ma.validate.Length(min=2, max=8)), load_default=list)

    @ma.validates_schema
    def _age(self, data, **kwargs):
        if data.get("birth_date") is None and data.get("estimated_age") is None:
            raise ma.ValidationError("Give birth_date or, if it is not known, estimated_age.", "birth_date")


class CaseCreateSchema(ma.Schema):
    workflow = ma.fields.String(required=True)
    risk_level = ma.fields.String(required=True, validate=ma.validate.OneOf([r.value for r in RiskLevel]))
    child = ma.fields.Nested(ChildInSchema, required=True)


class CasePatchSchema(ma.Schema):
    risk_level = ma.fields.String(required=True, validate=ma.validate.OneOf([r.value for r in RiskLevel]))


class ChildSchema(ma.Schema):
    given_name = ma.fields.String()
    family_name = ma.fields.String()
    patronymic = ma.fields.String(allow_none=True)
    birth_date = ma.fields.Date(allow_none=True)
    estimated_age = ma.fields.Integer(allow_none=True)
    sex = ma.fields.Enum(Sex, by_value=True)
    region = ma.fields.String()
    languages = ma.fields.List(ma.fields.String())


class ConsentSchema(ma.Schema):
    id = ma.fields.Integer()
    given_by = ma.fields.String()
    relationship_to_child = ma.fields.String()
    agency_types = ma.fields.List(ma.fields.String())
    given_on = ma.fields.Date()
    expires_on = ma.fields.Date(allow_none=True)
    recorded_at = ma.fields.AwareDateTime()


class ConsentCreateSchema(ma.Schema):
    given_by = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))
    relationship_to_child = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=100))
    agency_types = ma.fields.List(ma.fields.String(), required=True, validate=ma.validate.Length(min=1))
    given_on = ma.fields.Date(required=True)
    expires_on = ma.fields.Date(load_default=None, allow_none=True)


class CaseSchema(ma.Schema):
    """The full case record, for those who hold or held the case."""

    id = ma.fields.Integer()
    number = ma.fields.String()
    workflow = ma.fields.String()
    workflow_version = ma.fields.Integer()
    status = ma.fields.Enum(CaseStatus, by_value=True)
    risk_level = ma.fields.Enum(RiskLevel, by_value=True)
    child = ma.fields.Nested(ChildSchema)
    active_stages = ma.fields.List(ma.fields.String())
    stuck = ma.fields.Boolean(metadata={"description": "open, but no referral of it is open: the agency where it "
                                                       "stopped may refer it onward, a coordinator may close it"})
    registered_by = ma.fields.String(metadata={"description": "code of the registering agency"})
    consents = ma.fields.List(ma.fields.Nested(ConsentSchema))
    created_at = ma.fields.AwareDateTime()
    closed_at = ma.fields.AwareDateTime(allow_none=True)
    visibility = ma.fields.Constant("full")


class ChildSummarySchema(ma.Schema):
    age = ma.fields.Integer(allow_none=True)
    sex = ma.fields.Enum(Sex, by_value=True)
    region = ma.fields.String()


class CaseSummarySchema(ma.Schema):
    """What an agency that has only been asked sees: no names, no birth date."""

    id = ma.fields.Integer()
    number = ma.fields.String()
    status = ma.fields.Enum(CaseStatus, by_value=True)
    risk_level = ma.fields.Enum(RiskLevel, by_value=True)
    child = ma.fields.Nested(ChildSummarySchema)
    #: Why the asked agency was asked.
    reason = ma.fields.String(allow_none=True)
    visibility = ma.fields.Constant("summary")


class CaseQuerySchema(ma.Schema):
    q = ma.fields.String(load_default="")
    status = ma.fields.String(load_default=None, validate=ma.validate.OneOf(["open", "closed"]))
    stuck = ma.fields.Boolean(load_default=False,
                              metadata={"description": "true: only open cases on which no referral is open"})
    risk_level = ma.fields.String(load_default=None, validate=ma.validate.OneOf([r.value for r in RiskLevel]))
    region = ma.fields.String(load_default=None, validate=_region)
    assignee = ma.fields.String(load_default=None, validate=ma.validate.OneOf(["me"]), metadata={
        "description": "me: only cases with an open referral assigned to the caller"})


class CaseCloseSchema(ma.Schema):
    """Closing a case on which no referral is open, as a coordinator of its region or an admin."""

    reason = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=MAX_CLOSE_REASON),
                              metadata={"description": "why no agency will take the case further; kept on the "
                                                       "timeline, never sent in notifications or webhooks"})


class EventSchema(ma.Schema):
    id = ma.fields.Integer()
    referral_id = ma.fields.Integer(allow_none=True)
    occurred_at = ma.fields.AwareDateTime()
    kind = ma.fields.String()
    actor = ma.fields.String(attribute="actor_label")
    agency = ma.fields.Function(lambda event: event.actor_agency.code if event.actor_agency else None)
    from_status = ma.fields.String(allow_none=True)
    to_status = ma.fields.String(allow_none=True)
    detail = ma.fields.Dict()


class InterviewCreateSchema(ma.Schema):
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf([k.value for k in InterviewKind]))
    topic = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200),
                             metadata={"description": "what the child was asked about or assessed for"})
    held_on = ma.fields.Date(required=True)
    summary = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=10000),
                               metadata={"description": "the findings the next agency needs"})
    shared_with = ma.fields.List(ma.fields.String(), required=True, validate=ma.validate.Length(min=1),
                                 metadata={"description": "agency types that may read the summary"})


class InterviewSchema(ma.Schema):
    """A prior interview or assessment; ``summary`` is null where it is not shared with the caller's agency."""

    id = ma.fields.Integer()
    kind = ma.fields.Enum(InterviewKind, by_value=True)
    agency = ma.fields.String(metadata={"description": "code of the agency that held it"})
    topic = ma.fields.String()
    held_on = ma.fields.Date()
    summary = ma.fields.String(allow_none=True)
    shared_with = ma.fields.List(ma.fields.String())
    recorded_at = ma.fields.AwareDateTime()


class AgencyCodeSchema(ma.Schema):
    code = ma.fields.String()


class NoteSchema(ma.Schema):
    """A case note: the author's agency by code and the author by name; the text only for those who may read it."""

    id = ma.fields.Integer()
    text = ma.fields.String()
    shared = ma.fields.Boolean(metadata={"description": "true: every agency that sees the full record reads it"})
    agency = ma.fields.Pluck(AgencyCodeSchema, "code")
    author = ma.fields.String(attribute="author_name")
    created_at = ma.fields.AwareDateTime()


class NoteCreateSchema(ma.Schema):
    text = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=MAX_NOTE))
    shared = ma.fields.Boolean(load_default=False, metadata={
        "description": "false: only your agency reads it; true: every agency that sees the full record"})
