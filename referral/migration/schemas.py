"""API schemas of moving running cases between workflow versions (DESIGN.md section 15)."""

import marshmallow as ma
from flask_babel import lazy_gettext as _l

from ..validation import InputSchema


class MigrationInSchema(InputSchema):
    """Which version the cases run on, which they move to, how removed stages map, and whether only to try."""

    from_version = ma.fields.Integer(required=True, strict=True, validate=ma.validate.Range(min=1),
                                     metadata={"description": "the version the open cases run on"})
    to_version = ma.fields.Integer(required=True, strict=True, validate=ma.validate.Range(min=1),
                                   metadata={"description": "the version they move to (an older one moves back)"})
    stage_map = ma.fields.Dict(keys=ma.fields.String(validate=ma.validate.Length(max=64)),
                               values=ma.fields.String(validate=ma.validate.Length(max=64)), load_default=dict,
                               metadata={"description": "old stage key → new stage key, for removed or renamed "
                                                        "stages", "example": {"health-screening": "health-check"}})
    dry_run = ma.fields.Boolean(load_default=True,
                                metadata={"description": "true (the default): say what would happen, change "
                                                         "nothing"})

    error_messages = {**InputSchema.error_messages, "type": _l("Not an object.")}


class BlockedSchema(ma.Schema):
    case_id = ma.fields.Integer()
    number = ma.fields.String()
    reason = ma.fields.String(metadata={"description": "stage_removed | requested_stage_removed | "
                                                       "agency_type_changed | stages_merged"})
    message = ma.fields.String(metadata={"description": "the reason in the reader's language"})
    stages = ma.fields.List(ma.fields.String(), metadata={"description": "the stages of the old version at fault"})


class DeadlineShiftSchema(ma.Schema):
    case_id = ma.fields.Integer()
    number = ma.fields.String()
    referral_id = ma.fields.Integer()
    kind = ma.fields.String()
    stage = ma.fields.String()
    new_stage = ma.fields.String()
    started_at = ma.fields.AwareDateTime()
    before = ma.fields.AwareDateTime(allow_none=True, metadata={"description": "null: the clock starts now"})
    after = ma.fields.AwareDateTime(allow_none=True, metadata={"description": "null: the clock stops"})


class MigrationSchema(ma.Schema):
    from_version = ma.fields.Integer()
    to_version = ma.fields.Integer()
    stage_map = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String())
    cases = ma.fields.Integer(metadata={"description": "open cases on the source version"})
    movable = ma.fields.Integer()
    blocked = ma.fields.List(ma.fields.Nested(BlockedSchema))
    applied = ma.fields.Boolean()
    deadlines = ma.fields.List(ma.fields.Nested(DeadlineShiftSchema),
                               metadata={"description": "how the pending deadlines of movable cases change"})
