"""The report's query arguments and its answer: counts and durations, never a case number or a name."""

import marshmallow as ma
from flask_babel import lazy_gettext as _l

from ..validation import InputSchema


class ReportArgs(InputSchema):
    """The period (local dates, both included) and the optional narrowing of a report."""

    first = ma.fields.Date(data_key="from", required=True,
                           error_messages={"required": _l("Give the first day of the period (from=YYYY-MM-DD).")},
                           metadata={"description": "first day of the period, in REFERRAL_TIMEZONE"})
    last = ma.fields.Date(data_key="to", required=True,
                          error_messages={"required": _l("Give the last day of the period (to=YYYY-MM-DD).")},
                          metadata={"description": "last day of the period, included"})
    region = ma.fields.String(load_default=None, metadata={"description": "ISO 3166-2:KZ code of the cases' region"})
    agency = ma.fields.String(load_default=None,
                              metadata={"description": "an agency code: referrals it sent or received"})


class _AnswersSchema(ma.Schema):
    """What receiving agencies did with the referrals they were sent: an agency's row and the totals."""

    received = ma.fields.Integer()
    accepted = ma.fields.Integer()
    rejected = ma.fields.Integer()
    cancelled_no_response = ma.fields.Integer()
    completed = ma.fields.Integer()
    failed = ma.fields.Integer()
    respond_median_hours = ma.fields.Float(allow_none=True)
    respond_p90_hours = ma.fields.Float(allow_none=True)
    overdue_now = ma.fields.Integer()


class AgencyRowSchema(_AnswersSchema):
    agency = ma.fields.Function(lambda row: row.agency.code, metadata={"description": "the receiving agency's code"})


class StageRowSchema(ma.Schema):
    stage = ma.fields.String()
    entered = ma.fields.Integer()
    active_now = ma.fields.Integer()
    median_days_in_stage = ma.fields.Float(allow_none=True)
    overdue_now = ma.fields.Integer()


class FlowRowSchema(ma.Schema):
    from_stage = ma.fields.String()
    to_stage = ma.fields.String()
    count = ma.fields.Integer()


class MonthRowSchema(ma.Schema):
    month = ma.fields.String(metadata={"description": "YYYY-MM"})
    registered = ma.fields.Integer(metadata={"description": "cases registered (registration referrals)"})
    referred = ma.fields.Integer(metadata={"description": "referrals sent from one agency to another"})


class TotalsSchema(_AnswersSchema):
    referrals = ma.fields.Integer()
    cases = ma.fields.Integer()
    active_now = ma.fields.Integer()


class ReportSchema(ma.Schema):
    first = ma.fields.Date(data_key="from")
    last = ma.fields.Date(data_key="to")
    region = ma.fields.String(allow_none=True)
    agency = ma.fields.String(allow_none=True)
    agencies = ma.fields.List(ma.fields.Nested(AgencyRowSchema))
    stages = ma.fields.List(ma.fields.Nested(StageRowSchema))
    flows = ma.fields.List(ma.fields.Nested(FlowRowSchema))
    months = ma.fields.List(ma.fields.Nested(MonthRowSchema))
    totals = ma.fields.Nested(TotalsSchema)
