"""What the audit API takes and gives: the page's filters in, entries out."""

from datetime import UTC

import marshmallow as ma
from flask_babel import lazy_gettext as _l

from ..api.pagination import PageArgs
from ..validation import InputSchema

_MOMENT = {"invalid": _l("Not a valid date and time: use ISO 8601, e.g. 2026-12-01T00:00:00Z.")}


class AuditQueryArgs(InputSchema, PageArgs):
    """The filters of the audit page: texts as the page matches them, and a time range (UTC unless it says)."""

    class Meta:
        unknown = ma.EXCLUDE  # a query string may carry more than the filters

    actor = ma.fields.String(load_default="", validate=ma.validate.Length(max=254),
                             metadata={"description": "part of who acted, any case"})
    action = ma.fields.String(load_default="", validate=ma.validate.Length(max=64),
                              metadata={"description": "the beginning of the action, e.g. `case.`"})
    object_type = ma.fields.String(load_default="", validate=ma.validate.Length(max=32))
    object_id = ma.fields.String(load_default="", validate=ma.validate.Length(max=64))
    since = ma.fields.AwareDateTime(load_default=None, default_timezone=UTC, error_messages=_MOMENT)
    before = ma.fields.AwareDateTime(load_default=None, default_timezone=UTC, error_messages=_MOMENT)


class AuditEntrySchema(ma.Schema):
    id = ma.fields.Integer()
    at = ma.fields.AwareDateTime(attribute="occurred_at")
    actor = ma.fields.String(attribute="actor_label")
    actor_user_id = ma.fields.Integer(allow_none=True)
    action = ma.fields.String()
    object_type = ma.fields.String(allow_none=True)
    object_id = ma.fields.String(allow_none=True)
    remote_addr = ma.fields.String(allow_none=True)
    detail = ma.fields.Dict()
