"""API v1: a country's working calendar, merged from the holidays package and the overrides decided here."""

from datetime import date

from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint

from ..api.auth import api_actor
from ..errors import NotFound
from ..extensions import db
from ..i18n import reading_language
from . import service
from .schemas import CalendarDaySchema, OverrideChangeSchema, OverrideInSchema, YearArgs

blp = Blueprint("calendars_api", __name__, url_prefix="/calendars",
                description="Working calendars: the package's public holidays and the days decided by decree.")


@blp.route("/<country>/days")
@blp.arguments(YearArgs, location="query")
@blp.response(200, CalendarDaySchema(many=True))
@blp.alt_response(404, response="NOT_FOUND")
def list_days(args, country):
    """List the year's days off and working days that differ from the weekly rule, merged (any signed-in user)."""
    return service.calendar_days(country, args["year"], reading_language())


@blp.route("/<country>/days", methods=["POST"])
@blp.arguments(OverrideInSchema)
@blp.response(201, OverrideChangeSchema)
@blp.alt_response(403, response="FORBIDDEN")
@blp.alt_response(409, response="CONFLICT")
def add_day(values, country):
    """Make a date a day off or a working day (admins); pending working-day deadlines it moves follow.
    409: the date has an override already."""
    change = service.add_override(country, values["date"], values["kind"], values["name"], api_actor())
    db.session.commit()
    return change


@blp.route("/<country>/days/<day>", methods=["DELETE"])
@blp.response(200, OverrideChangeSchema)
@blp.alt_response(403, response="FORBIDDEN")
@blp.alt_response(404, response="NOT_FOUND")
def remove_day(country, day):
    """Remove a date's override (admins): the package decides the day again; deadlines it moves follow."""
    try:
        parsed = date.fromisoformat(day)
    except ValueError:
        raise NotFound(_l("Not a valid date: use the form YYYY-MM-DD.")) from None
    change = service.remove_override(country, parsed, api_actor())
    db.session.commit()
    return change
