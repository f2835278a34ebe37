"""Case schemas of the API: one to register, one full record, one summary for an agency only asked."""

from datetime import date

import marshmallow as ma
from flask_babel import lazy_gettext as _l

from agencies import is_region_code
from workflows.durations import RISK_LEVELS

from ..validation import InputSchema, Text, not_in_future, one_of, refuse
from . import service as records
from . import stuck as stuck_cases
from .interviews import InterviewData
from .models import CaseStatus, InterviewKind, RiskLevel, Sex
from .notes import MAX_NOTE
from .service import AGENCY_TYPES, MAX_AGE, ChildData, ConsentData, years_between
from .stuck import MAX_CLOSE_REASON


def _region(value: str) -> None:
    if not is_region_code(value):
        refuse(_l("Choose one of Kazakhstan's regions (an ISO 3166-2:KZ code)."))


def _born_on(value: date | None) -> None:
    if value is None:
        return
    if value > date.today():
        refuse(_l("The birth date cannot be in the future."))
    if years_between(value, date.today()) > MAX_AGE:
        refuse(_l("The birth date makes the child older than %(age)s years; check the year.", age=MAX_AGE))


_AGENCY_TYPE = one_of(sorted(AGENCY_TYPES), _l("Choose one of the agency types."))


class GuardianInSchema(InputSchema):
    """A person responsible for the child, as the caseworker writes them down."""

    name = Text(max_length=200, required=True)
    relationship = Text(max_length=100, required=True, metadata={"description": "e.g. mother, aunt, foster parent"})
    phone = Text(max_length=50)

    @ma.validates_schema
    def _whole(self, data, **kwargs):
        # A guardian is written whole, also inside a partial change of the child's record.
        for name in ("name", "relationship"):
            if not data.get(name):
                refuse(_l("This field is required."), name)


class ChildInSchema(InputSchema):
    """The child's record as registered or corrected: builds the service's ``ChildData`` (a dict of the given
    fields when loaded as a partial change)."""

    given_name = Text(max_length=100, required=True)
    family_name = Text(max_length=100, required=True)
    patronymic = Text(max_length=100)
    birth_date = ma.fields.Date(load_default=None, allow_none=True, validate=_born_on)
    estimated_age = ma.fields.Integer(load_default=None, allow_none=True, validate=ma.validate.Range(
        0, MAX_AGE, error=_l("The estimated age must be between 0 and 24 years.")))
    sex = ma.fields.String(required=True, validate=one_of([sex.value for sex in Sex],
                                                           _l("Choose female, male or unknown.")))
    region = ma.fields.String(required=True, validate=_region)
    languages = ma.fields.List(ma.fields.String(validate=ma.validate.Length(min=2, max=8)), load_default=list)
    settlement = Text(max_length=200, metadata={"description": "district or settlement where the child lives now"})
    returned_on = ma.fields.Date(load_default=None, allow_none=True, validate=not_in_future(
        _l("The date of return cannot be in the future.")), metadata={"description": "came back to Kazakhstan on"})
    guardians = ma.fields.List(ma.fields.Nested(GuardianInSchema), load_default=list,
                               validate=ma.validate.Length(max=10))

    @ma.validates_schema(skip_on_field_errors=False)
    def _age(self, data, partial=None, **kwargs):
        # A partial change may leave both out: the service checks the record they make with what is stored.
        given = not partial or {"birth_date", "estimated_age"} <= data.keys()
        if given and data.get("birth_date") is None and data.get("estimated_age") is None:
            refuse(_l("Give the birth date or, if it is not known, an estimated age."), "birth_date")

    @ma.post_load
    def _data(self, data, partial=None, **kwargs) -> ChildData | dict:
        return data if partial else ChildData(**data)


class CaseCreateSchema(InputSchema):
    workflow = ma.fields.String(required=True)
    risk_level = ma.fields.String(required=True, validate=one_of(RISK_LEVELS, _l("Choose high, medium or low.")))
    child = ma.fields.Nested(ChildInSchema, required=True)


class CaseMatchesInSchema(InputSchema):
    """The child about to be registered, checked for possible duplicates: registration's child fields."""

    child = ma.fields.Nested(ChildInSchema, required=True)


class ChildChangeSchema(ChildInSchema):
    """Fields of the child's record that change: any of registration's, each checked as there."""


