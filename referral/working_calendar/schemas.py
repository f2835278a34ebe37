"""API schemas of the working calendar (DESIGN.md section 15)."""

from datetime import date

import marshmallow as ma
from flask_babel import lazy_gettext as _l

from ..validation import InputSchema, Text, one_of
from .models import DayKind
from .service import FIRST_YEAR, LAST_YEAR, NAME_MAX


class YearArgs(ma.Schema):
    year = ma.fields.Integer(load_default=lambda: date.today().year,
                             validate=ma.validate.Range(min=FIRST_YEAR, max=LAST_YEAR,
                                                        error=_l("Choose a year from %(first)s to %(last)s.",
                                                                 first=FIRST_YEAR, last=LAST_YEAR)),
                             metadata={"description": "the year (this year by default)"})


class OverrideInSchema(InputSchema):
    """A day a country's calendar has off or working by decree."""

    date = ma.fields.Date(required=True)
    kind = ma.fields.String(required=True, validate=one_of(
        [kind.value for kind in DayKind], _l("Choose whether the day is a day off or a working day.")),
        metadata={"description": "day_off | working_day"})
    name = Text(max_length=NAME_MAX, required=True,
                error_messages={"required": _l("Say what the day is, as the decree names it.")})


class CalendarDaySchema(ma.Schema):
    date = ma.fields.Date()
    kind = ma.fields.String(metadata={"description": "day_off | working_day"})
    name = ma.fields.String()
    source = ma.fields.String(metadata={"description": "package (the holidays package) | override"})
    package_version = ma.fields.String(allow_none=True,
                                       metadata={"description": "the holidays version that supplied the day"})
    replaces = ma.fields.String(allow_none=True,
                                metadata={"description": "the package's name of a day an override replaces"})
    created_by = ma.fields.Function(lambda day: day.override.created_by.name
                                    if day.override is not None and day.override.created_by else None)
    created_at = ma.fields.Function(lambda day: day.override.created_at.isoformat()
                                    if day.override is not None else None)


class OverrideChangeSchema(ma.Schema):
    date = ma.fields.Date(attribute="override.day")
    kind = ma.fields.String(attribute="override.kind")
    name = ma.fields.String(attribute="override.name")
    source = ma.fields.Constant("override")
    moved_deadlines = ma.fields.Integer(attribute="moved",
                                        metadata={"description": "pending working-day deadlines that moved"})