class CasePatchSchema(InputSchema):
    """A change to the case record: its risk level, and any fields of the child's record."""

    risk_level = ma.fields.String(validate=one_of(RISK_LEVELS, _l("Choose high, medium or low.")))
    child = ma.fields.Nested(ChildChangeSchema(partial=True), metadata={
        "description": "only the fields that change; the timeline names them, never their values"})
    version = ma.fields.Integer(metadata={"description": "the case version you read; a stale one is 409. "
                                                          "Without it, the last write wins"})

    @ma.validates_schema
    def _something(self, data, **kwargs):
        if "risk_level" not in data and not data.get("child"):
            refuse(_l("Say what changes: the risk level or fields of the child's record."), "_schema")


class ChildSchema(ma.Schema):
    given_name = ma.fields.String()
    family_name = ma.fields.String()
    patronymic = ma.fields.String(allow_none=True)
    birth_date = ma.fields.Date(allow_none=True)
    estimated_age = ma.fields.Integer(allow_none=True)
    sex = ma.fields.Enum(Sex, by_value=True)
    region = ma.fields.String()
    languages = ma.fields.List(ma.fields.String())
    settlement = ma.fields.String(allow_none=True)
    returned_on = ma.fields.Date(allow_none=True)
    guardians = ma.fields.List(ma.fields.Dict())


class ConsentSchema(ma.Schema):
    id = ma.fields.Integer()
    given_by = ma.fields.String()
    relationship_to_child = ma.fields.String()
    agency_types = ma.fields.List(ma.fields.String())
    given_on = ma.fields.Date()
    expires_on = ma.fields.Date(allow_none=True)
    recorded_at = ma.fields.AwareDateTime()
    state = ma.fields.Function(lambda consent: consent.state_on(date.today()), metadata={
        "description": "active, pending (given for a later day), expired or withdrawn; only an active one covers"})
    withdrawn_at = ma.fields.AwareDateTime(allow_none=True)
    withdrawal_reason = ma.fields.String(allow_none=True)


class ConsentWithdrawSchema(InputSchema):
    """Why a consent is withdrawn."""

    reason = Text(max_length=2000, required=True, error_messages={"required": _l("Say why the consent is withdrawn.")})


class ConsentCreateSchema(InputSchema):
    """A consent as given on paper: builds the service's ``ConsentData``."""

    given_by = Text(max_length=200, required=True, error_messages={"required": _l("Say who gave consent.")})
    relationship_to_child = Text(max_length=100, required=True,
                                 error_messages={"required": _l("Say how they are related to the child.")})
    agency_types = ma.fields.List(ma.fields.String(validate=_AGENCY_TYPE), required=True, validate=ma.validate.Length(
        min=1, error=_l("Choose the types of agency the consent covers.")),
        error_messages={"required": _l("Choose the types of agency the consent covers.")})
    given_on = ma.fields.Date(required=True)
    expires_on = ma.fields.Date(load_default=None, allow_none=True)

    @ma.validates_schema(skip_on_field_errors=False)
    def _expiry(self, data, **kwargs):
        if data.get("expires_on") is not None and data.get("given_on") and data["expires_on"] < data["given_on"]:
            refuse(_l("The consent cannot expire before it was given."), "expires_on")

    @ma.post_load
    def _data(self, data, **kwargs) -> ConsentData:
        return ConsentData(**{**data, "agency_types": sorted(set(data["agency_types"]))})


class CaseSchema(ma.Schema):
    """The full case record, for those who hold or held the case."""

    id = ma.fields.Integer()
    number = ma.fields.String()
    workflow = ma.fields.String()
    workflow_version = ma.fields.Integer()
    version = ma.fields.Integer(metadata={"description": "raised on each change to the child's record or the risk "
                                                         "level; send it back with PATCH"})
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
    legal_hold = ma.fields.String(allow_none=True, metadata={
        "description": "why the case's data are kept past the retention period, or null"})
    erased_at = ma.fields.AwareDateTime(allow_none=True, metadata={
        "description": "when the child's personal data were erased after the retention period, or null"})
    visibility = ma.fields.Constant("full")

    #: Fields that are not columns of the case: the child is the case's own columns, the rest is worked out.
    _WORKED_OUT = {"child": lambda case: case, "active_stages": records.active_stages,
                   "stuck": stuck_cases.is_stuck,
                   "workflow": lambda case: case.workflow_key,
                   "workflow_version": lambda case: case.workflow_version.number,
                   "registered_by": lambda case: case.registered_by_agency.code}

    def get_attribute(self, obj, attr, default):
        worked_out = self._WORKED_OUT.get(attr)
        return worked_out(obj) if worked_out else super().get_attribute(obj, attr, default)


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


class MatchSchema(ma.Schema):
    """A case whose child may be the one being registered: what a summary says, never a name or a birth date."""

    case_id = ma.fields.Integer()
    number = ma.fields.String()
    score = ma.fields.Float(metadata={"description": "0-1: 1 when the names, the birth date and the sex agree; "
                                                     "lower for a typo, an age instead of a date, an unknown sex"})
    region = ma.fields.String()
    age = ma.fields.Integer(allow_none=True, metadata={"description": "whole years today (an estimate counts the "
                                                                      "years since it was made)"})
    sex = ma.fields.Enum(Sex, by_value=True)
    status = ma.fields.Enum(CaseStatus, by_value=True)
    held_by = ma.fields.List(ma.fields.String(), metadata={
        "description": "codes of the agencies working on the case now, or, where none is, of those that held it"})


class MatchesSchema(ma.Schema):
    matches = ma.fields.List(ma.fields.Nested(MatchSchema))


class CaseRegisteredSchema(CaseSchema):
    """A case just registered, with the possible duplicates found before it was (never a reason to refuse it)."""

    possible_duplicates = ma.fields.List(ma.fields.Nested(MatchSchema))

    def get_attribute(self, obj, attr, default):
        if attr == "possible_duplicates":
            return obj.possible_duplicates
        return super().get_attribute(obj.case, attr, default)


class InquirySchema(ma.Schema):
    """The holding agencies of a possible duplicate, asked to get in touch with the caller's agency."""

    case_id = ma.fields.Integer()
    number = ma.fields.String()
    asked = ma.fields.List(ma.fields.String(), metadata={"description": "codes of the agencies told"})
    asked_at = ma.fields.AwareDateTime()


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


class InterviewCreateSchema(InputSchema):
    """An interview or assessment as recorded: builds the service's ``InterviewData``."""

    kind = ma.fields.String(required=True, validate=one_of([k.value for k in InterviewKind], _l(
        "Choose an interview, an assessment, a medical examination or a court hearing.")))
    topic = Text(max_length=200, required=True,
                 error_messages={"required": _l("Say what the child was asked about or assessed for.")},
                 metadata={"description": "what the child was asked about or assessed for"})
    held_on = ma.fields.Date(required=True, validate=not_in_future(_l("The date cannot be in the future.")),
                             error_messages={"required": _l("Give the date it took place.")})
    summary = Text(max_length=10000, required=True, error_messages={"required": _l(
        "Write down what the next agency needs to know, so that it does not ask again.")},
        metadata={"description": "the findings the next agency needs"})
    shared_with = ma.fields.List(ma.fields.String(validate=_AGENCY_TYPE), required=True, validate=ma.validate.Length(
        min=1, error=_l("Choose the types of agency that may read the summary.")),
        error_messages={"required": _l("Choose the types of agency that may read the summary.")},
        metadata={"description": "agency types that may read the summary"})
    acknowledged_prior = ma.fields.Boolean(load_default=False, metadata={
        "description": "kind interview: the earlier interviews were read and another one is needed"})
    justification = Text(max_length=2000, metadata={
        "description": "kind interview, from the third on: why another interview is needed (supervisor or above)"})

    @ma.post_load
    def _data(self, data, **kwargs) -> InterviewData:
        return InterviewData(**{**data, "shared_with": sorted(set(data["shared_with"]))})


class InterviewSchema(ma.Schema):
    """A prior interview or assessment as the caller reads it (``interviews.as_read_by``); ``summary`` is null
    where it is not shared with the caller's agency."""

    id = ma.fields.Integer()
    kind = ma.fields.Enum(InterviewKind, by_value=True)
    agency = ma.fields.String(attribute="agency_code", metadata={"description": "code of the agency that held it"})
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


class HoldSchema(InputSchema):
    """Why a case's data must be kept past its retention period."""

    reason = Text(max_length=2000, required=True,
                  error_messages={"required": _l("Say why the case's data must be kept.")})


class DisclosureSchema(ma.Schema):
    """Who had what of the child's record: one row per agency, role and kind, from the audit log."""

    at = ma.fields.AwareDateTime(metadata={"description": "the latest such disclosure"})
    agency = ma.fields.String(allow_none=True, metadata={"description": "agency code"})
    role = ma.fields.String(allow_none=True, metadata={
        "description": "the readers' role; null for what was sent to the agency (notification, webhook)"})
    what = ma.fields.String(metadata={"description": "summary, full, export, notification or webhook"})
    count = ma.fields.Integer()
